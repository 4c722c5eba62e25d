//! RankForUser: stories + one reader's interest profile → the stories in the order that reader
//! should see them, each with the reasons it matters to them.
//!
//! The extractive score is deterministic: relevance (mentions, own participation, interests,
//! close people, the reader's busiest channels) × urgency × recency. Muted channels drop a story
//! unless the reader is mentioned in it.

use std::collections::{BTreeSet, HashSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::types::{InterestOrigin, Reason, Story, json_prompt};
use super::{Prompt, Task};
use crate::ai::extractive::{Lang, text};
use crate::model::proposition::Kind;

/// A topic or entity the reader cares about, with a weight and where it comes from: the ranking's
/// flat view of an entry of the decayed `model::interest::InterestProfile`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReaderInterest {
    pub term: String,
    /// 0..1 (already decayed by the interest model).
    pub score: f64,
    #[serde(default)]
    pub origin: InterestOrigin,
}

/// What the ranking knows of the reader: name, interests (already decayed), close people, muted
/// and favourite channels — gathered from the profile, the settings and the directory.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReaderProfile {
    pub user_id: String,
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub interests: Vec<ReaderInterest>,
    /// People the reader works with closely.
    #[serde(default)]
    pub close_people: Vec<String>,
    /// Channel ids or names the reader muted.
    #[serde(default)]
    pub muted_channels: Vec<String>,
    /// Channel ids or names the reader writes in most.
    #[serde(default)]
    pub top_channels: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RankInput {
    pub stories: Vec<Story>,
    pub profile: ReaderProfile,
    /// Epoch seconds "now", for recency.
    pub now: i64,
    /// How many stories to return at most (all when absent).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RankedStory {
    pub story_id: String,
    pub score: f64,
    /// Most important first.
    pub reasons: Vec<Reason>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RankOutput {
    /// Best first.
    pub ranked: Vec<RankedStory>,
}

/// Stories + profile → ordered stories with reasons.
#[derive(Clone, Copy, Debug)]
pub struct RankForUser {
    /// Hours after which a story's recency weight halves.
    pub half_life_hours: f64,
    /// Urgency from which "it is urgent" is a reason.
    pub urgent_from: f64,
}

impl Default for RankForUser {
    fn default() -> Self {
        RankForUser {
            half_life_hours: 24.0,
            urgent_from: 0.6,
        }
    }
}

const INSTRUCTIONS: &str = "You rank stories for one reader. `profile` describes the reader: \
their names, interests (term, score 0 to 1, and origin: reacted, wrote, clicked, feedback, \
followed), close colleagues, muted channels and the channels they write in most. Order the \
stories by how much they matter to this reader: being mentioned, having taken part, matching \
interests and close colleagues raise a story; urgency and recency (`now` is epoch seconds) \
multiply it; stories only in muted channels are left out unless the reader is mentioned. Give \
each story a score from 0 to 1 and its reasons, chosen from: mentioned, took_part, interest \
(with term and origin), close_person (with name), top_channel (with channel: the channel's name, never its id), \
urgent, asked_of_you (a request proposition is put to the reader), you_promised (a commitment \
proposition is the reader's), in_your_project (with project: a decision or blocker in a project \
among the reader's interests); requests to the reader and the reader's commitments matter most; a reason's term, name or channel is copied from `profile` or the story. Return at \
most `limit` stories when it is set. Answer as {\"ranked\": [{\"story_id\", \"score\", \
\"reasons\"}]}.";

impl Task for RankForUser {
    type Input = RankInput;
    type Output = RankOutput;

    fn name(&self) -> &'static str {
        "rank_for_user"
    }

    fn prompt(&self, input: &Self::Input) -> Prompt {
        json_prompt(INSTRUCTIONS, input)
    }

    fn extractive(&self, input: &Self::Input) -> Self::Output {
        let _span = tracing::debug_span!(
            "extractive",
            task = self.name(),
            stories = input.stories.len()
        )
        .entered();
        let mut ranked: Vec<RankedStory> = input
            .stories
            .iter()
            .filter_map(|s| self.score(s, input))
            .collect();
        ranked.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.story_id.cmp(&b.story_id))
        });
        if let Some(limit) = input.limit {
            ranked.truncate(limit);
        }
        RankOutput { ranked }
    }

    fn validate(&self, input: &Self::Input, output: &Self::Output) -> Result<(), String> {
        let ids: HashSet<&str> = input.stories.iter().map(|s| s.id.as_str()).collect();
        let mut seen = HashSet::new();
        for r in &output.ranked {
            if !ids.contains(r.story_id.as_str()) {
                return Err(format!("story id {:?} is not in the input", r.story_id));
            }
            if !seen.insert(r.story_id.as_str()) {
                return Err(format!("story id {:?} is ranked twice", r.story_id));
            }
            if let Some(story) = input.stories.iter().find(|s| s.id == r.story_id) {
                for reason in &r.reasons {
                    check_reason(reason, story, &input.profile)?;
                }
            }
        }
        // Stories that matter and none ranked would empty the briefing: the extractive ranker
        // keeps every story not muted for the reader, and so must an answer.
        if output.ranked.is_empty() && !self.extractive(input).ranked.is_empty() {
            return Err("no story was ranked: rank the stories in `stories`".into());
        }
        if let Some(limit) = input.limit
            && output.ranked.len() > limit
        {
            return Err(format!(
                "{} stories returned, limit is {limit}",
                output.ranked.len()
            ));
        }
        Ok(())
    }
}

