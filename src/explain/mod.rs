//! Click-to-context: the "Explain in context" message shortcut and `/chief context <link>`.
//!
//! (Interface fixed by the lead; the context agent fills it in.)

use crate::context::Context;
use crate::handlers::HandlerError;
use crate::slack::interactions::{ActionClick, Shortcut};

/// The shortcut was used: open the modal at once, then fill it with the explanation.
pub async fn on_shortcut(_ctx: &Context, _shortcut: &Shortcut) -> Result<(), HandlerError> {
    Ok(())
}

/// "Try again" on a failed explanation.
pub async fn on_retry(_ctx: &Context, _click: &ActionClick) -> Result<(), HandlerError> {
    Ok(())
}
