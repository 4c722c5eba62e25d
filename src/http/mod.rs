//! The HTTP edge: Slack's request URLs, health and metrics.

mod error;
mod health;
mod oauth;
mod slack;

pub use error::HttpError;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tower_http::trace::TraceLayer;

use crate::features::Context;
use crate::inbox::intake::Intake;
use crate::slack::signature::Verifier;

/// Slack never sends more than a few kilobytes; anything over this is refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Shared by every route.
#[derive(Clone)]
pub struct AppState {
    pub ctx: Arc<Context>,
    /// Where every verified request is stored before it is acknowledged.
    pub intake: Arc<Intake>,
    pub verifier: Verifier,
    /// The clock used for the signature's replay window; tests freeze it.
    pub clock: fn() -> i64,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(slack::router())
        .merge(health::router())
        .merge(oauth::router())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                // The path, never the query string (OAuth codes travel there). Team and user are
                // recorded once the signed body has been read (`slack::record_ids`).
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(),
                    team_id = tracing::field::Empty, user_id = tracing::field::Empty)
            }),
        )
        .with_state(state)
}
