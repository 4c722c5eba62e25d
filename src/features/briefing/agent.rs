//! The briefing agent: one reader, one day.
//!
//! ```text
//! window ─▶ visible_to(reader, window) − muted channels ─▶ per channel: shared digest (segment +
//! SummarizeDiscussion, once per channel window, reused by every reader) ─▶ GroupTopics ─▶
//! RankForUser(interest profile, close people, busiest channels, own name) ─▶ top 3 ─▶
//! GenerateBriefing (second person, reader's language) ─▶ Guardrail ─▶ on failure one corrective
//! regeneration with the critique, then the extractive text ─▶ domain::Briefing with permalinks
//! ```
//!
//! Every stage is a step of the durable run `briefing:{team}:{user}:{date}` (plus `:now:{n}` for
//! an on-demand edition): a crash resumes where it stopped without redoing (or re-paying for)
//! finished steps, and `chief runs show` traces each sentence to the step, input and model answer
//! that produced it. The final step, `compose`, carries the guardrail outcome as its verdict
//! (`pass`, `corrected: …`, `fallback: …`).
//!
//! Privacy: the only messages read are those `db::messages::visible_to` returns for the reader,
//! and the guardrail's allowed sources are exactly those messages.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Datelike, Duration as Days, NaiveDate};
use serde::{Deserialize, Serialize};
use tracing::{Instrument, info, info_span};

use super::{BriefingError, digest};
use crate::ai::extractive::{InterestOrigin, Lang, templates};
use crate::ai::guarded::{Attempt, Correction, Fallback, Guarded, Plain, step_meta};
use crate::ai::llm::{CallOptions, Priority};
use crate::ai::tasks::{
    self, BriefingInput, ChannelInfo, ChannelSummary, ChatMessage, ConsolidateInput,
    ConsolidateOutput, GenerateBriefing, GroupTopics, GuardrailInput, GuardrailReport, RankForUser,
    RankInput, RankOutput, Reader, Story, Task,
};
use crate::features::context::Context;
use crate::model::activity::UserTz;
use crate::model::domain::{self, Message, MessageRef, SourceLink};
use crate::model::events::User;
use crate::model::interest::{HalfLife, InterestProfile as Profile, normalize_key};
use crate::model::settings::{DeliveryDays, QuietDay, UserSettings};
use crate::platform::db::briefings::{self, BriefingRow, NewBriefing, Status};
use crate::platform::db::{directory, messages, profile};
use crate::platform::runs::{Run, RunStatus, StepError, StepMeta};

/// Stories in a briefing, at most.
pub const MAX_STORIES: usize = 3;
/// Stories the model ranks for a reader: the extractive ranker's best. The model reorders and
/// explains a shortlist; sending every story of a busy day to it per reader is what made naive
/// briefings cost too much.
pub const SHORTLIST: usize = 6;
/// Discussion summaries consolidated into stories per reader, at most (the reader's best).
pub const CONSOLIDATE_SHORTLIST: usize = 10;
/// Stories are cut to this for the ranker (sentences, sources): enough to judge them.
const RANK_SENTENCES: usize = 2;
const RANK_SOURCES: usize = 1;
/// And to this for the writer.
const GENERATE_SENTENCES: usize = 3;
const GENERATE_SOURCES: usize = 5;
/// Sources linked under one story, at most.
const MAX_SOURCES: usize = 5;
/// Close people handed to the ranking, at most (interest-model ones first, then the org chart's).
const MAX_CLOSE: usize = 8;
/// Interests handed to the ranking, at most.
const MAX_INTERESTS: usize = 30;
/// A story whose topics add up to this interest or less was "less like this"-ed: left out.
const DISLIKED_AT: f64 = -1.0;

/// Which messages a briefing covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum WindowRule {
    /// The daily briefing: it ends at the preparation time floored to the hour (UTC) — so every
    /// reader prepared in that hour shares each channel's digest — and reaches back to the same
    /// hour of the previous delivery day (24 h on Tuesday, 72 h on a Monday with Mon–Fri
    /// delivery), so consecutive briefings cover consecutive windows.
    Scheduled,
    /// On demand: the 24 hours up to now (floored to the minute).
    UntilNow,
    /// Given by the caller (`chief brief`: one local day).
    Fixed { start: i64, end: i64 },
}

/// `[start, end)` in epoch seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: i64,
    pub end: i64,
}

/// What to prepare.
#[derive(Clone, Debug)]
pub struct PrepareRequest {
    pub team_id: String,
    pub user_id: String,
    /// The reader's local date the briefing is for.
    pub local_date: NaiveDate,
    /// `""` for the daily briefing, `now:N` for an on-demand edition.
    pub edition: String,
    pub window: WindowRule,
    /// Model calls' priority: `Background` for scheduled work, `Interactive` for `/chief briefing`.
    pub priority: Priority,
    /// The time preparation starts (epoch seconds).
    pub now: i64,
}

