//! Propositions: short typed statements (who asked, promised, decided or reported what, about
//! what, by when) extracted from messages, stored linked to them, and read by every later step.
//!
//! Two ways in, one way of extracting ([`extract_and_store`]):
//! - **the agent** ([`run`]) follows the event bus (`message_posted`, `message_edited`), groups
//!   what it polls by channel and extracts as messages arrive, so a briefing finds them ready;
//! - **a channel window** ([`for_window`]), when a digest is made: the window's messages that were
//!   never extracted (imports, backfills, a lagging agent) or were edited since are extracted
//!   then, in batches that fit the token budget — one gateway call per batch, shared by every
//!   reader of the channel like the digest itself.
//!
//! Each extracted message is marked with the hash of its text (`proposition_marks`), so a message
//! that stated nothing is not paid for again and an edited one is. Noise (joins, emoji-only
//! lines, bare links) is never sent. Extraction replaces a message's propositions, so a
//! redelivered batch or an edit never leaves duplicates; a deleted message takes its propositions
//! and marks with it (`db::purge`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info_span, warn};

use crate::ai::guarded::step_meta;
use crate::ai::llm::{CallOptions, Priority};
use crate::ai::tasks::propositions::{batches_by_tokens, worth_extracting};
use crate::ai::tasks::types::{ChannelInfo, ChatMessage, MessageRef, Proposition};
use crate::ai::tasks::{ExtractPropositions, PropositionsInput};
use crate::features::context::Context;
use crate::model::domain::Message;
use crate::model::events::{DomainEvent, EventKind, PostedMessage};
use crate::platform::bus::{self, Subscription};
use crate::platform::db::propositions::{self as store, Extracted};
use crate::platform::db::{DbError, directory};
use crate::platform::runs::{StepMeta, StepSource};

/// The subscriber's name on the bus.
pub const SUBSCRIBER: &str = "propositions";
/// Approximate prompt tokens of messages per model call.
pub const BATCH_TOKENS: usize = 3_000;
const POLL_LIMIT: i64 = 200;

