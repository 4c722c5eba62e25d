//! Handles stored interactions: the shortcut goes to click-to-context, story buttons to the
//! briefing's feedback, Home controls to the Home tab.

use serde_json::Value;
use tracing::{debug, warn};

use crate::features::context::Context;
use crate::inbox::failure::Failure;
use crate::platform::db::inbox::Item;
use crate::slack::blocks::actions;
use crate::slack::interactions::{self, Interaction};

/// Handles a stored interaction whose `payload` [`super::dispatch`] has read.
pub async fn handle(ctx: &Context, item: &Item, payload: &Value) -> Result<(), Failure> {
    let interaction = match interactions::parse(payload) {
        Ok(interaction) => interaction,
        Err(reason) => {
            warn!(%reason, kind = %item.kind, "interaction skipped");
            return Ok(());
        }
    };
    match interaction {
        Interaction::Explain(shortcut) => {
            Ok(crate::features::explain::on_shortcut(ctx, &shortcut).await?)
        }
        Interaction::Actions(clicks) => {
            for click in clicks {
                match click.action_id.as_str() {
                    actions::MORE_LIKE_THIS | actions::LESS_LIKE_THIS | actions::STORY_MENU => {
                        crate::features::briefing::feedback::on_action(ctx, &click).await?
                    }
                    actions::TRY_AGAIN => crate::features::explain::on_retry(ctx, &click).await?,
                    id if id.starts_with("home_") => {
                        crate::features::home::on_action(ctx, &click).await?
                    }
                    other => debug!(action_id = other, "not one of chief's controls"),
                }
            }
            Ok(())
        }
        Interaction::Other { kind } => {
            debug!(%kind, "interaction acknowledged, nothing to do");
            Ok(())
        }
    }
}