impl PrepareRequest {
    /// The scheduled daily briefing.
    pub fn daily(team_id: &str, user_id: &str, local_date: NaiveDate, now: i64) -> Self {
        PrepareRequest {
            team_id: team_id.to_string(),
            user_id: user_id.to_string(),
            local_date,
            edition: String::new(),
            window: WindowRule::Scheduled,
            priority: Priority::Background,
            now,
        }
    }

    /// The `n`-th on-demand edition of the day.
    pub fn on_demand(
        team_id: &str,
        user_id: &str,
        local_date: NaiveDate,
        n: i64,
        now: i64,
        priority: Priority,
    ) -> Self {
        PrepareRequest {
            team_id: team_id.to_string(),
            user_id: user_id.to_string(),
            local_date,
            edition: format!("now:{n}"),
            window: WindowRule::UntilNow,
            priority,
            now,
        }
    }
}

/// The durable run's idempotency key: `briefing:{team}:{user}:{date}` (`:now:{n}` appended for an
/// on-demand edition).
pub fn run_key(team_id: &str, user_id: &str, date: NaiveDate, edition: &str) -> String {
    let mut key = format!("briefing:{team_id}:{user_id}:{}", date.format("%Y-%m-%d"));
    if !edition.is_empty() {
        key.push(':');
        key.push_str(edition);
    }
    key
}

/// The run records the whole chain: a step's stored error should name the cause, not the wrapper.
impl From<BriefingError> for StepError {
    fn from(e: BriefingError) -> Self {
        let reason = crate::platform::retry::Chain(&e).to_string();
        if e.is_retryable() {
            StepError::Retryable(reason)
        } else {
            StepError::Permanent(reason)
        }
    }
}

/// Seconds east of UTC of `tz` at `at`.
pub fn offset_at(tz: &UserTz, at: i64) -> i32 {
    (tz.local(at).and_utc().timestamp() - at) as i32
}

/// Days back to the previous delivery day before `date` (1 when every day is one; 3 on a
/// Monday with Monday–Friday delivery), at most 7.
fn days_since_previous_delivery_day(date: NaiveDate, days: DeliveryDays) -> i64 {
    (1..=7)
        .find(|d| days.contains((date - Days::days(*d)).weekday()))
        .unwrap_or(1)
}

/// The window a rule gives at `now` for `date`.
pub fn window_for(rule: WindowRule, now: i64, date: NaiveDate, days: DeliveryDays) -> Window {
    match rule {
        WindowRule::Scheduled => {
            let end = now - now.rem_euclid(3_600);
            Window {
                start: end - days_since_previous_delivery_day(date, days) * 86_400,
                end,
            }
        }
        WindowRule::UntilNow => {
            let end = now - now.rem_euclid(60);
            Window {
                start: end - 86_400,
                end,
            }
        }
        WindowRule::Fixed { start, end } => Window { start, end },
    }
}

/// Who the briefing is written for: the directory's names, the language from the settings, else
/// the Slack locale, else English.
pub fn reader_of(user_id: &str, user: Option<&User>, settings: &UserSettings) -> Reader {
    let name = user
        .and_then(User::shown_name)
        .unwrap_or(user_id)
        .to_string();
    let mut aliases: Vec<String> = Vec::new();
    if let Some(u) = user {
        // People call each other by first name in chat ("Neeraj, can you…"): within the
        // reader's own channels that is the reader.
        let first_name = u
            .real_name
            .as_deref()
            .filter(|n| n.split_whitespace().count() > 1)
            .and_then(|n| n.split_whitespace().next())
            .filter(|f| f.chars().filter(|c| c.is_alphabetic()).count() >= 3);
        for n in [&u.display_name, &u.real_name, &u.name]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .chain(first_name)
        {
            let n = n.trim();
            if !n.is_empty() && n != name && !aliases.iter().any(|a| a == n) {
                aliases.push(n.to_string());
            }
        }
    }
    let language = settings
        .language
        .clone()
        .or_else(|| user.and_then(|u| u.locale.clone()))
        .map(|l| l.chars().take(2).collect::<String>().to_lowercase())
        .filter(|l| Lang::from_code(l).is_some())
        .unwrap_or_else(|| "en".to_string());
    Reader {
        id: user_id.to_string(),
        name,
        aliases,
        language,
    }
}

/// How strongly the ranking should weigh an interest score (the model's −25…25, decayed) as
/// the task's 0…1: 1 − e^(−s), so a reaction (0.3) counts 0.26, a message (1) 0.63, "more like
/// this" (3) 0.95.
fn interest_weight(score: f64) -> f64 {
    (1.0 - (-score.max(0.0)).exp()).clamp(0.0, 1.0)
}

