//! The Slack calls click-to-context, `/chief` and the App Home make: views (open, update,
//! publish), ephemeral answers (a `response_url`, else `chat.postEphemeral`) and the workspace URL
//! for permalinks. The conversation window itself is read with `slack::web::{history_between,
//! replies}`, shared with backfill.
//!
//! Views go through slack-morphism's client (its per-tier throttling and 429 retries) but as plain
//! Block Kit JSON, so what chief builds in `slack::blocks` is exactly what Slack receives.
//! A `response_url` is a plain HTTPS webhook: it is posted with `reqwest`.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde_json::{Value, json};
use slack_morphism::prelude::*;

use crate::features::context::Context;
use crate::slack::api::SlackError;
use crate::slack::web::Session;

/// Where a permalink points when the workspace's own URL cannot be learned (Slack redirects it).
pub const FALLBACK_WORKSPACE_URL: &str = "https://slack.com";

/// No client-side throttle for the modal of a click: its `trigger_id` expires three seconds after
/// the click, so holding `views.open` (and the `views.update` that fills it) behind a 100-a-minute
/// Tier 4 budget would make a burst of clicks fail on chief's side. Slack's own limit for Tier 4
/// allows bursts; a 429 it sends is still honoured (`Retry-After`), and a modal that cannot be
/// opened gets its answer ephemerally.
const MODAL: Option<&'static SlackApiMethodRateControlConfig> = None;

async fn post(
    session: &Session<'_>,
    method: &str,
    body: &Value,
    tier: Option<&'static SlackApiMethodRateControlConfig>,
) -> Result<Value, SlackError> {
    session
        .http_session_api
        .http_post::<Value, Value>(method, body, tier)
        .await
        .map_err(SlackError::from)
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
    let v = post(
        session,
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
    match post(session, "views.update", &body, MODAL).await {
        Ok(v) => opened(&v),
        Err(SlackError::Api { code }) if code == "hash_conflict" => {
            let body = json!({"view_id": view.id, "view": content});
            let v = post(session, "views.update", &body, MODAL).await?;
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
    post(
        session,
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
    post(
        session,
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

/// Answers through a `response_url` (ephemeral, a new message rather than a replacement).
/// `Err` carries a reason for the logs.
pub async fn respond(response_url: &str, text: &str, blocks: &[Value]) -> Result<(), String> {
    let url = url::Url::parse(response_url).map_err(|e| format!("bad response_url: {e}"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err("response_url is not HTTP".into());
    }
    let mut body = json!({
        "response_type": "ephemeral",
        "replace_original": false,
        "text": text,
    });
    if !blocks.is_empty() {
        body["blocks"] = json!(blocks);
    }
    let answer = http()
        .post(url)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("response_url unreachable: {e}"))?;
    if answer.status().is_success() {
        Ok(())
    } else {
        Err(format!("response_url answered {}", answer.status()))
    }
}

/// The workspace's URL (`https://acme.slack.com`) for permalinks, learned once per process from
/// `auth.test`; [`FALLBACK_WORKSPACE_URL`] when it cannot be learned.
pub async fn workspace_url(ctx: &Context, team_id: &str) -> String {
    static CACHE: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(url) = cache.lock().ok().and_then(|c| c.get(team_id).cloned()) {
        return url;
    }
    let Ok(token) = ctx.bot_token(team_id).await else {
        return FALLBACK_WORKSPACE_URL.to_string();
    };
    let session = ctx.slack.session(&token);
    match get(&session, "auth.test", vec![], &SLACK_TIER4_METHOD_CONFIG).await {
        Ok(v) => {
            let url = v
                .get("url")
                .and_then(Value::as_str)
                .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
                .map(|u| u.trim_end_matches('/').to_string());
            match url {
                Some(url) => {
                    if let Ok(mut c) = cache.lock() {
                        c.insert(team_id.to_string(), url.clone());
                    }
                    url
                }
                None => FALLBACK_WORKSPACE_URL.to_string(),
            }
        }
        Err(e) => {
            tracing::debug!(team_id, error = %e, "auth.test failed; generic permalinks");
            FALLBACK_WORKSPACE_URL.to_string()
        }
    }
}