/// Longest reason detail (an interest term, a name, a channel) a reader is shown.
const MAX_REASON_CHARS: usize = 60;

/// A reason is shown to the reader as written ("… because #eng is one of your channels"): its
/// detail must be what the data says, by name — never a raw Slack id, never empty, never long —
/// and true of this story and this reader.
fn check_reason(reason: &Reason, story: &Story, profile: &ReaderProfile) -> Result<(), String> {
    let detail = match reason {
        Reason::Mentioned | Reason::TookPart | Reason::Urgent => return Ok(()),
        Reason::AskedOfYou | Reason::YouPromised => {
            let wanted = if matches!(reason, Reason::AskedOfYou) {
                Kind::Request
            } else {
                Kind::Commitment
            };
            return if reader_acts(story, profile).contains(&wanted) {
                Ok(())
            } else {
                Err(format!(
                    "story {:?}: no {} proposition concerns the reader",
                    story.id,
                    wanted.as_str()
                ))
            };
        }
        Reason::InYourProject { project } => project,
        Reason::Interest { term, .. } => term,
        Reason::ClosePerson { name } => name,
        Reason::TopChannel { channel } => channel,
    };
    let shown = detail.trim().trim_start_matches(['#', '@']);
    if shown.is_empty() {
        return Err(format!(
            "story {:?}: a reason has an empty detail",
            story.id
        ));
    }
    if shown.chars().count() > MAX_REASON_CHARS {
        return Err(format!(
            "story {:?}: reason detail {detail:?} is longer than {MAX_REASON_CHARS} characters",
            story.id
        ));
    }
    if shown.split(|c: char| !c.is_alphanumeric()).any(is_slack_id) {
        return Err(format!(
            "story {:?}: reason detail {detail:?} is a raw Slack id; give the name",
            story.id
        ));
    }
    let known = match reason {
        Reason::Interest { term, .. } => profile.interests.iter().any(|i| same(&i.term, term)),
        Reason::ClosePerson { name } => profile.close_people.iter().any(|p| same(p, name)),
        Reason::TopChannel { channel } => story.channels.iter().any(|c| same(&c.name, channel)),
        Reason::InYourProject { project } => {
            profile.interests.iter().any(|i| same(&i.term, project))
                && story
                    .propositions
                    .iter()
                    .any(|p| p.entities.projects.iter().any(|x| same(x, project)))
        }
        _ => true,
    };
    if known {
        Ok(())
    } else {
        Err(format!(
            "story {:?}: reason detail {detail:?} is not in the profile or the story's channels",
            story.id
        ))
    }
}