fn origin_of(stored: Option<&String>) -> InterestOrigin {
    stored
        .and_then(|s| serde_json::from_value(serde_json::Value::String(s.clone())).ok())
        .unwrap_or_default()
}

/// The reader's profile as the ranking task sees it.
async fn rank_profile(
    ctx: &Context,
    team_id: &str,
    reader: &Reader,
    profile: &Profile,
    settings: &UserSettings,
    now: i64,
) -> Result<tasks::ReaderProfile, BriefingError> {
    let origins = briefings::origins(&ctx.db, team_id, &reader.id).await?;
    let interests = profile
        .top(MAX_INTERESTS, now)
        .into_iter()
        .map(|(term, score)| {
            let key = normalize_key(&term).unwrap_or_default();
            tasks::ReaderInterest {
                origin: origin_of(origins.get(&key)),
                term,
                score: interest_weight(score),
            }
        })
        .collect();
    let mut close_ids: Vec<String> = profile
        .close_people(5, now)
        .into_iter()
        .map(|(id, _)| id)
        .filter(|id| *id != reader.id)
        .collect();
    // The org chart's view: the reader's leads (a request from one's lead weighs more) and their
    // closest collaborators. Advisory: a workspace without interactions yet has none.
    match crate::features::org::team_view(&ctx.db, team_id, &reader.id).await {
        Ok(Some(view)) => {
            let from_org = view
                .user
                .leads
                .iter()
                .chain(view.user.collaborators.iter().map(|(id, _)| id).take(3));
            for id in from_org {
                if *id != reader.id && !close_ids.contains(id) && close_ids.len() < MAX_CLOSE {
                    close_ids.push(id.clone());
                }
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "org chart unavailable for ranking"),
    }
    let names = directory::user_names(&ctx.db, team_id, &close_ids).await?;
    let close_people = close_ids
        .iter()
        .filter_map(|id| names.get(id).cloned())
        .collect();
    // The channels the reader wrote in most over the 30 days before the window's end (at least 3
    // messages): never what they wrote after it (a past day's briefing, an export).
    let top_channels =
        briefings::top_channels(&ctx.db, team_id, &reader.id, (now - 30 * 86_400, now), 3)
            .await?
            .into_iter()
            .filter(|(_, n)| *n >= 3)
            .map(|(c, _)| c)
            .collect();
    Ok(tasks::ReaderProfile {
        user_id: reader.id.clone(),
        name: reader.name.clone(),
        aliases: reader.aliases.clone(),
        interests,
        close_people,
        muted_channels: settings.muted_channels.iter().cloned().collect(),
        top_channels,
    })
}

/// Whether the reader said "less like this" to what the story is about (its topics and
/// entities add up to a clearly negative interest). Such stories are left out, unless the reader
/// is named in them.
fn disliked(story: &Story, profile: &Profile, reader: &Reader, now: i64) -> bool {
    let named = story.participants.iter().any(|p| reader.is(p))
        || story.entities.people.iter().any(|p| reader.is(p));
    if named {
        return false;
    }
    let mut keys: BTreeSet<String> = BTreeSet::new();
    for t in story
        .topics
        .iter()
        .chain(&story.entities.projects)
        .chain(&story.entities.systems)
    {
        if let Some(k) = normalize_key(t) {
            keys.insert(k);
        }
    }
    let total: f64 = keys.iter().map(|k| profile.score_of(k, now)).sum();
    total <= DISLIKED_AT
}

/// The sections the guardrail checks: the written items less their "why" line when it is the
/// template's (`templates::because` of the story's reasons). That line is chief's own framing of
/// the ranking's reasons (names of interests, close people, channels), not a claim about the
/// messages, and the reader sees it as the story's `why` whatever the text says (see
/// [`to_domain`]): checking it only ever failed briefings on words the sources cannot hold.
fn checked_sections(
    briefing: &tasks::WrittenBriefing,
    chosen: &[tasks::ChosenStory],
    lang: Lang,
) -> Vec<tasks::TextSection> {
    briefing
        .items
        .iter()
        .map(|item| {
            let why = chosen
                .iter()
                .find(|c| c.story.id == item.story_id)
                .and_then(|c| templates::because(&c.reasons, lang));
            tasks::TextSection {
                title: item.title.clone(),
                sentences: item
                    .sentences
                    .iter()
                    .filter(|s| why.as_deref() != Some(s.text.trim()))
                    .cloned()
                    .collect(),
            }
        })
        .collect()
}

/// Everything the last step needs to build what the reader sees.
#[derive(Serialize)]
struct ComposeInput<'a> {
    date: NaiveDate,
    briefing: &'a tasks::WrittenBriefing,
    chosen: &'a [tasks::ChosenStory],
    workspace_url: &'a str,
    verdict: &'a str,
}

