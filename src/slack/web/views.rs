//! Answering a person: the views of click-to-context and the App Home (open, update, publish),
//! and ephemeral answers (a `response_url`, else `chat.postEphemeral`) for `/chief` and for a
//! click whose modal could not be shown.
//!
//! A `response_url` is a plain HTTPS webhook, not a Web API method: it is posted with `reqwest`,
//! outside slack-morphism's rate control (Slack limits it per URL: 5 uses in 30 minutes).

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};
use slack_morphism::prelude::*;

use super::{Session, Tier};
use crate::slack::api::SlackError;

/// No client-side throttle for the modal of a click: its `trigger_id` expires three seconds after
/// the click, so holding `views.open` (and the `views.update` that fills it) behind a 100-a-minute
/// Tier 4 budget would make a burst of clicks fail on chief's side. Slack's own limit for Tier 4
/// allows bursts; a 429 it sends is still honoured (`Retry-After`), and a modal that cannot be
/// opened gets its answer ephemerally.
const MODAL: Tier = None;

/// A view Slack holds: its id and hash (the hash guards `views.update` against stale writes).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OpenView {
    pub id: String,
    pub hash: Option<String>,
}

fn opened(v: &Value) -> Result<OpenView, SlackError> {
    let view = v.get("view").ok_or_else(|| SlackError::Api {
        code: "no_view_in_answer".into(),
    })?;
    let id = view
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| SlackError::Api {
            code: "no_view_id".into(),
        })?;
    Ok(OpenView {
        id: id.to_string(),
        hash: view.get("hash").and_then(Value::as_str).map(str::to_string),
    })
}

/// `views.open` with a trigger (valid three seconds after the click).
pub async fn open_view(
    session: &Session<'_>,
    trigger_id: &str,
    view: &Value,
) -> Result<OpenView, SlackError> {
    let v = session
        .post(
            "views.open",
            &json!({"trigger_id": trigger_id, "view": view}),
            MODAL,
        )
        .await?;
    opened(&v)
}

/// `views.update` of an open view. A `hash_conflict` (the view changed meanwhile) is retried once
/// without the hash: chief's answer is the newest content.
pub async fn update_view(
    session: &Session<'_>,
    view: &OpenView,
    content: &Value,
) -> Result<OpenView, SlackError> {
    let mut body = json!({"view_id": view.id, "view": content});
    if let Some(hash) = &view.hash {
        body["hash"] = json!(hash);
    }
    match session.post("views.update", &body, MODAL).await {
        Ok(v) => opened(&v),
        Err(SlackError::Api { code }) if code == "hash_conflict" => {
            let body = json!({"view_id": view.id, "view": content});
            let v = session.post("views.update", &body, MODAL).await?;
            opened(&v)
        }
        Err(e) => Err(e),
    }
}

/// `views.publish`: the user's App Home tab.
pub async fn publish_view(
    session: &Session<'_>,
    user_id: &str,
    view: &Value,
) -> Result<(), SlackError> {
    session
        .post(
            "views.publish",
            &json!({"user_id": user_id, "view": view}),
            Some(&SLACK_TIER4_METHOD_CONFIG),
        )
        .await
        .map(|_| ())
}

/// `chat.postEphemeral`: only `user_id` sees it (the last resort when there is no response URL).
pub async fn post_ephemeral(
    session: &Session<'_>,
    channel_id: &str,
    user_id: &str,
    text: &str,
    blocks: &[Value],
) -> Result<(), SlackError> {
    session
        .post(
            "chat.postEphemeral",
            &json!({"channel": channel_id, "user": user_id, "text": text, "blocks": blocks}),
            Some(&SLACK_TIER4_METHOD_CONFIG),
        )
        .await
        .map(|_| ())
}

fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default()
    })
}

/// Why a `response_url` answer did not go out (logged; the caller falls back).
#[derive(Debug, thiserror::Error)]
pub enum ResponseUrlError {
    #[error("bad response_url: {0}")]
    BadUrl(#[from] url::ParseError),
    #[error("response_url is not HTTP")]
    NotHttp,
    #[error("response_url unreachable: {0}")]
    Unreachable(#[source] reqwest::Error),
    #[error("response_url answered {0}")]
    Status(reqwest::StatusCode),
}

/// Answers through a `response_url` (ephemeral, a new message rather than a replacement).
pub async fn respond(
    response_url: &str,
    text: &str,
    blocks: &[Value],
) -> Result<(), ResponseUrlError> {
    let mut body = json!({
        "response_type": "ephemeral",
        "replace_original": false,
        "text": text,
    });
    if !blocks.is_empty() {
        body["blocks"] = json!(blocks);
    }
    post_response_url(response_url, &body).await
}

/// Replaces the message a `response_url` came from (a briefing DM whose story was acknowledged,
/// when chief does not know the message's ts).
pub async fn replace_original(
    response_url: &str,
    text: &str,
    blocks: &[Value],
) -> Result<(), ResponseUrlError> {
    let body = json!({"replace_original": true, "text": text, "blocks": blocks});
    post_response_url(response_url, &body).await
}

async fn post_response_url(response_url: &str, body: &Value) -> Result<(), ResponseUrlError> {
    let url = url::Url::parse(response_url)?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(ResponseUrlError::NotHttp);
    }
    let answer = http()
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(ResponseUrlError::Unreachable)?;
    if answer.status().is_success() {
        Ok(())
    } else {
        Err(ResponseUrlError::Status(answer.status()))
    }
}
