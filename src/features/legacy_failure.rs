//! The string-typed failure click-to-context still returns, until `explain` returns its own
//! `ExplainError` (being split out in parallel). Nothing else may use it: every other feature has
//! its typed error. Delete this module once `explain` no longer names it.

use crate::platform::retry::Retryable;

/// How an explanation failed, as one sentence for the reader, and whether trying again can help.
#[derive(Debug, thiserror::Error)]
pub enum LegacyFailure {
    /// Will never work: parked (inbox) or `dead` (job queue).
    #[error("{0}")]
    Permanent(String),
    /// May work later: retried with back-off.
    #[error("{0}")]
    Transient(String),
}

impl Retryable for LegacyFailure {
    fn is_transient(&self) -> bool {
        matches!(self, LegacyFailure::Transient(_))
    }
}
