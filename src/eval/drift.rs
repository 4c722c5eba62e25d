//! The faithfulness drift set (`eval/drift/*.toml`): sentences over the eval scenarios' messages,
//! half faithful paraphrases and half planted drift (swapped actor, flipped polarity or modality,
//! changed entity, invented claim, wrong date, merged facts), judged by hand. Each sentence goes
//! through the guardrail's semantic check (`ai::extractive::support`) with the messages it cites
//! and their propositions, exactly as a briefing sentence would; the scores are how much drift it
//! catches (`faithfulness_detection`) and how many faithful sentences it rejects
//! (`faithfulness_false_alarm`).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use super::scenario::Scenario;
use crate::ai::extractive::support::{self, Cited, Claim, Drift};
use crate::ai::tasks::{ChannelInfo, ChatMessage, ExtractPropositions, PropositionsInput, Task};
use crate::features::briefing::agent::{offset_at, reader_of};
use crate::features::ingest::import::{self, ImportOptions};
use crate::model::activity::UserTz;
use crate::model::settings::UserSettings;
use crate::platform::db::{TempDb, briefings, directory, messages};

/// One file of the set.
#[derive(Clone, Debug, Deserialize)]
struct DriftFile {
    scenario: String,
    #[serde(default, rename = "case")]
    cases: Vec<Case>,
}

/// One judged sentence.
#[derive(Clone, Debug, Deserialize)]
pub struct Case {
    pub id: String,
    pub sentence: String,
    /// `channel/ts` of the messages it cites.
    pub cites: Vec<String>,
    pub faithful: bool,
    #[serde(default)]
    pub drift: String,
}

/// How one case came out.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub id: String,
    pub faithful: bool,
    pub drift: String,
    /// What the check found that the guardrail rejects (empty: supported).
    pub found: Vec<String>,
    /// What else it found (reported, not rejected: see `Drift::rejects`).
    pub noted: Vec<String>,
}

impl Outcome {
    /// Whether the guardrail rejects the sentence.
    pub fn flagged(&self) -> bool {
        !self.found.is_empty()
    }

    /// Whether every check, enforced or not, passes it.
    fn flagged_by_any(&self) -> bool {
        !self.found.is_empty() || !self.noted.is_empty()
    }
}

/// The set's scores.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DriftScores {
    pub cases: usize,
    /// Drifted sentences caught ÷ drifted sentences.
    pub detection: Option<f64>,
    /// Faithful sentences rejected ÷ faithful sentences.
    pub false_alarm: Option<f64>,
    /// The same two rates if every check rejected (`Drift::rejects` says which do).
    pub detection_all_checks: Option<f64>,
    pub false_alarm_all_checks: Option<f64>,
    /// Detection per drift kind.
    pub by_kind: BTreeMap<String, f64>,
    /// Every case that came out wrong.
    pub wrong: Vec<Outcome>,
    /// Every case.
    pub outcomes: Vec<Outcome>,
}

/// Runs every case of `dir` (the suite's `drift/`), against the scenarios' workspaces.
pub async fn run(
    dir: &Path,
    scenarios: &[Scenario],
    suite: &Path,
    fixtures: &Path,
) -> anyhow::Result<DriftScores> {
    let mut files: Vec<_> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect(),
        Err(_) => return Ok(DriftScores::default()),
    };
    files.sort();
    let by_id: HashMap<&str, &Scenario> = scenarios.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut outcomes = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path)?;
        let file: DriftFile =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let scenario = by_id.get(file.scenario.as_str()).ok_or_else(|| {
            anyhow::anyhow!("{}: no scenario {:?}", path.display(), file.scenario)
        })?;
        outcomes.extend(run_file(scenario, &file.cases, suite, fixtures).await?);
    }
    Ok(scores(outcomes))
}

