//! Drains the inbox: claims stored requests, hands each to its handler, records the outcome.
//!
//! Two lanes share the inbox. Events (ingestion) are handled in order, one at a time. Interactions
//! and slash commands have their own lane, claimed separately and handled concurrently (up to
//! [`INTERACTIVE_CONCURRENCY`] at once): a person is waiting, and a shortcut's `trigger_id` expires
//! three seconds after the click, so neither a backlog of events nor another user's slow
//! explanation may stand between a stored click and its `views.open`.
//!
//! A failed request is retried with exponential back-off and parked as `dead` after
//! [`MAX_ATTEMPTS`], never dropped. A process that dies mid-request leaves a lease that expires, so
//! another claim (or this process after a restart) picks the request up again.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::Notify;

use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, info_span, warn};

use crate::context::Context;
use crate::db::{Backend, DbError, inbox, now};
use crate::handlers::{self, HandlerError};

/// Attempts before a request is parked as `dead` for inspection.
pub const MAX_ATTEMPTS: i32 = 8;
const BATCH: i64 = 32;
/// Interactions and commands handled at the same time.
pub const INTERACTIVE_CONCURRENCY: usize = 8;

/// Runs until `shutdown` is cancelled.
pub async fn run(ctx: Arc<Context>, shutdown: CancellationToken) {
    if ctx.db.backend() == Backend::Sqlite {
        // SQLite means one chief process, so every lease still held is a dead process's.
        match inbox::release_all_leases(&ctx.db).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(released = n, "resuming requests left by a previous run"),
            Err(e) => error!(error = %e, "cannot release stale leases"),
        }
    }
    let events_wake = Notify::new();
    let interactive_wake = Notify::new();
    // The edge wakes one waiter; pass each wake-up on to both lanes (a stored permit each, so
    // none is lost while a lane is busy).
    let dispatch = async {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ctx.inbox_ready.notified() => {
                    events_wake.notify_one();
                    interactive_wake.notify_one();
                }
            }
        }
    };
    tokio::join!(
        dispatch,
        lane(&ctx, inbox::Lane::Events, 1, &events_wake, &shutdown),
        lane(
            &ctx,
            inbox::Lane::Interactive,
            INTERACTIVE_CONCURRENCY,
            &interactive_wake,
            &shutdown
        ),
    );
}

async fn lane(
    ctx: &Context,
    lane: inbox::Lane,
    concurrency: usize,
    wake: &Notify,
    shutdown: &CancellationToken,
) {
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        let handled = match drain_lane(ctx, lane, concurrency).await {
            Ok(n) => n,
            Err(e) => {
                error!(error = %e, ?lane, "inbox unavailable");
                0
            }
        };
        if handled > 0 {
            continue;
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

/// Claims and handles one batch of every kind, in order; returns how many requests it handled.
pub async fn drain_once(ctx: &Context) -> Result<usize, DbError> {
    drain_lane(ctx, inbox::Lane::All, 1).await
}

/// Claims one batch of `lane` and handles it, `concurrency` requests at a time (1 = in order).
pub async fn drain_lane(
    ctx: &Context,
    lane: inbox::Lane,
    concurrency: usize,
) -> Result<usize, DbError> {
    let lease = i64::from(ctx.config.inbox_lease_secs);
    let items = inbox::claim_lane(&ctx.db, &ctx.instance_id, lane, BATCH, lease).await?;
    let n = items.len();
    if n == 0 {
        return Ok(0);
    }
    // Keep the claim alive while the batch is worked on; a crash stops the renewals and another
    // process takes over once the lease lapses.
    let renewing = async {
        let period = Duration::from_millis((lease as u64 * 1000 / 3).max(200));
        loop {
            tokio::time::sleep(period).await;
            if let Err(e) = inbox::renew_leases(&ctx.db, &ctx.instance_id, lease).await {
                warn!(error = %e, "cannot renew inbox leases");
            }
        }
    };
    tokio::select! {
        result = handle_batch(ctx, items, concurrency) => result?,
        _ = renewing => {}
    }
    metrics::counter!("chief_inbox_handled_total").increment(n as u64);
    Ok(n)
}

async fn handle_batch(
    ctx: &Context,
    items: Vec<inbox::Item>,
    concurrency: usize,
) -> Result<(), DbError> {
    if concurrency <= 1 {
        for item in items {
            handle_one(ctx, item).await?;
        }
        return Ok(());
    }
    let failures: Vec<DbError> = futures::stream::iter(items)
        .map(|item| handle_one(ctx, item))
        .buffer_unordered(concurrency)
        .filter_map(|r| async move { r.err() })
        .collect()
        .await;
    match failures.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

async fn handle_one(ctx: &Context, item: inbox::Item) -> Result<(), DbError> {
    let span = info_span!("inbox", id = item.id, source = item.source.as_str(), kind = %item.kind,
        team_id = item.team_id.as_deref().unwrap_or("-"), attempt = item.attempts);
    async {
        match handlers::handle(ctx, &item).await {
            Ok(()) => inbox::complete(&ctx.db, item.id).await,
            Err(HandlerError::Permanent(reason)) => {
                warn!(%reason, "request cannot be handled; parked");
                inbox::fail(&ctx.db, item.id, &reason, now(), true).await
            }
            Err(HandlerError::Transient(reason)) => {
                let give_up = item.attempts >= MAX_ATTEMPTS;
                let delay = backoff_secs(item.attempts);
                warn!(%reason, retry_in_secs = delay, give_up, "request failed");
                inbox::fail(&ctx.db, item.id, &reason, now() + delay, give_up).await
            }
        }
    }
    .instrument(span)
    .await
}

/// 2, 4, 8 … seconds, capped at ten minutes.
fn backoff_secs(attempt: i32) -> i64 {
    2_i64.saturating_pow(attempt.clamp(1, 20) as u32).min(600)
}

#[cfg(test)]
mod tests {
    use super::backoff_secs;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff_secs(1), 2);
        assert_eq!(backoff_secs(3), 8);
        assert_eq!(backoff_secs(30), 600);
    }
}