/// Every name that means the reader in a story: display name, user id and aliases.
fn reader_names(profile: &ReaderProfile) -> Vec<&str> {
    let mut names: Vec<&str> = vec![profile.name.as_str(), profile.user_id.as_str()];
    names.extend(profile.aliases.iter().map(String::as_str));
    names.retain(|n| !n.trim().is_empty());
    names
}

/// What the story's propositions ask of the reader or have them promise: `Request` when one is
/// put to them, `Commitment` when they made one (open or not — the briefing says which).
pub fn reader_acts(story: &Story, profile: &ReaderProfile) -> Vec<Kind> {
    let names = reader_names(profile);
    let mut acts = Vec::new();
    for p in &story.propositions {
        let kind = match p.kind {
            Kind::Request if names.iter().any(|n| p.to(n)) => Kind::Request,
            Kind::Commitment if names.iter().any(|n| p.by(n)) => Kind::Commitment,
            _ => continue,
        };
        if !acts.contains(&kind) {
            acts.push(kind);
        }
    }
    acts
}

/// The projects the reader follows in which the story's propositions decide or block something.
fn decided_or_blocked_in<'a>(story: &'a Story, profile: &ReaderProfile) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for p in story
        .propositions
        .iter()
        .filter(|p| matches!(p.kind, Kind::Decision | Kind::Blocker))
    {
        for project in &p.entities.projects {
            if profile.interests.iter().any(|i| same(&i.term, project))
                && !out.iter().any(|o| same(o, project))
            {
                out.push(project);
            }
        }
    }
    out
}

/// The reasons as the reader is shown them: a channel named by its id is named by the story's
/// name for it, and a reason whose detail is still a raw id is left out. A model's reasons pass
/// [`RankForUser::validate`]; this also covers the extractive ranker and stored runs.
pub fn shown_reasons(reasons: &[Reason], story: &Story) -> Vec<Reason> {
    reasons
        .iter()
        .filter_map(|r| match r {
            Reason::TopChannel { channel } => {
                let name = story
                    .channels
                    .iter()
                    .find(|c| same(&c.id, channel) || same(&c.name, channel))
                    .map(|c| c.name.clone())
                    .unwrap_or_else(|| channel.clone());
                let name = name.trim_start_matches('#').to_string();
                (!name.is_empty() && !is_slack_id(&name))
                    .then_some(Reason::TopChannel { channel: name })
            }
            Reason::Interest { term: d, .. } | Reason::ClosePerson { name: d }
                if d.trim().is_empty()
                    || d.split(|c: char| !c.is_alphanumeric()).any(is_slack_id) =>
            {
                None
            }
            other => Some(other.clone()),
        })
        .collect()
}

/// `C061A2UGJ`, `U061A5N1G`: a Slack id (channel, user, group, DM, workspace user) as a word.
fn is_slack_id(word: &str) -> bool {
    let mut chars = word.chars();
    matches!(chars.next(), Some('C' | 'U' | 'G' | 'D' | 'W'))
        && word.len() >= 8
        && word
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && word.chars().any(|c| c.is_ascii_digit())
}

fn same(a: &str, b: &str) -> bool {
    a.trim_start_matches(['@', '#'])
        .eq_ignore_ascii_case(b.trim_start_matches(['@', '#']))
}

