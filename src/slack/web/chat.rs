//! chief's own messages: opening a DM (`conversations.open`), posting into it
//! (`chat.postMessage`) and updating a posted message in place (`chat.update`). Briefing delivery
//! decides when and whether to send; this only speaks to Slack.

use serde_json::{Value, json};
use slack_morphism::prelude::*;

use super::Session;
use crate::slack::api::SlackError;
use crate::slack::convert::text_at;

/// Opens (or finds) the DM between chief and `user_id`; its channel id.
pub async fn open_dm(session: &Session<'_>, user_id: &str) -> Result<String, SlackError> {
    let opened = session
        .post(
            "conversations.open",
            &json!({"users": user_id}),
            Some(&SLACK_TIER3_METHOD_CONFIG),
        )
        .await?;
    text_at(&opened, &["channel", "id"]).ok_or_else(|| {
        SlackError::Transport("conversations.open answered without a channel".into())
    })
}

/// Posts Block Kit `blocks` with their plain-text fallback `text` into `channel_id`; the
/// message's ts (empty when Slack's answer names none).
///
/// Link and media unfurls are off: chief's messages carry permalinks to the conversations they
/// summarise, and previews of those would bury the message itself.
pub async fn post_message(
    session: &Session<'_>,
    channel_id: &str,
    text_fallback: &str,
    blocks: &[Value],
) -> Result<String, SlackError> {
    let posted = session
        .post(
            "chat.postMessage",
            &json!({
                "channel": channel_id,
                "text": text_fallback,
                "blocks": blocks,
                "unfurl_links": false,
                "unfurl_media": false,
            }),
            Some(&SLACK_TIER4_METHOD_CONFIG),
        )
        .await?;
    Ok(text_at(&posted, &["ts"])
        .or_else(|| text_at(&posted, &["message", "ts"]))
        .unwrap_or_default())
}

/// Replaces the content of message `ts` in `channel_id`.
pub async fn update_message(
    session: &Session<'_>,
    channel_id: &str,
    ts: &str,
    text_fallback: &str,
    blocks: &[Value],
) -> Result<(), SlackError> {
    session
        .post(
            "chat.update",
            &json!({
                "channel": channel_id,
                "ts": ts,
                "text": text_fallback,
                "blocks": blocks,
            }),
            Some(&SLACK_TIER3_METHOD_CONFIG),
        )
        .await
        .map(|_| ())
}
