//! The Web API calls ingestion makes, read tolerantly.
//!
//! They go through slack-morphism's client (so its per-tier throttling and its `Retry-After`
//! retries on 429 apply) but decode the answer as plain JSON and read it with the same tolerant
//! readers as events: one message block type slack-morphism's models do not know must not make a
//! whole `conversations.history` page unreadable.

use serde_json::Value;
use slack_morphism::prelude::*;

use crate::model::events::{Channel, User};
use crate::slack::api::{Connector, SlackError};
use crate::slack::events::{channel_from_json, user_from_json};

pub type Session<'a> = SlackClientSession<'a, Connector>;

/// One page of a cursor-paginated list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The cursor of the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

/// Who chief is in a workspace (`auth.test`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthInfo {
    pub team_id: Option<String>,
    pub team_name: Option<String>,
    pub user_id: Option<String>,
    pub bot_id: Option<String>,
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn next_cursor(v: &Value) -> Option<String> {
    v.get("response_metadata")
        .and_then(|m| text(m, "next_cursor"))
}

async fn get(
    session: &Session<'_>,
    method: &str,
    params: Vec<(&str, Option<String>)>,
    tier: &'static SlackApiMethodRateControlConfig,
) -> Result<Value, SlackError> {
    session
        .http_session_api
        .http_get::<Value, _, String>(method, &params, Some(tier))
        .await
        .map_err(SlackError::from)
}

pub async fn auth_test(session: &Session<'_>) -> Result<AuthInfo, SlackError> {
    let v = get(session, "auth.test", vec![], &SLACK_TIER4_METHOD_CONFIG).await?;
    Ok(AuthInfo {
        team_id: text(&v, "team_id"),
        team_name: text(&v, "team"),
        user_id: text(&v, "user_id"),
        bot_id: text(&v, "bot_id"),
    })
}

/// `users.info`; `None` when the answer holds no usable user.
pub async fn user_info(session: &Session<'_>, user_id: &str) -> Result<Option<User>, SlackError> {
    let v = get(
        session,
        "users.info",
        vec![("user", Some(user_id.to_string()))],
        &SLACK_TIER4_METHOD_CONFIG,
    )
    .await?;
    Ok(v.get("user").and_then(user_from_json))
}

/// `conversations.info`: the channel and whether chief's bot is in it.
pub async fn conversation_info(
    session: &Session<'_>,
    channel_id: &str,
) -> Result<Option<(Channel, bool)>, SlackError> {
    let v = get(
        session,
        "conversations.info",
        vec![("channel", Some(channel_id.to_string()))],
        &SLACK_TIER3_METHOD_CONFIG,
    )
    .await?;
    Ok(v.get("channel").and_then(channel_from_json))
}

/// One page of `conversations.members`.
pub async fn conversation_members(
    session: &Session<'_>,
    channel_id: &str,
    cursor: Option<&str>,
) -> Result<Page<String>, SlackError> {
    let v = get(
        session,
        "conversations.members",
        vec![
            ("channel", Some(channel_id.to_string())),
            ("cursor", cursor.map(str::to_string)),
            ("limit", Some("1000".into())),
        ],
        &SLACK_TIER4_METHOD_CONFIG,
    )
    .await?;
    let items = v
        .get("members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    Ok(Page {
        items,
        next_cursor: next_cursor(&v),
    })
}

/// Every member of a channel, following the cursor.
pub async fn all_conversation_members(
    session: &Session<'_>,
    channel_id: &str,
) -> Result<Vec<String>, SlackError> {
    let mut members = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = conversation_members(session, channel_id, cursor.as_deref()).await?;
        members.extend(page.items);
        match page.next_cursor {
            Some(next) if Some(&next) != cursor.as_ref() => cursor = Some(next),
            _ => return Ok(members),
        }
    }
}

fn messages(v: &Value) -> Vec<Value> {
    v.get("messages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// One page of `conversations.history` (newest first, as Slack returns it), messages as JSON.
pub async fn history(
    session: &Session<'_>,
    channel_id: &str,
    oldest: Option<&str>,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<Value>, SlackError> {
    let v = get(
        session,
        "conversations.history",
        vec![
            ("channel", Some(channel_id.to_string())),
            ("oldest", oldest.map(str::to_string)),
            ("cursor", cursor.map(str::to_string)),
            ("limit", Some(limit.to_string())),
        ],
        &SLACK_TIER3_METHOD_CONFIG,
    )
    .await?;
    Ok(Page {
        items: messages(&v),
        next_cursor: next_cursor(&v),
    })
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
    let v = get(
        session,
        "conversations.history",
        vec![
            ("channel", Some(channel_id.to_string())),
            ("oldest", Some(oldest.to_string())),
            ("latest", Some(latest.to_string())),
            ("inclusive", Some("true".into())),
            ("cursor", cursor.map(str::to_string)),
            ("limit", Some(limit.to_string())),
        ],
        &SLACK_TIER3_METHOD_CONFIG,
    )
    .await?;
    Ok(Page {
        items: messages(&v),
        next_cursor: next_cursor(&v),
    })
}

/// One page of `conversations.replies` for the thread `ts` (the parent comes first, on every page).
pub async fn replies(
    session: &Session<'_>,
    channel_id: &str,
    ts: &str,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<Value>, SlackError> {
    let v = get(
        session,
        "conversations.replies",
        vec![
            ("channel", Some(channel_id.to_string())),
            ("ts", Some(ts.to_string())),
            ("cursor", cursor.map(str::to_string)),
            ("limit", Some(limit.to_string())),
        ],
        &SLACK_TIER3_METHOD_CONFIG,
    )
    .await?;
    Ok(Page {
        items: messages(&v),
        next_cursor: next_cursor(&v),
    })
}

/// One page of the channels chief's bot is in (`users.conversations`).
pub async fn bot_conversations(
    session: &Session<'_>,
    cursor: Option<&str>,
) -> Result<Page<Channel>, SlackError> {
    let v = get(
        session,
        "users.conversations",
        vec![
            ("types", Some("public_channel,private_channel".into())),
            ("exclude_archived", Some("true".into())),
            ("cursor", cursor.map(str::to_string)),
            ("limit", Some("200".into())),
        ],
        &SLACK_TIER3_METHOD_CONFIG,
    )
    .await?;
    let items = v
        .get("channels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(channel_from_json)
        .map(|(c, _)| c)
        .collect();
    Ok(Page {
        items,
        next_cursor: next_cursor(&v),
    })
}
