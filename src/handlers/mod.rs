//! What happens to a stored request: each source has its handler, and each handler decides which
//! requests concern it (a pure parse) before doing anything (the effectful half).

pub mod commands;
pub mod events;
pub mod interactions;

use crate::context::Context;
use crate::db::inbox::{Item, Source};

/// How a handler failed, which decides whether the worker retries.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Will never work (malformed payload, logic error): parked for inspection, not retried.
    #[error("{0}")]
    Permanent(String),
    /// May work later (database, Slack or model unavailable): retried with back-off.
    #[error("{0}")]
    Transient(String),
}

impl From<crate::db::DbError> for HandlerError {
    fn from(e: crate::db::DbError) -> Self {
        HandlerError::Transient(e.to_string())
    }
}

pub async fn handle(ctx: &Context, item: &Item) -> Result<(), HandlerError> {
    match item.source {
        Source::Event => events::handle(ctx, item).await,
        Source::Interaction => interactions::handle(ctx, item).await,
        Source::Command => commands::handle(ctx, item).await,
    }
}
