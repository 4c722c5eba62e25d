//! Click-to-context: the "Explain in context" message shortcut and `/chief context <link>`.
//!
//! A click becomes a durable run (`explain`, keyed by the click) of three recorded steps:
//! 1. `gather` — the clicked message, its thread and the channel's messages within an hour either
//!    side, read for the clicking user through the privacy boundary (or fetched from Slack when the
//!    store lacks them); a user who is not in the channel gets a polite refusal and nothing else;
//! 2. `explain` — `tasks::ExplainContext` through the LLM gateway as an interactive call (the
//!    extractive engine answers when no model can);
//! 3. `guardrail` — `tasks::Guardrail` against exactly the gathered messages. A model answer that
//!    fails is regenerated once with the critique (`explain:corrected`, `guardrail:corrected`); if
//!    that fails too, the extractive explainer is shown (`explain:extractive`).
//!
//! Slack's `trigger_id` expires three seconds after the click, so [`on_shortcut`] opens a "Reading
//! the conversation…" modal before anything else (no Slack or model call comes first) and queues
//! the rest as an [`ExplainClick`] job, which runs the durable run and fills the modal with
//! `views.update`. The inbox's interactive lane thus only ever opens modals, and a click's
//! `views.open` never waits behind another click's explanation. When no modal can be opened the
//! answer goes to the click's `response_url` as an ephemeral message. Nothing fails silently:
//! whatever goes wrong is one sentence with a "Try again" button ([`on_retry`]).

pub mod agent;
pub mod cli;
mod fetch;
pub mod gather;
pub mod job;
pub mod modal;
pub mod render;

use tracing::warn;

use crate::features::context::Context;
use crate::model::domain::Explanation;
use crate::platform::db::DbError;
use crate::platform::jobs::EnqueueError;
use crate::platform::retry::Retryable;
use crate::slack::api::SlackError;
use crate::slack::interactions::{ActionClick, Shortcut};
use crate::slack::web;
use gather::Request;
pub use job::{Continuation, ExplainClick};
use modal::{Surface, Target};

/// Why no explanation could be produced. Each has one sentence for the reader.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("the message is not stored and Slack does not have it")]
    NotFound,
    #[error("chief cannot read channel {channel_id}")]
    CannotRead { channel_id: String },
    #[error("a direct message")]
    DirectMessage,
    #[error("Slack: {0}")]
    Slack(String),
    #[error("no bot token: {0}")]
    Token(String),
    #[error("the workspace is suspended")]
    Suspended,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot queue the explanation")]
    Enqueue(#[from] EnqueueError),
    /// The explanation was ready but Slack would not take it (the modal, the response URL and the
    /// ephemeral message all failed).
    #[error("cannot show the explanation")]
    Show(#[source] SlackError),
    #[error("{0}")]
    Internal(String),
}

impl ExplainError {
    /// What the reader is told.
    pub fn sentence(&self) -> String {
        match self {
            ExplainError::NotFound => {
                "I couldn't find that message: it may have been deleted.".into()
            }
            ExplainError::CannotRead { .. } => {
                "I'm not in that channel, so I can't read the conversation: invite @chief and try again.".into()
            }
            ExplainError::DirectMessage => {
                "I don't read direct messages, so I can't explain this conversation.".into()
            }
            ExplainError::Slack(_) => {
                "Slack didn't let me read the conversation just now.".into()
            }
            ExplainError::Token(_) | ExplainError::Suspended => {
                "I can't reach this workspace right now; an admin may need to reinstall chief."
                    .into()
            }
            ExplainError::Show(_) => "Slack didn't let me show the explanation just now.".into(),
            ExplainError::Db(_) | ExplainError::Enqueue(_) | ExplainError::Internal(_) => {
                "Something went wrong on my side while explaining this conversation.".into()
            }
        }
    }
}

impl Retryable for ExplainError {
    /// Slack, the database and chief's own steps may answer later; a missing message, a channel
    /// chief cannot read, a direct message or a workspace without a token will not change by
    /// trying again.
    fn is_transient(&self) -> bool {
        match self {
            ExplainError::Enqueue(e) => e.is_transient(),
            ExplainError::Show(e) => e.is_transient(),
            ExplainError::Slack(_) | ExplainError::Db(_) | ExplainError::Internal(_) => true,
            ExplainError::NotFound
            | ExplainError::CannotRead { .. }
            | ExplainError::DirectMessage
            | ExplainError::Token(_)
            | ExplainError::Suspended => false,
        }
    }
}

/// What a click produced.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Explained(Explanation),
    /// The reader is not in the channel.
    Refused {
        channel_name: String,
    },
}

impl Outcome {
    /// The explanation, or the refusal as a one-paragraph explanation.
    pub fn into_explanation(self) -> Explanation {
        match self {
            Outcome::Explained(e) => e,
            Outcome::Refused { channel_name } => render::refusal_explanation(&channel_name),
        }
    }
}

