//! What happens to a stored request: each source has its handler, and each handler decides which
//! requests concern it (a pure parse) before doing anything (the effectful half).

use serde_json::Value;
use tracing::warn;

use crate::features::context::Context;
use crate::features::{command, home, ingest};
use crate::inbox::failure::{Failure, NotJson};
use crate::platform::db::inbox::{Item, Source};
use crate::platform::retry::Chain;
use crate::slack::convert;

/// Reads the stored payload once and hands it to the handler of its source.
pub async fn handle(ctx: &Context, item: &Item) -> Result<(), Failure> {
    let payload: Value = serde_json::from_str(&item.payload).map_err(NotJson)?;
    match item.source {
        Source::Event => event(ctx, item, &payload).await,
        Source::Interaction => super::interactions::handle(ctx, item, &payload).await,
        Source::Command => Ok(command::handle(ctx, item, &payload).await?),
    }
}

/// A stored Events API envelope: ingested, and when it opens the Home tab, the tab is published
/// (best effort: ingestion already succeeded, and the next opening publishes again).
async fn event(ctx: &Context, item: &Item, payload: &Value) -> Result<(), Failure> {
    let Some(team_id) = item
        .team_id
        .clone()
        .or_else(|| convert::envelope_team(payload))
    else {
        warn!(kind = %item.kind, "event without a team ignored");
        return Ok(());
    };
    ingest::live::handle_envelope(ctx, &team_id, payload).await?;
    if let Some(user_id) = convert::home_opened(payload)
        && let Err(e) = home::publish(ctx, &team_id, &user_id).await
    {
        warn!(error = %Chain(&e), team_id, user_id, "Home tab not published");
    }
    Ok(())
}