/// The task's briefing as the reader sees it: titles, second-person text, why, topics (for
/// feedback) and permalinks (thread replies link into their thread).
#[allow(clippy::too_many_arguments)]
pub fn to_domain(
    team_id: &str,
    reader: &Reader,
    date: NaiveDate,
    briefing: &tasks::WrittenBriefing,
    chosen: &[tasks::ChosenStory],
    threads: &HashMap<MessageRef, Option<String>>,
    channel_names: &HashMap<String, String>,
    workspace_url: &str,
) -> domain::Briefing {
    let lang = reader.lang();
    let mut stories = Vec::new();
    for item in briefing.items.iter().take(MAX_STORIES) {
        let Some(chosen) = chosen.iter().find(|c| c.story.id == item.story_id) else {
            continue;
        };
        let story = &chosen.story;
        let why = templates::because(&chosen.reasons, lang).unwrap_or_default();
        let summary: Vec<&str> = item
            .sentences
            .iter()
            .map(|s| s.text.trim())
            .filter(|t| !t.is_empty() && *t != why)
            .collect();
        let mut refs: Vec<MessageRef> = Vec::new();
        for r in item.sentences.iter().flat_map(|s| &s.sources) {
            if !refs.contains(r) {
                refs.push(r.clone());
            }
        }
        // A story spanning several channels links each of them.
        for c in &story.channels {
            if !refs.iter().any(|r| r.channel_id == c.id)
                && let Some(first) = story.sources.iter().find(|s| s.channel_id == c.id)
            {
                refs.push(first.clone());
            }
        }
        refs.truncate(MAX_SOURCES);
        let sources = refs
            .iter()
            .map(|r| SourceLink {
                channel: r.channel_id.clone(),
                channel_name: channel_names.get(&r.channel_id).cloned().or_else(|| {
                    story
                        .channels
                        .iter()
                        .find(|c| c.id == r.channel_id && !c.name.is_empty())
                        .map(|c| c.name.clone())
                }),
                ts: r.ts.clone(),
                permalink: domain::permalink(
                    workspace_url,
                    &r.channel_id,
                    &r.ts,
                    threads.get(r).and_then(|t| t.as_deref()),
                ),
            })
            .collect();
        let mut topics: Vec<String> = Vec::new();
        for t in story
            .topics
            .iter()
            .chain(&story.entities.projects)
            .chain(&story.entities.systems)
        {
            if normalize_key(t).is_some() && !topics.iter().any(|x| x.eq_ignore_ascii_case(t)) {
                topics.push(t.clone());
            }
        }
        topics.truncate(6);
        stories.push(domain::BriefingStory {
            id: story.id.clone(),
            title: item.title.clone(),
            summary: summary.join(" "),
            why,
            topics,
            sources,
        });
    }
    domain::Briefing {
        team_id: team_id.to_string(),
        user_id: reader.id.clone(),
        date: date.format("%Y-%m-%d").to_string(),
        stories,
    }
}

/// Prepares (or returns the already prepared) briefing of the request. See the module docs.
pub async fn prepare_with(
    ctx: &Context,
    req: &PrepareRequest,
) -> Result<BriefingRow, BriefingError> {
    let span = info_span!("briefing_prepare", team_id = %req.team_id, user_id = %req.user_id,
        date = %req.local_date, edition = %req.edition);
    async {
        if let Some(row) = briefings::get(
            &ctx.db,
            &req.team_id,
            &req.user_id,
            req.local_date,
            &req.edition,
        )
        .await?
        {
            return Ok(row);
        }
        let row = run_pipeline(ctx, req).await?;
        if req.edition.is_empty() {
            profile::mark_prepared(
                &ctx.db,
                &req.team_id,
                &req.user_id,
                req.local_date,
                crate::platform::db::now(),
            )
            .await?;
        }
        Ok(row)
    }
    .instrument(span)
    .await
}

