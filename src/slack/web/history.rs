//! Reading conversations: pages of `conversations.history` (backfill, and the window around a
//! message that click-to-context explains) and of `conversations.replies` (threads), messages
//! kept as JSON for the tolerant readers in `slack::convert`.

use serde_json::Value;
use slack_morphism::prelude::*;

use super::{Page, Session, next_cursor};
use crate::slack::api::SlackError;

/// One page of messages of `channel_id` from `conversations.history` or `.replies` (both
/// Tier 3); `which` says which messages (a time window, a thread).
async fn page(
    session: &Session<'_>,
    method: &str,
    channel_id: &str,
    which: Vec<(&str, Option<String>)>,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<Value>, SlackError> {
    let mut params = vec![("channel", Some(channel_id.to_string()))];
    params.extend(which);
    params.push(("cursor", cursor.map(str::to_string)));
    params.push(("limit", Some(limit.to_string())));
    let v = session
        .get(method, params, Some(&SLACK_TIER3_METHOD_CONFIG))
        .await?;
    Ok(Page {
        items: v
            .get("messages")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        next_cursor: next_cursor(&v),
    })
}

/// One page of `conversations.history` (newest first, as Slack returns it), messages as JSON.
pub async fn history(
    session: &Session<'_>,
    channel_id: &str,
    oldest: Option<&str>,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<Value>, SlackError> {
    page(
        session,
        "conversations.history",
        channel_id,
        vec![("oldest", oldest.map(str::to_string))],
        cursor,
        limit,
    )
    .await
}

/// One page of `conversations.history` between `oldest` and `latest`, both inclusive (the
/// window around a message that click-to-context explains).
pub async fn history_between(
    session: &Session<'_>,
    channel_id: &str,
    oldest: &str,
    latest: &str,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<Value>, SlackError> {
    page(
        session,
        "conversations.history",
        channel_id,
        vec![
            ("oldest", Some(oldest.to_string())),
            ("latest", Some(latest.to_string())),
            ("inclusive", Some("true".into())),
        ],
        cursor,
        limit,
    )
    .await
}

/// One page of `conversations.replies` for the thread `ts` (the parent comes first, on every page).
pub async fn replies(
    session: &Session<'_>,
    channel_id: &str,
    ts: &str,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<Value>, SlackError> {
    page(
        session,
        "conversations.replies",
        channel_id,
        vec![("ts", Some(ts.to_string()))],
        cursor,
        limit,
    )
    .await
}
