//! Slack's three request URLs. Each verifies the signature on the raw body, stores the request in
//! the inbox and acknowledges; nothing here waits on Slack or a model.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use tracing::{info, warn};

use super::{AppState, HttpError};
use crate::slack::envelope::{self, Envelope, Inbound};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/slack/events", post(events))
        .route("/slack/interactions", post(interactions))
        .route("/slack/commands", post(commands))
}

/// Checks `X-Slack-Signature` against the raw body; any failure is a 401 and nothing is stored.
fn verify(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<(), HttpError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    state
        .verifier
        .verify(
            header("x-slack-signature"),
            header("x-slack-request-timestamp"),
            body,
            (state.clock)(),
        )
        .map_err(|e| HttpError::Unauthorized(e.to_string()))
}

/// Names the team and user on the request's span (logs and traces).
fn record_ids(inbound: &Inbound) {
    let span = tracing::Span::current();
    if let Some(team) = &inbound.team_id {
        span.record("team_id", team.as_str());
    }
    if let Some(user) = &inbound.user_id {
        span.record("user_id", user.as_str());
    }
}

async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HttpError> {
    verify(&state, &headers, &body)?;
    match envelope::parse_event(&body).map_err(|e| HttpError::BadRequest(e.to_string()))? {
        Envelope::UrlVerification { challenge } => {
            Ok(Json(json!({ "challenge": challenge })).into_response())
        }
        Envelope::EventCallback(inbound) => {
            record_ids(&inbound);
            if let Some(retry) = headers.get("x-slack-retry-num") {
                info!(retry = ?retry, key = %inbound.dedupe_key, "Slack retry");
            }
            state.intake.accept(&inbound).await?;
            Ok(().into_response())
        }
        Envelope::AppRateLimited { team_id } => {
            warn!(
                team_id = team_id.as_deref().unwrap_or("-"),
                "Slack dropped events for this team (app_rate_limited)"
            );
            Ok(().into_response())
        }
        Envelope::Other { kind } => {
            warn!(%kind, "unknown Events API envelope acknowledged and skipped");
            Ok(().into_response())
        }
    }
}

/// What the interactivity and command URLs do before they answer: check the signature (401),
/// read the body with `parse` (400 with the reason), and store the request (persist, then ack).
async fn store_signed(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    parse: fn(&[u8]) -> Result<Inbound, envelope::PayloadError>,
) -> Result<Inbound, HttpError> {
    verify(state, headers, body)?;
    let inbound = parse(body).map_err(|e| HttpError::BadRequest(e.to_string()))?;
    record_ids(&inbound);
    state.intake.accept(&inbound).await?;
    Ok(inbound)
}

async fn interactions(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HttpError> {
    store_signed(&state, &headers, &body, envelope::parse_interaction).await?;
    Ok(().into_response())
}

async fn commands(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HttpError> {
    let inbound = store_signed(&state, &headers, &body, envelope::parse_command).await?;
    // Stored first; then the cheap answers (help, mistakes) go in the ack itself, computed from
    // the command text alone. The rest follows through the response URL (see features::command).
    let payload: serde_json::Value = serde_json::from_str(&inbound.payload).unwrap_or_default();
    Ok(match crate::features::command::immediate_reply(&payload) {
        Some(reply) => Json(reply).into_response(),
        None => ().into_response(),
    })
}