async fn run_pipeline(ctx: &Context, req: &PrepareRequest) -> Result<BriefingRow, BriefingError> {
    let db = &ctx.db;
    let (team_id, user_id) = (req.team_id.as_str(), req.user_id.as_str());
    let key = run_key(team_id, user_id, req.local_date, &req.edition);
    let run = Run::start_or_resume(&ctx.db, "briefing", &key, team_id, Some(user_id)).await?;

    let settings = profile::get_settings(db, team_id, user_id).await?;
    let user = directory::get_user(db, team_id, user_id).await?;
    let reader = reader_of(user_id, user.as_ref(), &settings);
    let tz = match profile::get_agent(db, team_id, user_id).await? {
        Some(agent) => profile::user_tz(db, &agent).await?,
        None => UserTz::resolve(
            user.as_ref().and_then(|u| u.tz.as_deref()),
            user.as_ref().and_then(|u| u.tz_offset),
            profile::team_default_tz(db, team_id).await?,
        ),
    };

    // 1. The window, recorded so a resumed run covers the same messages.
    #[derive(Serialize)]
    struct WindowInput {
        date: NaiveDate,
        edition: String,
        rule: WindowRule,
    }
    let window_input = WindowInput {
        date: req.local_date,
        edition: req.edition.clone(),
        rule: req.window,
    };
    let window: Window = run
        .step("window", &window_input, |w| {
            let window = window_for(w.rule, req.now, w.date, settings.delivery_days);
            async move { Ok::<_, StepError>((window, StepMeta::default())) }
        })
        .await?;

    // 2. What the reader may see, minus what they muted; DMs never (visible_to excludes them).
    let visible = messages::visible_to(db, team_id, user_id, window.start, window.end).await?;
    let allowed: Vec<MessageRef> = visible
        .iter()
        .filter(|m| !settings.is_muted(&m.channel_id))
        .map(Message::reference)
        .collect();
    let evidence: Vec<ChatMessage> = visible
        .iter()
        .filter(|m| !settings.is_muted(&m.channel_id))
        .map(ChatMessage::from)
        .collect();
    let threads: HashMap<MessageRef, Option<String>> = visible
        .iter()
        .map(|m| (m.reference(), m.thread_ts.clone()))
        .collect();
    let mut by_channel: BTreeMap<String, Vec<Message>> = BTreeMap::new();
    for m in visible {
        if !settings.is_muted(&m.channel_id) {
            by_channel.entry(m.channel_id.clone()).or_default().push(m);
        }
    }
    let channel_ids: Vec<String> = by_channel.keys().cloned().collect();
    let channel_names = directory::channel_names(db, team_id, &channel_ids).await?;
    let channels: Vec<ChannelInfo> = channel_ids
        .iter()
        .map(|id| ChannelInfo {
            id: id.clone(),
            name: channel_names.get(id).cloned().unwrap_or_else(|| id.clone()),
        })
        .collect();

    // 3. Shared channel digests: summarised once per channel window, reused by every reader.
    // Their text resolves "tomorrow" and "tonight" to dates, so it is made in the reader's UTC
    // offset and keyed by it: readers share a digest only when they share the window, and a
    // window is the reader's local day, so a team in one time zone still shares every digest.
    let reader_offset = offset_at(&tz, window.end);
    let mut summaries: Vec<ChannelSummary> = Vec::new();
    for channel in &channels {
        let msgs = &by_channel[&channel.id];
        let key = digest::DigestKey::new(
            channel.clone(),
            (window.start, window.end),
            reader_offset,
            msgs,
        );
        let summary = format!(
            "{} messages of #{} from {} to {}",
            msgs.len(),
            channel.name,
            window.start,
            window.end
        );
        // The step records which shared digest was used, not its content: the digest is stored
        // once, and 10,000 readers' runs each copying it would cost more than making it.
        let made = std::sync::Mutex::new(None);
        let _used: digest::DigestUsed = run
            .step_summarized(
                &format!("digest:{}", channel.id),
                Some(summary),
                &key,
                |k| {
                    let made = &made;
                    async move {
                        let (digest, meta) =
                            digest::channel_digest(ctx, team_id, k, msgs, req.priority).await?;
                        let used = digest::DigestUsed {
                            digest_id: digest.digest_id,
                            discussions: digest.summaries.len(),
                        };
                        if let Ok(mut slot) = made.lock() {
                            *slot = Some(digest.summaries);
                        }
                        Ok::<_, BriefingError>((used, meta))
                    }
                },
            )
            .await?;
        let made = made.into_inner().ok().flatten();
        let digest_summaries = match made {
            Some(summaries) => summaries,
            // A resumed run: the step's digest is read back (or made again if it expired).
            None => {
                digest::channel_digest(ctx, team_id, &key, msgs, req.priority)
                    .await?
                    .0
                    .summaries
            }
        };
        summaries.extend(digest_summaries.into_iter().map(|s| ChannelSummary {
            channel: channel.clone(),
            summary: s,
        }));
    }

    let options = CallOptions {
        team_id: Some(team_id.to_string()),
        user_id: Some(user_id.to_string()),
        priority: req.priority,
        ..CallOptions::default()
    };

    // 4. The same topic in several channels becomes one story — among the discussions that
    // matter most to this reader (see `CONSOLIDATE_SHORTLIST`).
    let interests = profile::load_profile(db, team_id, user_id, HalfLife::default()).await?;
    let profile = rank_profile(ctx, team_id, &reader, &interests, &settings, window.end).await?;
    let summaries = shortlist_summaries(summaries, &profile, window.end);
    let consolidated: ConsolidateOutput = if summaries.is_empty() {
        ConsolidateOutput { stories: vec![] }
    } else {
        let input = ConsolidateInput { summaries };
        let summary = format!("{} discussion summaries", input.summaries.len());
        // The model groups; the stories are built in code (ids from their sources).
        run.step_summarized("consolidate", Some(summary), &input, |i| async {
            let task = GroupTopics::default();
            let answer = ctx.llm.run_or_extractive(&task, i, &options).await;
            let meta = step_meta(&answer);
            Ok::<_, StepError>((task.consolidate.from_groups(i, &answer.output), meta))
        })
        .await?
    };

    // 5. Ranked for this reader.
    let stories: Vec<Story> = consolidated
        .stories
        .into_iter()
        .filter(|s| !disliked(s, &interests, &reader, window.end))
        .collect();
    let ranked: RankOutput = if stories.is_empty() {
        RankOutput { ranked: vec![] }
    } else {
        let input = RankInput {
            stories: shortlist(&stories, &profile, window.end),
            profile: profile.clone(),
            now: window.end,
            limit: Some(MAX_STORIES),
        };
        let summary = format!("{} stories for {}", input.stories.len(), reader.name);
        run.step_summarized("rank", Some(summary), &input, |i| async {
            let answer = ctx
                .llm
                .run_or_extractive(&RankForUser::default(), i, &options)
                .await;
            let meta = step_meta(&answer);
            Ok::<_, StepError>((answer.output, meta))
        })
        .await?
    };
    let chosen: Vec<tasks::ChosenStory> = ranked
        .ranked
        .iter()
        .filter_map(|r| {
            stories
                .iter()
                .find(|s| s.id == r.story_id)
                .map(|s| tasks::ChosenStory {
                    story: s.clone(),
                    reasons: tasks::rank::shown_reasons(&r.reasons, s),
                    messages: vec![],
                })
        })
        .take(MAX_STORIES)
        .collect();

    // 6. The text, checked; corrected once; else the extractive text.
    let (text, verdict) = if chosen.is_empty() {
        (
            tasks::WrittenBriefing {
                language: reader.language.clone(),
                intro: templates::nothing_new(reader.lang()),
                items: vec![],
            },
            "empty".to_string(),
        )
    } else {
        write_checked(
            ctx, &run, &reader, &chosen, &evidence, &allowed, &channels, &tz, window, &options,
        )
        .await?
    };

    // 7. What the reader sees, with permalinks; the outcome is the step's verdict.
    let workspace_url = ctx.workspace_url(team_id).await;
    let compose_input = ComposeInput {
        date: req.local_date,
        briefing: &text,
        chosen: &chosen,
        workspace_url: &workspace_url,
        verdict: &verdict,
    };
    let briefing: domain::Briefing = run
        .step_summarized(
            "compose",
            Some(format!("{} stories, {verdict}", text.items.len())),
            &compose_input,
            |c| {
                let b = to_domain(
                    team_id,
                    &reader,
                    c.date,
                    c.briefing,
                    c.chosen,
                    &threads,
                    &channel_names,
                    c.workspace_url,
                );
                let meta = StepMeta::default().verdict(c.verdict);
                async move { Ok::<_, StepError>((b, meta)) }
            },
        )
        .await?;

    let quiet = briefing.stories.is_empty()
        && req.edition.is_empty()
        && settings.quiet_day == QuietDay::Nothing;
    let (row, created) = briefings::insert(
        db,
        &NewBriefing {
            local_date: req.local_date,
            edition: &req.edition,
            briefing: &briefing,
            verdict: Some(&verdict),
            run_id: Some(run.id()),
            window_start: window.start,
            window_end: window.end,
            status: if quiet {
                Status::Skipped
            } else {
                Status::Prepared
            },
            skip_reason: quiet.then_some("quiet day: nothing needs you, and you asked for no note"),
        },
    )
    .await?;
    if !run.is_finished() {
        run.finish(RunStatus::Succeeded).await?;
    }
    info!(stories = row.briefing.stories.len(), %verdict, created, "briefing prepared");
    Ok(row)
}