impl RankForUser {
    /// The reader's score for one story, `None` when the story is muted for them.
    pub fn score(&self, story: &Story, input: &RankInput) -> Option<RankedStory> {
        let p = &input.profile;
        let names = reader_names(p);
        let is_reader = |who: &str| names.iter().any(|n| same(n, who));

        let took_part = story.participants.iter().any(|a| is_reader(a));
        let named = story.entities.people.iter().any(|a| is_reader(a));
        let in_text = story.sentences().any(|s| {
            let lower = s.text.to_lowercase();
            names
                .iter()
                .any(|n| lower.contains(&format!("@{}", n.to_lowercase())))
        });
        // Asked of the reader by name ("Micah asks Neeraj Tandon to …"): what they must act on.
        let asked = story.sentences().any(|s| {
            names.iter().any(|n| {
                let n = n.to_lowercase();
                let lower = s.text.to_lowercase();
                lower.contains(&format!("asks {n} ")) || lower.contains(&format!("asks @{n} "))
            })
        });
        let mentioned = in_text || asked || (named && !took_part);
        // What the propositions say is asked of the reader or promised by them: the items a
        // briefing exists for ("asked of you", "you promised").
        let acts = reader_acts(story, p);
        let asked_of_you = acts.contains(&Kind::Request);

        let muted = !story.channels.is_empty()
            && story.channels.iter().all(|c| {
                p.muted_channels
                    .iter()
                    .any(|m| same(m, &c.id) || same(m, &c.name))
            });
        if muted && !mentioned && !asked_of_you {
            return None;
        }

        let mut reasons: Vec<Reason> = Vec::new();
        let mut relevance = 0.0;
        if asked_of_you {
            reasons.push(Reason::AskedOfYou);
            relevance += 1.2;
        } else if asked {
            relevance += 1.0;
        }
        if acts.contains(&Kind::Commitment) {
            reasons.push(Reason::YouPromised);
            relevance += 0.8;
        }
        if let Some(project) = decided_or_blocked_in(story, p).first() {
            reasons.push(Reason::InYourProject {
                project: (*project).to_string(),
            });
            relevance += 0.4;
        }
        if mentioned {
            relevance += 1.0;
            if !asked_of_you {
                reasons.push(Reason::Mentioned);
            }
        }
        if took_part {
            relevance += 0.6;
            reasons.push(Reason::TookPart);
        }

        // Interests match topics, entities, the title and the sentences, by stems.
        let lang = Lang::En;
        let story_terms: BTreeSet<String> = {
            let mut t: Vec<String> = Vec::new();
            t.extend(text::terms(&story.title, lang));
            for topic in &story.topics {
                t.extend(text::terms(topic, lang));
            }
            for e in story.entities.all_lower() {
                t.extend(text::terms(&e, lang));
            }
            for s in story.sentences() {
                t.extend(text::terms(&s.text, lang));
            }
            t.into_iter().collect()
        };
        let mut matched: Vec<&ReaderInterest> = p
            .interests
            .iter()
            .filter(|i| {
                let terms = text::terms(&i.term, lang);
                !terms.is_empty() && terms.iter().all(|t| story_terms.contains(t))
            })
            .collect();
        matched.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.term.cmp(&b.term))
        });
        relevance += matched
            .iter()
            .map(|i| i.score.clamp(0.0, 1.0))
            .sum::<f64>()
            .min(1.5);
        for i in matched.iter().take(2) {
            reasons.push(Reason::Interest {
                term: i.term.clone(),
                origin: i.origin,
            });
        }

        let close: Vec<&String> = p
            .close_people
            .iter()
            .filter(|c| {
                story
                    .participants
                    .iter()
                    .chain(&story.entities.people)
                    .any(|x| same(x, c))
            })
            .collect();
        relevance += 0.3 * close.len().min(2) as f64;
        if let Some(c) = close.first() {
            reasons.push(Reason::ClosePerson { name: (*c).clone() });
        }

        if let Some(c) = story.channels.iter().find(|c| {
            p.top_channels
                .iter()
                .any(|t| same(t, &c.id) || same(t, &c.name))
        }) {
            relevance += 0.3;
            // A channel chief knows no name of is no reason to show ("#C061A2UGJ").
            if !is_slack_id(&c.name) {
                reasons.push(Reason::TopChannel {
                    channel: c.name.clone(),
                });
            }
        }
        if story.urgency >= self.urgent_from {
            reasons.push(Reason::Urgent);
        }

        let age_hours = ((input.now - story.last_activity()).max(0) as f64) / 3_600.0;
        let recency = 0.5f64
            .powf(age_hours / self.half_life_hours.max(1.0))
            .max(0.05);
        let score = (0.1 + relevance) * (0.5 + story.urgency) * recency;
        Some(RankedStory {
            story_id: story.id.clone(),
            score: (score * 10_000.0).round() / 10_000.0,
            reasons,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::tasks::types::{ChannelInfo, CitedSentence, Entities, MessageRef, testkit};

    const NOW: i64 = 1_714_600_000;

    fn story(
        id: &str,
        channel: &str,
        title: &str,
        urgency: f64,
        people: &[&str],
        age_hours: i64,
    ) -> Story {
        let ts = format!("{}.000100", NOW - age_hours * 3_600);
        let source = MessageRef {
            channel_id: format!("C-{channel}"),
            ts,
        };
        Story {
            id: id.into(),
            title: title.into(),
            summary: vec![CitedSentence::new(
                format!("{title} came up in #{channel}."),
                vec![source.clone()],
            )],
            channels: vec![ChannelInfo {
                id: format!("C-{channel}"),
                name: channel.into(),
            }],
            topics: vec![title.to_string()],
            entities: Entities {
                people: people.iter().map(|p| p.to_string()).collect(),
                ..Entities::default()
            },
            participants: people
                .iter()
                .filter(|p| !p.starts_with("@"))
                .map(|p| p.to_string())
                .collect(),
            urgency,
            decisions: vec![],
            open_questions: vec![],
            sources: vec![source],
            propositions: vec![],
        }
    }

    fn input() -> RankInput {
        let mut mention = story("s-mention", "ops", "Certificate renewal", 0.3, &["Ann"], 3);
        mention.entities.people.push("Zoe".into());
        RankInput {
            stories: vec![
                story("s-lunch", "random", "Team lunch", 0.0, &["Ben"], 2),
                story("s-kafka", "data", "Kafka consumer lag", 0.2, &["Cleo"], 5),
                mention,
                story("s-outage", "incidents", "Checkout outage", 0.9, &["Dan"], 1),
                story("s-muted", "watercooler", "Kafka memes", 0.1, &["Eve"], 1),
                story("s-old", "data", "Kafka upgrade", 0.2, &["Cleo"], 24 * 7),
            ],
            profile: ReaderProfile {
                user_id: "U-ZOE".into(),
                name: "Zoe".into(),
                aliases: vec![],
                interests: vec![ReaderInterest {
                    term: "kafka".into(),
                    score: 0.8,
                    origin: InterestOrigin::Reacted,
                }],
                close_people: vec![],
                muted_channels: vec!["watercooler".into()],
                top_channels: vec!["C-data".into()],
            },
            now: NOW,
            limit: None,
        }
    }

    #[test]
    fn stories_are_ordered_with_reasons() {
        let out = RankForUser::default().extractive(&input());
        let order: Vec<&str> = out.ranked.iter().map(|r| r.story_id.as_str()).collect();
        assert_eq!(
            order,
            ["s-mention", "s-kafka", "s-outage", "s-lunch", "s-old"]
        );
        let reasons = |id: &str| {
            out.ranked
                .iter()
                .find(|r| r.story_id == id)
                .unwrap()
                .reasons
                .clone()
        };
        assert_eq!(
            reasons("s-kafka"),
            [
                Reason::Interest {
                    term: "kafka".into(),
                    origin: InterestOrigin::Reacted
                },
                Reason::TopChannel {
                    channel: "data".into()
                }
            ]
        );
        assert_eq!(reasons("s-mention"), [Reason::Mentioned]);
        assert_eq!(reasons("s-outage"), [Reason::Urgent]);
        assert!(reasons("s-lunch").is_empty());
        // Muted channel, not mentioned: left out.
        assert!(!order.contains(&"s-muted"));
        assert_eq!(RankForUser::default().validate(&input(), &out), Ok(()));
    }

    #[test]
    fn reasons_read_as_sentences() {
        let out = RankForUser::default().extractive(&input());
        let kafka = out.ranked.iter().find(|r| r.story_id == "s-kafka").unwrap();
        let text = crate::ai::extractive::templates::because(&kafka.reasons, Lang::En).unwrap();
        assert_eq!(
            text,
            "This is for you because you reacted to kafka and it is in #data, a channel you write in most."
        );
    }

    #[test]
    fn limit_and_validation() {
        let mut i = input();
        i.limit = Some(2);
        let out = RankForUser::default().extractive(&i);
        assert_eq!(out.ranked.len(), 2);
        let mut bad = out.clone();
        bad.ranked[0].story_id = "nope".into();
        assert!(RankForUser::default().validate(&i, &bad).is_err());
    }

    /// Reasons reach the reader as written: a raw channel id ("#C061A2UGJ"), an empty or long
    /// detail, an interest or colleague the profile does not hold, a channel not the story's —
    /// each sends the answer back for repair.
    #[test]
    fn reasons_are_validated() {
        let i = input();
        let ranker = RankForUser::default();
        let with = |reason: Reason| RankOutput {
            ranked: vec![RankedStory {
                story_id: "s-kafka".into(),
                score: 0.5,
                reasons: vec![reason],
            }],
        };
        let channel = |c: &str| Reason::TopChannel { channel: c.into() };
        let interest = |t: &str| Reason::Interest {
            term: t.into(),
            origin: InterestOrigin::Reacted,
        };
        assert_eq!(ranker.validate(&i, &with(channel("data"))), Ok(()));
        assert_eq!(ranker.validate(&i, &with(channel("#data"))), Ok(()));
        assert_eq!(ranker.validate(&i, &with(interest("Kafka"))), Ok(()));
        for bad in [
            channel("C061A2UGJ"),
            channel("#C061A2UGJ"),
            channel("incidents"),
            channel(""),
            interest("U061A5N1G"),
            interest("payroll"),
            interest(&"kafka ".repeat(20)),
            Reason::ClosePerson {
                name: "Marcus".into(),
            },
        ] {
            let err = ranker.validate(&i, &with(bad.clone()));
            assert!(err.is_err(), "{bad:?} passed");
        }
        let err = ranker
            .validate(&i, &with(channel("C061A2UGJ")))
            .unwrap_err();
        assert!(err.contains("raw Slack id"), "{err}");
    }

    /// What the reader is shown names channels, never their ids.
    #[test]
    fn shown_reasons_name_channels() {
        let mut s = story("s", "data", "Kafka", 0.2, &["Cleo"], 1);
        s.channels = vec![ChannelInfo {
            id: "C061A2UGJ".into(),
            name: "data".into(),
        }];
        let shown = shown_reasons(
            &[
                Reason::TopChannel {
                    channel: "C061A2UGJ".into(),
                },
                Reason::Urgent,
            ],
            &s,
        );
        assert_eq!(
            shown,
            [
                Reason::TopChannel {
                    channel: "data".into()
                },
                Reason::Urgent
            ]
        );
        // A channel chief has no name for is no reason to show.
        s.channels[0].name = "C061A2UGJ".into();
        let shown = shown_reasons(
            &[Reason::TopChannel {
                channel: "C061A2UGJ".into(),
            }],
            &s,
        );
        assert!(shown.is_empty());
    }

    #[test]
    fn the_prompt_keeps_content_in_the_data() {
        let i = input();
        let prompt = RankForUser::default().prompt(&i);
        testkit::assert_clean_prompt(&prompt, &i, &["Checkout outage", "U-ZOE", "watercooler"]);
    }
}
