//! How handling a stored request failed, as the worker acts on it: retried with back-off, or
//! parked as `dead` for inspection.
//!
//! Features return their own typed errors and say through [`Retryable`] whether another try can
//! help; `?` turns any of them into a [`Failure`] ([`From`] below), which keeps the error itself, so
//! the worker logs and records its whole chain ([`Failure::chain`]) rather than a summary line.

use std::error::Error;

use crate::platform::retry::{Chain, Retryable};

/// A failed request: the feature's error, kept whole, and whether trying again can help.
#[derive(Debug)]
pub struct Failure {
    transient: bool,
    error: Box<dyn Error + Send + Sync + 'static>,
}

impl Failure {
    /// Whether the request is retried (as opposed to parked at once).
    pub fn is_transient(&self) -> bool {
        self.transient
    }

    /// The error and its causes, outermost first: what the log shows and the item keeps as its
    /// last error.
    pub fn chain(&self) -> String {
        Chain(self.error.as_ref()).to_string()
    }
}

impl<E: Retryable> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            transient: e.is_transient(),
            error: Box::new(e),
        }
    }
}

/// Shows the feature's error itself: `Failure` adds no step of its own to the chain.
impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl Error for Failure {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.error.source()
    }
}

/// The stored payload is not JSON: the edge stored something it should not have, and reading it
/// again will not change that.
#[derive(Debug, thiserror::Error)]
#[error("stored payload is not JSON")]
pub struct NotJson(#[from] pub serde_json::Error);

impl Retryable for NotJson {
    fn is_transient(&self) -> bool {
        false
    }
}

/// A handler panicked: a bug, which the same request would hit again.
#[derive(Debug, thiserror::Error)]
#[error("handler panicked: {0}")]
pub struct Panicked(pub String);

impl Retryable for Panicked {
    fn is_transient(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::db::DbError;

    #[test]
    fn a_failure_keeps_its_transience_and_its_chain() {
        let not_json = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        let text = format!("stored payload is not JSON: {not_json}");
        let parked = Failure::from(NotJson(not_json));
        assert!(!parked.is_transient());
        assert_eq!(parked.chain(), text);

        let outage = Failure::from(DbError::Corrupt {
            table: "inbox",
            reason: "bad row".into(),
        });
        assert!(outage.is_transient());
        assert_eq!(outage.chain(), "corrupt row in inbox: bad row");
    }
}
