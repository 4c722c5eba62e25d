//! Multi-workspace install: `/slack/install` sends the user to Slack with a one-time `state`;
//! `/slack/oauth/callback` checks it, exchanges the code and stores the bot token encrypted.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use tracing::{info, warn};

use super::AppState;
use crate::platform::db::{oauth, teams};
use crate::slack;

/// How long an install link stays valid.
const STATE_MAX_AGE_SECS: i64 = 600;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/slack/install", get(install))
        .route("/slack/oauth/callback", get(callback))
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>chief — {title}</title></head>\
         <body style=\"font-family:sans-serif;max-width:36em;margin:4em auto\"><h1>{title}</h1><p>{body}</p></body></html>"
    );
    (status, Html(html)).into_response()
}

fn redirect_uri(state: &AppState) -> Option<String> {
    state
        .ctx
        .config
        .public_url
        .as_deref()
        .map(|base| format!("{}/slack/oauth/callback", base.trim_end_matches('/')))
}

async fn install(State(state): State<AppState>) -> Response {
    let config = &state.ctx.config;
    let Some(client_id) = config
        .client_id
        .as_deref()
        .filter(|_| config.oauth_enabled())
    else {
        return page(
            StatusCode::NOT_FOUND,
            "Install is not enabled",
            "This chief serves one workspace. Set SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and CHIEF_SECRET_KEY to install it in several.",
        );
    };
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    if let Err(e) = oauth::insert_state(&state.ctx.db, &nonce).await {
        warn!(error = %e, "cannot store OAuth state");
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Try again",
            "chief cannot reach its database right now.",
        );
    }
    let url = slack::oauth::authorize_url(
        &config.slack_api_url,
        client_id,
        &nonce,
        redirect_uri(&state).as_deref(),
    );
    Redirect::to(&url).into_response()
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(State(state): State<AppState>, Query(query): Query<Callback>) -> Response {
    let ctx = &state.ctx;
    let (Some(client_id), Some(client_secret), Some(cipher)) = (
        ctx.config.client_id.as_deref(),
        ctx.config.client_secret.as_ref(),
        ctx.cipher.as_ref(),
    ) else {
        return page(
            StatusCode::NOT_FOUND,
            "Install is not enabled",
            "This chief serves one workspace.",
        );
    };
    if let Some(error) = query.error {
        return page(
            StatusCode::OK,
            "Not installed",
            &format!("Slack said: {}.", html_escape(&error)),
        );
    }
    let (Some(code), Some(nonce)) = (query.code, query.state) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The link is missing its code or state.",
        );
    };
    match oauth::take_state(&ctx.db, &nonce, STATE_MAX_AGE_SECS).await {
        Ok(true) => {}
        Ok(false) => {
            warn!("OAuth callback with an unknown or expired state");
            return page(
                StatusCode::BAD_REQUEST,
                "This install link has expired",
                "Start again from the install page.",
            );
        }
        Err(e) => {
            warn!(error = %e, "cannot check OAuth state");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "chief cannot reach its database right now.",
            );
        }
    }
    let installation = match slack::oauth::exchange_code(
        &ctx.slack,
        client_id,
        client_secret,
        &code,
        redirect_uri(&state).as_deref(),
    )
    .await
    {
        Ok(installation) => installation,
        Err(e) => {
            warn!(error = %e, "OAuth code exchange failed");
            return page(
                StatusCode::BAD_GATEWAY,
                "Not installed",
                "Slack did not confirm the install. Please try again.",
            );
        }
    };
    let team = teams::Team {
        team_id: installation.team_id.clone(),
        name: installation.team_name.clone(),
        bot_user_id: installation.bot_user_id.clone(),
        bot_id: None,
        bot_token_enc: Some(cipher.seal(&installation.bot_token)),
        status: teams::TeamStatus::Active,
    };
    if let Err(e) = teams::upsert(&ctx.db, &team).await {
        warn!(error = %e, "cannot store the installed team");
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Try again",
            "chief cannot reach its database right now.",
        );
    }
    info!(team_id = %installation.team_id, "installed");
    let name = installation
        .team_name
        .as_deref()
        .unwrap_or("your workspace");
    page(
        StatusCode::OK,
        "chief is installed",
        &format!(
            "chief is now part of {}. Invite @chief to the channels it should read; your first briefing arrives tomorrow morning.",
            html_escape(name)
        ),
    )
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
