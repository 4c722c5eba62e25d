//! Slack's Web API under chief's client (`slack::web`): slack-morphism's connector type, and
//! the one mapping of its errors into [`SlackError`].
//!
//! Errors are mapped once here, so the rest of chief reasons about Slack's answers (rate limited,
//! not in channel, auth revoked…) without knowing slack-morphism's types.

use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use slack_morphism::errors::*;
use slack_morphism::prelude::*;

pub type Connector = SlackClientHyperConnector<HttpsConnector<HttpConnector>>;
pub type Client = SlackClient<Connector>;

/// A Slack Web API failure, as chief acts on it.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    /// Still rate limited after the client's own retries.
    #[error("rate limited by Slack (retry after {retry_after:?})")]
    RateLimited { retry_after: Option<Duration> },
    /// The token no longer works: stop working for this team.
    #[error("Slack rejected the token ({code})")]
    AuthRevoked { code: String },
    /// Slack answered `ok: false` with this error code (`not_in_channel`, `channel_not_found`…).
    #[error("Slack API error {code}")]
    Api { code: String },
    /// Network, HTTP 5xx or an unreadable answer: worth retrying later.
    #[error("Slack unreachable: {0}")]
    Transport(String),
}

impl SlackError {
    /// Worth trying again later (as opposed to a permanent answer).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SlackError::RateLimited { .. } | SlackError::Transport(_)
        ) || matches!(self, SlackError::Api { code } if code == "ratelimited" || code == "internal_error" || code == "fatal_error" || code == "service_unavailable" || code == "request_timeout")
    }

    /// The Slack error code, when Slack gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            SlackError::Api { code } | SlackError::AuthRevoked { code } => Some(code),
            _ => None,
        }
    }
}

/// Lets features wrap a Slack failure and hand the retry decision (and Slack's `Retry-After`) on
/// to the inbox and the job queue unchanged.
impl crate::platform::retry::Retryable for SlackError {
    fn is_transient(&self) -> bool {
        SlackError::is_transient(self)
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            SlackError::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

impl From<SlackClientError> for SlackError {
    fn from(err: SlackClientError) -> Self {
        let error = match err {
            SlackClientError::ApiError(api) => match api.code.as_str() {
                "invalid_auth" | "account_inactive" | "token_revoked" | "token_expired"
                | "not_authed" => SlackError::AuthRevoked { code: api.code },
                "ratelimited" => SlackError::RateLimited { retry_after: None },
                _ => SlackError::Api { code: api.code },
            },
            SlackClientError::RateLimitError(rate) => SlackError::RateLimited {
                retry_after: rate.retry_after,
            },
            // slack-morphism's messages for these embed the whole response body — message
            // text of a history page, or the bot token of an `oauth.v2.access` answer — and
            // these errors are logged and stored: keep the status and position only.
            SlackClientError::HttpError(http) => {
                SlackError::Transport(format!("HTTP {}", http.status_code))
            }
            SlackClientError::ProtocolError(protocol) => {
                let e = &protocol.json_error;
                SlackError::Transport(format!(
                    "unreadable answer ({:?} error at line {}, column {})",
                    e.classify(),
                    e.line(),
                    e.column()
                ))
            }
            other => SlackError::Transport(other.to_string()),
        };
        metrics::counter!("chief_slack_api_errors_total", "kind" => error.kind()).increment(1);
        error
    }
}

impl SlackError {
    fn kind(&self) -> &'static str {
        match self {
            SlackError::RateLimited { .. } => "rate_limited",
            SlackError::AuthRevoked { .. } => "auth_revoked",
            SlackError::Api { .. } => "api",
            SlackError::Transport(_) => "transport",
        }
    }
}