/// Explains the conversation around one message for `user_id` (the shortcut, `/chief context`,
/// `chief context` and `chief bench context` all come here). Refuses when the user cannot see the
/// channel.
pub async fn explain(
    ctx: &Context,
    team_id: &str,
    user_id: &str,
    channel_id: &str,
    ts: &str,
) -> Result<Explanation, ExplainError> {
    let request = Request {
        team_id: team_id.to_string(),
        user_id: user_id.to_string(),
        channel_id: channel_id.to_string(),
        ts: ts.to_string(),
        thread_ts: None,
    };
    let key = format!(
        "{user_id}:{channel_id}:{ts}:{}",
        uuid::Uuid::new_v4().simple()
    );
    Ok(job::run_explain(ctx, &request, &key)
        .await?
        .into_explanation())
}

/// The shortcut was used: open the modal at once, then fill it with the explanation.
pub async fn on_shortcut(ctx: &Context, shortcut: &Shortcut) -> Result<(), ExplainError> {
    let request = Request {
        team_id: shortcut.team_id.clone(),
        user_id: shortcut.user_id.clone(),
        channel_id: shortcut.channel_id.clone(),
        ts: shortcut.message_ts.clone(),
        thread_ts: shortcut.thread_ts.clone(),
    };
    let surface = Surface::Trigger {
        trigger_id: shortcut.trigger_id.clone(),
        response_url: shortcut.response_url.clone(),
    };
    let key = run_key(&request, &shortcut.trigger_id);
    deliver(ctx, &request, &key, surface).await
}

/// "Try again" on a failed explanation: the button's value says which message. A button inside
/// the modal refreshes that modal in place (Slack does not open a second modal over one); a button
/// in an ephemeral message opens a new modal with the click's trigger.
pub async fn on_retry(ctx: &Context, click: &ActionClick) -> Result<(), ExplainError> {
    let Some(target) = click.value.as_deref().and_then(Target::parse) else {
        warn!(action_id = %click.action_id, "\"Try again\" without a message to explain");
        return Ok(());
    };
    let request = Request {
        team_id: click.team_id.clone(),
        user_id: click.user_id.clone(),
        channel_id: target.c,
        ts: target.ts,
        thread_ts: target.th,
    };
    let click_id = click
        .trigger_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let surface = match (&click.view_id, &click.trigger_id) {
        (Some(id), _) => Surface::View(web::OpenView {
            id: id.clone(),
            hash: click.view_hash.clone(),
        }),
        (None, Some(trigger_id)) => Surface::Trigger {
            trigger_id: trigger_id.clone(),
            response_url: click.response_url.clone(),
        },
        (None, None) => Surface::Ephemeral {
            response_url: click.response_url.clone(),
        },
    };
    deliver(ctx, &request, &run_key(&request, &click_id), surface).await
}

/// `/chief context <link>`: like the shortcut, with the command's trigger and response URL.
pub async fn on_command(
    ctx: &Context,
    request: Request,
    trigger_id: Option<&str>,
    response_url: Option<&str>,
) -> Result<(), ExplainError> {
    let click_id = trigger_id
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let surface = match trigger_id {
        Some(trigger_id) => Surface::Trigger {
            trigger_id: trigger_id.to_string(),
            response_url: response_url.map(str::to_string),
        },
        None => Surface::Ephemeral {
            response_url: response_url.map(str::to_string),
        },
    };
    let key = run_key(&request, &click_id);
    deliver(ctx, &request, &key, surface).await
}

fn run_key(request: &Request, click_id: &str) -> String {
    format!(
        "{}:{}:{}:{click_id}",
        request.user_id, request.channel_id, request.ts
    )
}

/// Opens (or reuses) the modal at once, then queues the rest of the click ([`ExplainClick`]).
///
/// Only the `views.open` happens while the click's inbox row is handled: Slack's trigger expires
/// three seconds after the click, and the interactive lane must not wait behind anybody's
/// explanation (gathering, model, guardrail) before opening the next click's modal.
async fn deliver(
    ctx: &Context,
    request: &Request,
    key: &str,
    surface: Surface,
) -> Result<(), ExplainError> {
    // The modal, before anything else: the trigger is valid for three seconds.
    let opened = modal::open(ctx, request, &surface).await;

    let rest = Continuation {
        request: request.clone(),
        key: key.to_string(),
        view: opened.view,
        response_url: opened.response_url,
    };
    crate::platform::jobs::enqueue::<ExplainClick>(
        &ctx.db,
        &request.team_id,
        &rest,
        crate::platform::jobs::EnqueueOptions::default().idempotency_key(format!("explain:{key}")),
    )
    .await?;
    Ok(())
}