fn scores(outcomes: Vec<Outcome>) -> DriftScores {
    let ratio = |hit: usize, all: usize| (all > 0).then(|| hit as f64 / all as f64);
    let drifted: Vec<&Outcome> = outcomes.iter().filter(|o| !o.faithful).collect();
    let faithful: Vec<&Outcome> = outcomes.iter().filter(|o| o.faithful).collect();
    let mut kinds: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for o in &drifted {
        let e = kinds.entry(o.drift.clone()).or_default();
        e.1 += 1;
        if o.flagged() {
            e.0 += 1;
        }
    }
    DriftScores {
        cases: outcomes.len(),
        detection: ratio(
            drifted.iter().filter(|o| o.flagged()).count(),
            drifted.len(),
        )
        .map(round3),
        false_alarm: ratio(
            faithful.iter().filter(|o| o.flagged()).count(),
            faithful.len(),
        )
        .map(round3),
        detection_all_checks: ratio(
            drifted.iter().filter(|o| o.flagged_by_any()).count(),
            drifted.len(),
        )
        .map(round3),
        false_alarm_all_checks: ratio(
            faithful.iter().filter(|o| o.flagged_by_any()).count(),
            faithful.len(),
        )
        .map(round3),
        by_kind: kinds
            .into_iter()
            .map(|(k, (hit, all))| (k, round3(hit as f64 / all.max(1) as f64)))
            .collect(),
        wrong: outcomes
            .iter()
            .filter(|o| o.faithful == o.flagged())
            .cloned()
            .collect(),
        outcomes,
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

async fn run_file(
    scenario: &Scenario,
    cases: &[Case],
    suite: &Path,
    fixtures: &Path,
) -> anyhow::Result<Vec<Outcome>> {
    let scratch = TempDb::new().await?;
    let db = &scratch.db;
    let summary = import::import_path(
        db,
        &scenario.export_path(suite, fixtures),
        &ImportOptions {
            team_id: None,
            ingest_bot_messages: false,
        },
        0,
        &ProgressBar::hidden(),
    )
    .await?;
    let team = summary.team_id.clone();
    let user = directory::get_user(db, &team, &scenario.reader).await?;
    let reader = reader_of(&scenario.reader, user.as_ref(), &UserSettings::default());
    let tz = UserTz::resolve(
        user.as_ref().and_then(|u| u.tz.as_deref()),
        user.as_ref().and_then(|u| u.tz_offset),
        None,
    );
    let known = briefings::people_names(db, &team).await?;
    let names = reader.names();
    let mut out = Vec::new();
    for case in cases {
        let mut cited: Vec<ChatMessage> = Vec::new();
        let mut channel_days: Vec<(String, i64)> = Vec::new();
        for r in &case.cites {
            let (channel, ts) = r
                .split_once('/')
                .ok_or_else(|| anyhow::anyhow!("{}: cite {r:?} is not channel/ts", case.id))?;
            let at = crate::model::domain::ts_to_epoch(ts)
                .ok_or_else(|| anyhow::anyhow!("{}: bad ts {ts:?}", case.id))?;
            let message =
                messages::visible_in_channel(db, &team, &scenario.reader, channel, at, at + 1)
                    .await?
                    .into_iter()
                    .find(|m| m.ts == ts)
                    .ok_or_else(|| {
                        anyhow::anyhow!("{}: the reader sees no message {r}", case.id)
                    })?;
            channel_days.push((channel.to_string(), message.posted_at));
            let chat = ChatMessage::from(&message);
            cited.push(chat);
        }
        let offset = offset_at(&tz, cited.iter().map(|m| m.posted_at).max().unwrap_or(0));
        // The propositions of the cited messages, extracted from their channel's day around them
        // as the digest does with no model (context decides who a reply speaks to).
        let mut propositions = Vec::new();
        let mut channel_names: Vec<String> = Vec::new();
        for (channel, at) in &channel_days {
            let day = messages::visible_in_channel(
                db,
                &team,
                &scenario.reader,
                channel,
                at - 12 * 3600,
                at + 12 * 3600,
            )
            .await?;
            let name = directory::channel_names(db, &team, std::slice::from_ref(channel))
                .await?
                .remove(channel)
                .unwrap_or_else(|| channel.clone());
            channel_names.push(name.clone());
            let input = PropositionsInput {
                channel: ChannelInfo {
                    id: channel.clone(),
                    name,
                },
                messages: day.iter().map(ChatMessage::from).collect(),
                known_people: known.clone(),
                utc_offset_secs: offset,
            };
            for p in ExtractPropositions.extractive(&input).propositions {
                if p.sources.iter().any(|s| cited.iter().any(|c| c.id == *s))
                    && !propositions.contains(&p)
                {
                    propositions.push(p);
                }
            }
        }
        let found: Vec<Drift> = support::check(&Claim {
            sentence: &case.sentence,
            cited: cited
                .iter()
                .map(|m| Cited {
                    author: &m.author,
                    text: &m.text,
                    posted_at: m.posted_at,
                })
                .collect(),
            propositions: propositions.iter().collect(),
            reader: &names,
            known_people: &known,
            channels: channel_names.iter().map(String::as_str).collect(),
            utc_offset_secs: offset,
        });
        out.push(Outcome {
            id: case.id.clone(),
            faithful: case.faithful,
            drift: case.drift.clone(),
            found: found
                .iter()
                .filter(|d| d.rejects())
                .map(Drift::describe)
                .collect(),
            noted: found
                .iter()
                .filter(|d| !d.rejects())
                .map(Drift::describe)
                .collect(),
        });
    }
    scratch.db.close().await;
    Ok(out)
}
