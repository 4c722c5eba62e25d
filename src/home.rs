//! The App Home tab: the latest briefing, the user's settings as controls, usage hints.
//!
//! (Interface fixed by the lead; filled in with the slash commands.)

use crate::context::Context;
use crate::handlers::HandlerError;
use crate::slack::interactions::ActionClick;

/// Publishes (`views.publish`) the user's Home tab.
pub async fn publish(_ctx: &Context, _team_id: &str, _user_id: &str) -> Result<(), HandlerError> {
    Ok(())
}

/// A control on the Home tab changed (`slack::blocks::actions::{BRIEFING_NOW, SET_TIME, …}`).
pub async fn on_action(_ctx: &Context, _click: &ActionClick) -> Result<(), HandlerError> {
    Ok(())
}
