//! Accepting a Slack request: store it in the durable inbox, then let the caller acknowledge.
//!
//! The HTTP edge and Socket Mode both come through here, so "persist, then ack" holds on both paths
//! and retries (same `event_id`) collapse into one row.

use tracing::{debug, info};

use crate::context::Context;
use crate::db::{DbError, inbox};
use crate::slack::envelope::Inbound;

/// Stores an inbound request. Returns whether it was new (`false` for a Slack retry or replay).
pub async fn accept(ctx: &Context, inbound: &Inbound) -> Result<bool, DbError> {
    let new = inbox::insert(
        &ctx.db,
        &inbox::NewItem {
            dedupe_key: &inbound.dedupe_key,
            source: inbound.source,
            team_id: inbound.team_id.as_deref(),
            kind: &inbound.kind,
            payload: &inbound.payload,
        },
    )
    .await?;
    let source = inbound.source.as_str();
    if new {
        metrics::counter!("chief_intake_accepted_total", "source" => source).increment(1);
        info!(source, kind = %inbound.kind, team_id = inbound.team_id.as_deref().unwrap_or("-"), "stored");
        ctx.inbox_ready.notify_one();
    } else {
        metrics::counter!("chief_intake_duplicates_total", "source" => source).increment(1);
        debug!(source, key = %inbound.dedupe_key, "duplicate ignored");
    }
    Ok(new)
}
