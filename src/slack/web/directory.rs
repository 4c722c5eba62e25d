//! Who and where, for ingestion: people (`users.info`), channels (`conversations.info`), their
//! members and the channels chief's bot is in.

use serde_json::Value;
use slack_morphism::prelude::*;

use super::{Page, Session, next_cursor};
use crate::model::events::{Channel, User};
use crate::slack::api::SlackError;
use crate::slack::convert::{channel_from_json, strings_at, user_from_json};

/// `users.info`; `None` when the answer holds no usable user. With `include_locale`, because
/// Slack leaves the user's locale out otherwise, and it is the language briefings and
/// explanations are written in when the user set none.
pub async fn user_info(session: &Session<'_>, user_id: &str) -> Result<Option<User>, SlackError> {
    let v = session
        .get(
            "users.info",
            vec![
                ("user", Some(user_id.to_string())),
                ("include_locale", Some("true".into())),
            ],
            Some(&SLACK_TIER4_METHOD_CONFIG),
        )
        .await?;
    Ok(v.get("user").and_then(user_from_json))
}

/// `conversations.info`: the channel and whether chief's bot is in it.
pub async fn conversation_info(
    session: &Session<'_>,
    channel_id: &str,
) -> Result<Option<(Channel, bool)>, SlackError> {
    let v = session
        .get(
            "conversations.info",
            vec![("channel", Some(channel_id.to_string()))],
            Some(&SLACK_TIER3_METHOD_CONFIG),
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
    let v = session
        .get(
            "conversations.members",
            vec![
                ("channel", Some(channel_id.to_string())),
                ("cursor", cursor.map(str::to_string)),
                ("limit", Some("1000".into())),
            ],
            Some(&SLACK_TIER4_METHOD_CONFIG),
        )
        .await?;
    Ok(Page {
        items: strings_at(&v, &["members"]),
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
        if !super::advance(&mut cursor, page.next_cursor) {
            return Ok(members);
        }
    }
}

/// One page of the channels chief's bot is in (`users.conversations`).
pub async fn bot_conversations(
    session: &Session<'_>,
    cursor: Option<&str>,
) -> Result<Page<Channel>, SlackError> {
    let v = session
        .get(
            "users.conversations",
            vec![
                ("types", Some("public_channel,private_channel".into())),
                ("exclude_archived", Some("true".into())),
                ("cursor", cursor.map(str::to_string)),
                ("limit", Some("200".into())),
            ],
            Some(&SLACK_TIER3_METHOD_CONFIG),
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
