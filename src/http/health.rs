//! `/healthz` (the process is up), `/readyz` (the database answers) and `/metrics` (Prometheus).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.ctx.db.is_reachable().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
    }
}

async fn metrics(State(state): State<AppState>) -> String {
    if let Ok(counts) = crate::platform::db::inbox::counts(&state.ctx.db).await {
        metrics::gauge!("chief_inbox_pending").set(counts.pending as f64);
        metrics::gauge!("chief_inbox_dead").set(counts.dead as f64);
    }
    crate::platform::jobs::worker::refresh_metrics(&state.ctx).await;
    crate::telemetry::render_metrics()
}
