//! The propositions agent: turns new and edited messages, in batches, into short structured
//! statements (who did or said what, about what, when) and stores them linked to their messages.
//!
//! It subscribes to the event bus (`message_posted`, `message_edited`), groups what it polls by
//! channel, sends each channel's messages through `ExtractPropositions` in batches that fit the
//! token limit (one gateway call per batch), and replaces the stored propositions of those messages
//! — so a redelivered batch or an edit never leaves duplicates. A deleted message takes its
//! propositions with it (`db::purge`). Bulk history (imports, backfills) is not extracted here.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info_span, warn};

use crate::ai::llm::CallOptions;
use crate::ai::tasks::types::{ChannelInfo, ChatMessage, MessageRef};
use crate::ai::tasks::{ExtractPropositions, PropositionsInput, propositions::batches_by_tokens};
use crate::features::context::Context;
use crate::model::events::{DomainEvent, EventKind, PostedMessage};
use crate::platform::bus::{self, Subscription};
use crate::platform::db::{directory, propositions as store};

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
        extract_channel(ctx, &team_id, &channel_id, &messages)
            .instrument(info_span!("propositions", team_id = %team_id, channel_id = %channel_id, messages = messages.len()))
            .await?;
    }
    bus::ack(&ctx.db, sub, polled.up_to).await?;
    Ok(handled)
}

async fn extract_channel(
    ctx: &Context,
    team_id: &str,
    channel_id: &str,
    messages: &[PostedMessage],
) -> anyhow::Result<()> {
    let channel_name = directory::channel_names(&ctx.db, team_id, &[channel_id.to_string()])
        .await?
        .remove(channel_id)
        .unwrap_or_else(|| channel_id.to_string());
    let authors: Vec<String> = messages.iter().filter_map(|m| m.user_id.clone()).collect();
    let names = directory::user_names(&ctx.db, team_id, &authors).await?;
    let input = PropositionsInput {
        channel: ChannelInfo {
            id: channel_id.to_string(),
            name: channel_name,
        },
        messages: messages
            .iter()
            .map(|m| ChatMessage {
                id: MessageRef {
                    channel_id: channel_id.to_string(),
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
            .collect(),
        known_people: names.values().cloned().collect(),
        utc_offset_secs: 0,
    };
    let options = CallOptions::background(team_id);
    let mut propositions = Vec::new();
    for batch in batches_by_tokens(&input, BATCH_TOKENS) {
        let answer = ctx
            .llm
            .run_or_extractive(&ExtractPropositions, &batch, &options)
            .await;
        propositions.extend(answer.output.propositions);
    }
    let anchors: Vec<(String, i64)> = messages
        .iter()
        .map(|m| (m.ts.clone(), m.posted_at))
        .collect();
    let stored =
        store::replace_for_messages(&ctx.db, team_id, channel_id, &anchors, &propositions).await?;
    metrics::counter!("chief_propositions_stored_total").increment(stored as u64);
    Ok(())
}