/// Runs until `shutdown`.
pub async fn run(ctx: Arc<Context>, shutdown: CancellationToken) {
    let sub = Subscription::new(
        SUBSCRIBER,
        &[EventKind::MessagePosted, EventKind::MessageEdited],
        &ctx.instance_id,
        ctx.db.backend(),
    );
    loop {
        let pause = match run_once(&ctx, &sub).await {
            Ok(0) => Duration::from_millis(500),
            Ok(_) => Duration::ZERO,
            Err(e) => {
                warn!(error = %e, "propositions agent failed; will retry");
                Duration::from_secs(5)
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

/// Polls one batch of events, extracts and stores their propositions, acks. Returns the number of
/// messages handled.
pub async fn run_once(ctx: &Context, sub: &Subscription) -> anyhow::Result<usize> {
    let polled = bus::poll(&ctx.db, sub, POLL_LIMIT).await?;
    if polled.events.is_empty() {
        if polled.up_to > 0 {
            bus::ack(&ctx.db, sub, polled.up_to).await?;
        }
        return Ok(0);
    }
    // (team, channel) → messages, latest version of each message winning.
    let mut groups: BTreeMap<(String, String), BTreeMap<String, PostedMessage>> = BTreeMap::new();
    for event in polled.events {
        if let DomainEvent::MessagePosted(m) | DomainEvent::MessageEdited(m) = event.event {
            if m.text.trim().is_empty() {
                continue;
            }
            groups
                .entry((event.team_id.clone(), m.channel_id.clone()))
                .or_default()
                .insert(m.ts.clone(), m);
        }
    }
    let mut handled = 0;
    for ((team_id, channel_id), messages) in groups {
        let messages: Vec<PostedMessage> = messages.into_values().collect();
        handled += messages.len();
        let span = info_span!("propositions", team_id = %team_id, channel_id = %channel_id, messages = messages.len());
        async {
            let channel = channel_info(ctx, &team_id, &channel_id).await?;
            let authors: Vec<String> = messages.iter().filter_map(|m| m.user_id.clone()).collect();
            let names = directory::user_names(&ctx.db, &team_id, &authors).await?;
            let chat: Vec<ChatMessage> = messages
                .iter()
                .map(|m| ChatMessage {
                    id: MessageRef {
                        channel_id: channel_id.clone(),
                        ts: m.ts.clone(),
                    },
                    author: m
                        .user_id
                        .as_ref()
                        .and_then(|u| names.get(u).cloned())
                        .or_else(|| m.user_id.clone())
                        .unwrap_or_else(|| "someone".into()),
                    author_id: m.user_id.clone(),
                    text: m.text.clone(),
                    posted_at: m.posted_at,
                })
                .collect();
            let known: Vec<String> = names.values().cloned().collect();
            let options = CallOptions::background(&team_id);
            extract_and_store(ctx, &team_id, &channel, &chat, &known, 0, &options).await?;
            Ok::<_, anyhow::Error>(())
        }
        .instrument(span)
        .await?;
    }
    bus::ack(&ctx.db, sub, polled.up_to).await?;
    Ok(handled)
}

async fn channel_info(
    ctx: &Context,
    team_id: &str,
    channel_id: &str,
) -> Result<ChannelInfo, DbError> {
    let name = directory::channel_names(&ctx.db, team_id, &[channel_id.to_string()])
        .await?
        .remove(channel_id)
        .unwrap_or_else(|| channel_id.to_string());
    Ok(ChannelInfo {
        id: channel_id.to_string(),
        name,
    })
}

/// Extracts the propositions of `messages` (one channel's) in batches by token budget, through
/// the gateway (or the extractive engine), and replaces what was stored for them. Noise is marked
/// extracted without a call. Returns what the calls cost, as a step's metadata.
pub async fn extract_and_store(
    ctx: &Context,
    team_id: &str,
    channel: &ChannelInfo,
    messages: &[ChatMessage],
    known_people: &[String],
    utc_offset_secs: i32,
    options: &CallOptions,
) -> Result<StepMeta, DbError> {
    let mut meta = StepMeta::default().source(StepSource::Extractive);
    let worth: Vec<ChatMessage> = messages
        .iter()
        .filter(|m| worth_extracting(&m.text))
        .cloned()
        .collect();
    let mut propositions: Vec<Proposition> = Vec::new();
    if !worth.is_empty() {
        let input = PropositionsInput {
            channel: channel.clone(),
            messages: worth,
            known_people: known_people.to_vec(),
            utc_offset_secs,
        };
        for batch in batches_by_tokens(&input, BATCH_TOKENS) {
            let answer = ctx
                .llm
                .run_or_extractive(&ExtractPropositions, &batch, options)
                .await;
            let m = step_meta(&answer);
            meta.prompt_tokens += m.prompt_tokens;
            meta.completion_tokens += m.completion_tokens;
            if m.source != Some(StepSource::Extractive) {
                meta.source = m.source;
            }
            propositions.extend(answer.output.propositions);
        }
    }
    let marks: Vec<Extracted> = messages
        .iter()
        .map(|m| Extracted::new(&m.id.ts, m.posted_at, &m.text))
        .collect();
    let stored =
        store::replace_for_messages(&ctx.db, team_id, &channel.id, &marks, &propositions).await?;
    metrics::counter!("chief_propositions_stored_total").increment(stored as u64);
    metrics::counter!("chief_propositions_messages_total").increment(messages.len() as u64);
    Ok(meta)
}

/// The propositions of a channel window's messages (`msgs`, as one reader may see them, oldest
/// first): what is stored, after extracting the messages never extracted or edited since.
/// Only propositions anchored on one of `msgs` come back — never one of a message the reader
/// cannot see.
pub async fn for_window(
    ctx: &Context,
    team_id: &str,
    channel: &ChannelInfo,
    msgs: &[Message],
    utc_offset_secs: i32,
    priority: Priority,
) -> Result<(Vec<Proposition>, StepMeta), DbError> {
    let (Some(first), Some(last)) = (msgs.first(), msgs.last()) else {
        return Ok((vec![], StepMeta::default()));
    };
    let (from, to) = (first.posted_at, last.posted_at + 1);
    let marks = store::marks(&ctx.db, team_id, &channel.id, from, to).await?;
    let stale: Vec<ChatMessage> = msgs
        .iter()
        .filter(|m| marks.get(&m.ts) != Some(&store::text_hash(&m.text)))
        .map(ChatMessage::from)
        .collect();
    let mut meta = StepMeta::default().source(StepSource::Cache);
    if !stale.is_empty() {
        let known = ctx.people.get(&ctx.db, team_id).await?;
        // Shared work: paid by the team, for no one user.
        let options = CallOptions {
            team_id: Some(team_id.to_string()),
            priority,
            ..CallOptions::default()
        };
        meta = extract_and_store(
            ctx,
            team_id,
            channel,
            &stale,
            &known,
            utc_offset_secs,
            &options,
        )
        .instrument(
            info_span!("extract_propositions", channel_id = %channel.id, messages = stale.len()),
        )
        .await?;
    }
    let visible: BTreeSet<&str> = msgs.iter().map(|m| m.ts.as_str()).collect();
    let propositions = store::in_window(&ctx.db, team_id, &channel.id, from, to)
        .await?
        .into_iter()
        .filter(|p| {
            p.sources
                .iter()
                .all(|s| s.channel_id != channel.id || visible.contains(s.ts.as_str()))
                && p.sources.iter().any(|s| visible.contains(s.ts.as_str()))
        })
        .collect();
    Ok((propositions, meta))
}

/// The propositions of a few messages of one channel (a conversation being explained): what is
/// stored for them, and for those never extracted (or edited since) the extractive engine's, made
/// now and not stored — an explanation must not wait for a model call it did not need.
pub async fn of_messages(
    ctx: &Context,
    team_id: &str,
    channel: &ChannelInfo,
    msgs: &[ChatMessage],
    known_people: &[String],
    utc_offset_secs: i32,
) -> Result<Vec<Proposition>, DbError> {
    use crate::ai::tasks::Task;
    let (Some(from), Some(to)) = (
        msgs.iter().map(|m| m.posted_at).min(),
        msgs.iter().map(|m| m.posted_at).max(),
    ) else {
        return Ok(vec![]);
    };
    let marks = store::marks(&ctx.db, team_id, &channel.id, from, to + 1).await?;
    let ids: BTreeSet<&str> = msgs.iter().map(|m| m.id.ts.as_str()).collect();
    let fresh: BTreeSet<&str> = msgs
        .iter()
        .filter(|m| marks.get(&m.id.ts) == Some(&store::text_hash(&m.text)))
        .map(|m| m.id.ts.as_str())
        .collect();
    let mut out: Vec<Proposition> = store::in_window(&ctx.db, team_id, &channel.id, from, to + 1)
        .await?
        .into_iter()
        .filter(|p| {
            p.sources
                .iter()
                .all(|s| s.channel_id == channel.id && fresh.contains(s.ts.as_str()))
        })
        .collect();
    let stale: Vec<ChatMessage> = msgs
        .iter()
        .filter(|m| ids.contains(m.id.ts.as_str()) && !fresh.contains(m.id.ts.as_str()))
        .filter(|m| worth_extracting(&m.text))
        .cloned()
        .collect();
    if !stale.is_empty() {
        let made = ExtractPropositions.extractive(&PropositionsInput {
            channel: channel.clone(),
            messages: stale,
            known_people: known_people.to_vec(),
            utc_offset_secs,
        });
        out.extend(made.propositions);
    }
    out.sort_by_key(|p| {
        p.sources
            .first()
            .and_then(|s| crate::model::domain::ts_to_epoch(&s.ts))
            .unwrap_or(0)
    });
    Ok(out)
}
