//! One error type for every route: client errors carry a reason, server errors are logged and
//! answered without detail.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tracing::{error, warn};

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("payload too large")]
    TooLarge,
    #[error("internal error: {0}")]
    Internal(String),
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = match &self {
            HttpError::Unauthorized(reason) => {
                warn!(%reason, "request refused");
                StatusCode::UNAUTHORIZED
            }
            HttpError::BadRequest(reason) => {
                warn!(%reason, "malformed request");
                StatusCode::BAD_REQUEST
            }
            HttpError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            HttpError::Internal(reason) => {
                error!(%reason, "request failed");
                return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
            }
        };
        metrics::counter!("chief_http_rejected_total", "status" => status.as_str().to_string())
            .increment(1);
        (status, self.to_string()).into_response()
    }
}

impl From<crate::platform::db::DbError> for HttpError {
    fn from(e: crate::platform::db::DbError) -> Self {
        HttpError::Internal(e.to_string())
    }
}