/// The [`CONSOLIDATE_SHORTLIST`] discussion summaries the extractive ranker scores highest for
/// the reader, in their original order. Consolidating every discussion of every channel a reader
/// is in costs, per reader, time and tokens that grow with the workspace (#general alone has
/// hundreds of discussions at 10,000 people); the top three stories come from the best anyway.
fn shortlist_summaries(
    summaries: Vec<ChannelSummary>,
    profile: &tasks::ReaderProfile,
    now: i64,
) -> Vec<ChannelSummary> {
    if summaries.len() <= CONSOLIDATE_SHORTLIST {
        return summaries;
    }
    let ranker = RankForUser::default();
    let input = RankInput {
        stories: vec![],
        profile: profile.clone(),
        now,
        limit: None,
    };
    let mut scored: Vec<(f64, usize)> = summaries
        .iter()
        .enumerate()
        .map(|(i, cs)| {
            let s = &cs.summary;
            let story = Story {
                id: i.to_string(),
                title: s.title.clone(),
                summary: s.summary.clone(),
                channels: vec![cs.channel.clone()],
                topics: s.topics.clone(),
                entities: s.entities.clone(),
                participants: s.participants.clone(),
                urgency: s.urgency,
                decisions: s.decisions.clone(),
                open_questions: s.open_questions.clone(),
                sources: s.sources.clone(),
                propositions: s.propositions.clone(),
            };
            let score = ranker.score(&story, &input).map_or(f64::MIN, |r| r.score);
            (score, i)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let keep: BTreeSet<usize> = scored
        .into_iter()
        .take(CONSOLIDATE_SHORTLIST)
        .map(|(_, i)| i)
        .collect();
    summaries
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep.contains(i))
        .map(|(_, s)| s)
        .collect()
}

/// The [`SHORTLIST`] stories the extractive ranker puts first, abridged for the model.
fn shortlist(stories: &[Story], profile: &tasks::ReaderProfile, now: i64) -> Vec<Story> {
    if stories.len() <= SHORTLIST {
        return stories
            .iter()
            .map(|s| s.abridged(RANK_SENTENCES, RANK_SOURCES))
            .collect();
    }
    let ranked = RankForUser::default().extractive(&RankInput {
        stories: stories.to_vec(),
        profile: profile.clone(),
        now,
        limit: Some(SHORTLIST),
    });
    ranked
        .ranked
        .iter()
        .filter_map(|r| stories.iter().find(|s| s.id == r.story_id))
        .map(|s| s.abridged(RANK_SENTENCES, RANK_SOURCES))
        .collect()
}

/// The people of `known` whose every name word appears in `briefing`'s text: the only ones the
/// guardrail's invented-name check can find there. A workspace has thousands of names and a
/// briefing a few; the check and its recorded input stay the size of the briefing.
fn named_in(known: &[String], briefing: &tasks::WrittenBriefing) -> Vec<String> {
    fn tokens(s: &str) -> impl Iterator<Item = String> + '_ {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
    }
    let words: std::collections::HashSet<String> = briefing
        .sections()
        .iter()
        .flat_map(|s| {
            std::iter::once(s.title.as_str())
                .chain(s.sentences.iter().map(|c| c.text.as_str()))
                .flat_map(tokens)
                .collect::<Vec<_>>()
        })
        .collect();
    known
        .iter()
        .filter(|name| {
            let mut t = tokens(name).peekable();
            t.peek().is_some() && t.all(|w| words.contains(&w))
        })
        .cloned()
        .collect()
}

