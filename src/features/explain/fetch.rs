//! Reading a conversation from Slack when the store lacks it: the ±1 h window
//! (`conversations.history`) and threads (`conversations.replies`), stored through ingestion's own
//! conversion and upsert, so that [`super::gather`] reads them back through the privacy boundary.
//! The Slack side of gathering; `gather` itself knows only the store and the task inputs.

use std::collections::BTreeSet;

use serde_json::Value;
use tracing::debug;

use super::ExplainError;
use super::gather::{MAX_PAGES, WINDOW_SECS};
use crate::features::context::Context;
use crate::model::domain::ts_to_epoch;
use crate::platform::db::messages::{self, Source};
use crate::slack::convert::{self, Options};
use crate::slack::web;

fn slack_failure(channel_id: &str, e: crate::slack::api::SlackError) -> ExplainError {
    match e.code() {
        Some("not_in_channel" | "channel_not_found" | "missing_scope") => {
            ExplainError::CannotRead {
                channel_id: channel_id.to_string(),
            }
        }
        _ => ExplainError::Slack(e.to_string()),
    }
}

/// Fetches the channel's messages within ±[`WINDOW_SECS`](super::gather::WINDOW_SECS) of `clicked_at` (and the thread named by
/// the click, or the clicked message's own thread) and stores them.
pub(super) async fn fetch_window(
    ctx: &Context,
    team_id: &str,
    channel_id: &str,
    clicked_at: i64,
    thread_hint: Option<&str>,
) -> Result<(), ExplainError> {
    let token = ctx
        .bot_token(team_id)
        .await
        .map_err(|e| ExplainError::Token(e.to_string()))?;
    let session = ctx.slack.session(&token);
    let oldest = format!("{}.000000", clicked_at - WINDOW_SECS);
    let latest = format!("{}.999999", clicked_at + WINDOW_SECS);
    let mut items: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = web::history_between(
            &session,
            channel_id,
            &oldest,
            &latest,
            cursor.as_deref(),
            200,
        )
        .await
        .map_err(|e| slack_failure(channel_id, e))?;
        items.extend(page.items);
        if !web::advance(&mut cursor, page.next_cursor) {
            break;
        }
    }
    debug!(
        team_id,
        channel_id,
        fetched = items.len(),
        "history window fetched"
    );
    // Threads to complete: the one the click names, or the clicked message's own.
    let mut threads: BTreeSet<String> = thread_hint.map(str::to_string).into_iter().collect();
    let clicked_thread = items.iter().find_map(|m| {
        let ts = m.get("ts").and_then(Value::as_str)?;
        (ts_to_epoch(ts) == Some(clicked_at)).then_some(())?;
        let replies = m.get("reply_count").and_then(Value::as_i64).unwrap_or(0);
        let thread = m.get("thread_ts").and_then(Value::as_str);
        (replies > 0).then(|| thread.unwrap_or(ts).to_string())
    });
    threads.extend(clicked_thread);
    store(ctx, team_id, channel_id, &items).await?;
    for thread in threads {
        fetch_thread_with(ctx, &session, team_id, channel_id, &thread).await?;
    }
    Ok(())
}

pub(super) async fn fetch_thread(
    ctx: &Context,
    team_id: &str,
    channel_id: &str,
    thread_ts: &str,
) -> Result<(), ExplainError> {
    let token = ctx
        .bot_token(team_id)
        .await
        .map_err(|e| ExplainError::Token(e.to_string()))?;
    let session = ctx.slack.session(&token);
    fetch_thread_with(ctx, &session, team_id, channel_id, thread_ts).await
}

async fn fetch_thread_with(
    ctx: &Context,
    session: &web::Session<'_>,
    team_id: &str,
    channel_id: &str,
    thread_ts: &str,
) -> Result<(), ExplainError> {
    let mut items: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = web::replies(session, channel_id, thread_ts, cursor.as_deref(), 200)
            .await
            .map_err(|e| slack_failure(channel_id, e))?;
        for m in page.items {
            // Slack repeats the parent on every page.
            let ts = m.get("ts").and_then(Value::as_str).unwrap_or_default();
            if !items
                .iter()
                .any(|x| x.get("ts").and_then(Value::as_str) == Some(ts))
            {
                items.push(m);
            }
        }
        if !web::advance(&mut cursor, page.next_cursor) {
            break;
        }
    }
    debug!(
        team_id,
        channel_id,
        thread_ts,
        fetched = items.len(),
        "thread fetched"
    );
    store(ctx, team_id, channel_id, &items).await
}

/// Stores fetched messages the way backfill does: names resolved, chief's own and (unless
/// configured) other bots' messages skipped, idempotent upserts.
async fn store(
    ctx: &Context,
    team_id: &str,
    channel_id: &str,
    items: &[Value],
) -> Result<(), ExplainError> {
    if items.is_empty() {
        return Ok(());
    }
    let internal = |e: crate::features::ingest::directory::DirectoryError| {
        ExplainError::Internal(e.to_string())
    };
    let identity = crate::features::ingest::directory::bot_identity(ctx, team_id)
        .await
        .map_err(internal)?;
    let mut refs = crate::slack::markup::Refs::default();
    for m in items {
        refs.extend(convert::message_refs(m));
    }
    crate::features::ingest::directory::ensure_users(ctx, team_id, &refs.users)
        .await
        .map_err(internal)?;
    let names = crate::features::ingest::directory::names(ctx, team_id, &refs).await?;
    let options = Options {
        bot: identity.as_ref(),
        ingest_bot_messages: ctx.config.ingest_bot_messages,
    };
    let mut tx = ctx.db.begin_write().await?;
    for m in items {
        match convert::message_from_json(m, channel_id, &options, &names) {
            Ok(message) => {
                messages::upsert(&mut tx, team_id, &message, Source::Backfill).await?;
            }
            Err(skip) => debug!(%skip, "fetched message not stored"),
        }
    }
    tx.commit()
        .await
        .map_err(crate::platform::db::DbError::from)?;
    Ok(())
}
