//! Click-to-context: the "Explain in context" message shortcut and `/chief context <link>`.
//!
//! (Interface fixed by the lead; the context agent fills it in.)

use crate::context::Context;
use crate::handlers::HandlerError;
use crate::slack::interactions::{ActionClick, Shortcut};

/// Explains the conversation around one message for `user_id` (the shortcut, `/chief context`,
/// `chief context` and `chief bench context` all come here). Refuses when the user cannot see the
/// channel.
pub async fn explain(
    _ctx: &Context,
    _team_id: &str,
    _user_id: &str,
    _channel_id: &str,
    _ts: &str,
) -> Result<crate::domain::Explanation, HandlerError> {
    Err(HandlerError::Permanent(
        "click-to-context is not available yet".into(),
    ))
}

/// The shortcut was used: open the modal at once, then fill it with the explanation.
pub async fn on_shortcut(_ctx: &Context, _shortcut: &Shortcut) -> Result<(), HandlerError> {
    Ok(())
}

/// "Try again" on a failed explanation.
pub async fn on_retry(_ctx: &Context, _click: &ActionClick) -> Result<(), HandlerError> {
    Ok(())
}