/// GenerateBriefing → Guardrail → (critique → GenerateBriefing → Guardrail) → extractive.
#[allow(clippy::too_many_arguments)]
async fn write_checked(
    ctx: &Context,
    run: &Run,
    reader: &Reader,
    chosen: &[tasks::ChosenStory],
    evidence: &[ChatMessage],
    allowed: &[MessageRef],
    channels: &[ChannelInfo],
    tz: &UserTz,
    window: Window,
    options: &CallOptions,
) -> Result<(tasks::WrittenBriefing, String), BriefingError> {
    let db = &ctx.db;
    let team_id = options.team_id.as_deref().unwrap_or_default();
    // The evidence: what the reader can see in the chosen stories' channels (a story's framing
    // names everyone who took part, not only the authors of its cited messages).
    let story_channels: BTreeSet<&str> = chosen
        .iter()
        .flat_map(|c| c.story.sources.iter().map(|s| s.channel_id.as_str()))
        .collect();
    let sources: Vec<ChatMessage> = evidence
        .iter()
        .filter(|m| story_channels.contains(m.id.channel_id.as_str()))
        .cloned()
        .collect();
    // Names that cannot be mistaken for words: capitalised, or several words.
    let known_people: Vec<String> = ctx
        .people
        .get(db, team_id)
        .await?
        .iter()
        .filter(|n| n.chars().any(char::is_uppercase) || n.split_whitespace().count() > 1)
        .cloned()
        .collect();
    // The chosen stories' propositions: what the sentences citing their messages must agree with.
    let mut propositions: Vec<tasks::types::Proposition> = Vec::new();
    for c in chosen {
        for p in &c.story.propositions {
            if !propositions.contains(p) {
                propositions.push(p.clone());
            }
        }
    }
    let guard_input = |b: &tasks::WrittenBriefing| GuardrailInput {
        sections: checked_sections(b, chosen, reader.lang()),
        sources: sources.clone(),
        allowed_sources: allowed.to_vec(),
        reader: reader.clone(),
        known_people: named_in(&known_people, b),
        channels: channels.to_vec(),
        limits: Default::default(),
        utc_offset_secs: offset_at(tz, window.end),
        propositions: propositions.clone(),
    };
    let describe = |i: &BriefingInput, attempt: Attempt| match attempt {
        Attempt::First => format!("{} stories for {}", i.stories.len(), reader.name),
        Attempt::Corrected => format!(
            "{} stories for {}, with a critique",
            i.stories.len(),
            reader.name
        ),
        Attempt::Extractive => format!("{} stories", i.stories.len()),
    };
    let with_critique = |i: &BriefingInput, critique: &str| BriefingInput {
        critique: Some(critique.to_string()),
        ..i.clone()
    };
    let repair = |i: &BriefingInput,
                  b: tasks::WrittenBriefing,
                  _: &GuardrailReport,
                  check: &dyn Fn(&tasks::WrittenBriefing) -> GuardrailReport| {
        GenerateBriefing.repair(i, b, check)
    };
    let guarded = Guarded {
        step: "generate",
        task: &GenerateBriefing,
        correction: Correction {
            task: &GenerateBriefing,
            input: &with_critique,
        },
        check_input: &guard_input,
        describe: Some(&describe),
        // The extractive briefing heeds a critique (it leaves out the quoted terms).
        correct_extractive: true,
        // A briefing is sent unasked: the extractive text is checked too, and what still fails is
        // replaced or left out sentence by sentence (`GenerateBriefing::repair`).
        fallback: Fallback::Repaired { repair: &repair },
    };

    let input = BriefingInput {
        reader: reader.clone(),
        stories: chosen
            .iter()
            .map(|c| tasks::ChosenStory {
                story: c.story.abridged(GENERATE_SENTENCES, GENERATE_SOURCES),
                reasons: c.reasons.clone(),
                messages: tasks::briefing::quotes_for(&c.story, evidence, reader),
            })
            .collect(),
        critique: None,
    };
    let checked = guarded
        .run::<Plain<tasks::WrittenBriefing>>(run, &ctx.llm, options, &input)
        .await?;
    Ok((checked.output, checked.verdict.describe()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::settings::DeliveryDays;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn scheduled_windows_end_on_the_hour_and_reach_back_to_the_previous_delivery_day() {
        let weekdays = DeliveryDays::parse("mon-fri").unwrap();
        // Tuesday 2026-11-24, prepared at 08:17:05 UTC.
        let now = 1_795_508_225;
        let w = window_for(WindowRule::Scheduled, now, date(2026, 11, 24), weekdays);
        assert_eq!(w.end % 3600, 0);
        assert!(w.end <= now && now - w.end < 3600);
        assert_eq!(w.end - w.start, 86_400);
        // Monday: back to Friday.
        let w = window_for(WindowRule::Scheduled, now, date(2026, 11, 23), weekdays);
        assert_eq!(w.end - w.start, 3 * 86_400);
        // Every day: one day.
        let every = DeliveryDays::parse("every day").unwrap();
        let w = window_for(WindowRule::Scheduled, now, date(2026, 11, 23), every);
        assert_eq!(w.end - w.start, 86_400);
        // Two readers prepared in the same hour share the window.
        let a = window_for(WindowRule::Scheduled, now, date(2026, 11, 24), weekdays);
        let b = window_for(
            WindowRule::Scheduled,
            now + 1500,
            date(2026, 11, 24),
            weekdays,
        );
        assert_eq!(a, b);
    }

    #[test]
    fn run_keys_name_the_day_and_the_edition() {
        assert_eq!(
            run_key("T1", "U1", date(2026, 5, 1), ""),
            "briefing:T1:U1:2026-05-01"
        );
        assert_eq!(
            run_key("T1", "U1", date(2026, 5, 1), "now:2"),
            "briefing:T1:U1:2026-05-01:now:2"
        );
    }

    #[test]
    fn the_reader_language_follows_settings_then_locale() {
        let user = User {
            user_id: "U1".into(),
            display_name: Some("ana".into()),
            real_name: Some("Ana Lima".into()),
            locale: Some("fr-FR".into()),
            ..User::default()
        };
        let mut settings = UserSettings::default();
        let r = reader_of("U1", Some(&user), &settings);
        assert_eq!(r.language, "fr");
        assert_eq!(r.name, "ana");
        assert_eq!(r.aliases, vec!["Ana Lima".to_string(), "Ana".to_string()]);
        settings.language = Some("de-CH".into());
        assert_eq!(reader_of("U1", Some(&user), &settings).language, "de");
        settings.language = Some("ja".into());
        assert_eq!(reader_of("U1", None, &settings).language, "en");
    }

    #[test]
    fn interest_weights_grow_with_the_score_and_stay_in_range() {
        assert_eq!(interest_weight(-3.0), 0.0);
        assert!(interest_weight(0.3) > 0.2 && interest_weight(0.3) < 0.3);
        assert!(interest_weight(3.0) > 0.9 && interest_weight(25.0) <= 1.0);
    }
}
