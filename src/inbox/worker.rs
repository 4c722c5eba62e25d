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

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use tokio::sync::Notify;

use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, info_span, warn};

use crate::features::context::Context;
use crate::inbox::dispatch;
use crate::inbox::failure::{Failure, Panicked};
use crate::platform::db::{Backend, DbError, inbox, now};

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
    // A lease token per batch, not per process: renewals below extend only this batch's claims.
    // A batch abandoned half-way (the database went away) is then no longer renewed by this
    // process's later batches (or its other lane), and its requests are claimed again once the
    // lease lapses.
    let owner = format!("{}/{}", ctx.instance_id, uuid::Uuid::new_v4().simple());
    // A concurrent lane claims no more than it handles at once: the batch is awaited as a whole,
    // so a longer one would hold later requests behind its slowest.
    let limit = if concurrency > 1 {
        concurrency as i64
    } else {
        BATCH
    };
    let items = inbox::claim_lane(&ctx.db, &owner, lane, limit, lease).await?;
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
            if let Err(e) = inbox::renew_leases(&ctx.db, &owner, lease).await {
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
    // Boxed: the handlers' future is deep, and callers' futures embed this one.
    settle(ctx, &item, dispatch::handle(ctx, &item).boxed())
        .instrument(span)
        .await
}

/// Runs a request's handler and records the outcome. A handler that panics parks its request as
/// `dead` (with the panic message) instead of unwinding through the worker loop, which would stop
/// the inbox from being drained until a restart.
async fn settle(
    ctx: &Context,
    item: &inbox::Item,
    work: BoxFuture<'_, Result<(), Failure>>,
) -> Result<(), DbError> {
    let outcome = AssertUnwindSafe(work)
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| {
            Err(Failure::from(Panicked(
                crate::platform::retry::panic_message(panic.as_ref()),
            )))
        });
    let failure = match outcome {
        Ok(()) => return inbox::complete(&ctx.db, item.id).await,
        Err(failure) => failure,
    };
    // The whole chain, logged and kept as the item's last error: the cause at its end is what
    // someone inspecting a parked request needs.
    let reason = failure.chain();
    if !failure.is_transient() {
        warn!(%reason, "request cannot be handled; parked");
        return inbox::fail(&ctx.db, item.id, &reason, now(), true).await;
    }
    let give_up = item.attempts >= MAX_ATTEMPTS;
    let delay = backoff_secs(item.attempts);
    warn!(%reason, retry_in_secs = delay, give_up, "request failed");
    inbox::fail(&ctx.db, item.id, &reason, now() + delay, give_up).await
}

/// 2, 4, 8 … seconds, capped at ten minutes.
fn backoff_secs(attempt: i32) -> i64 {
    2_i64.saturating_pow(attempt.clamp(1, 20) as u32).min(600)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::testkit::scratch::ScratchDb;

    /// Stores one event per `(dedupe key, payload)` and claims them all, in that order.
    async fn claimed_events(ctx: &Context, events: &[(&str, &str)]) -> Vec<inbox::Item> {
        for (key, payload) in events {
            inbox::insert(
                &ctx.db,
                &inbox::NewItem {
                    dedupe_key: key,
                    source: inbox::Source::Event,
                    team_id: Some("T1"),
                    kind: "message",
                    payload,
                },
            )
            .await
            .unwrap();
        }
        inbox::claim(&ctx.db, "me", 10, 30).await.unwrap()
    }

    #[tokio::test]
    async fn a_panicking_handler_parks_its_request_and_the_worker_goes_on() {
        let scratch = ScratchDb::test_sqlite().await;
        let ctx = Context::new(Config::for_database(&scratch.url), scratch.db.clone());
        let items = claimed_events(&ctx, &[("k1", "{}"), ("k2", "{}")]).await;
        settle(&ctx, &items[0], async { panic!("boom") }.boxed())
            .await
            .unwrap();
        settle(&ctx, &items[1], async { Ok(()) }.boxed())
            .await
            .unwrap();
        let counts = inbox::counts(&ctx.db).await.unwrap();
        assert_eq!((counts.pending, counts.dead, counts.done), (0, 1, 1));
    }

    async fn last_error(ctx: &Context, id: i64) -> Option<String> {
        let row = sqlx::query("SELECT last_error FROM inbox WHERE id = $1")
            .bind(id)
            .fetch_one(ctx.db.pool())
            .await
            .unwrap();
        sqlx::Row::try_get(&row, "last_error").unwrap()
    }

    /// A parked request keeps the whole chain of its failure: the step and the cause under it.
    #[tokio::test]
    async fn a_parked_request_keeps_the_whole_chain_of_its_failure() {
        let scratch = ScratchDb::test_sqlite().await;
        let ctx = Context::new(Config::for_database(&scratch.url), scratch.db.clone());
        let items = claimed_events(&ctx, &[("torn", "{\"type\": "), ("panics", "{}")]).await;
        handle_one(&ctx, items[0].clone()).await.unwrap();
        settle(&ctx, &items[1], async { panic!("boom") }.boxed())
            .await
            .unwrap();
        let torn = last_error(&ctx, items[0].id).await.unwrap_or_default();
        assert!(
            torn.starts_with("stored payload is not JSON: EOF while parsing"),
            "{torn}"
        );
        assert_eq!(
            last_error(&ctx, items[1].id).await.as_deref(),
            Some("handler panicked: boom")
        );
        let counts = inbox::counts(&ctx.db).await.unwrap();
        assert_eq!((counts.pending, counts.dead), (0, 2));
    }

    /// A batch abandoned mid-way (its database writes failed) keeps its claims only until the
    /// lease lapses: later batches of the same process renew their own claims, not those.
    #[tokio::test]
    async fn a_batch_renews_only_its_own_claims() {
        use crate::testkit::fake_slack::{FakeSlack, Reply};
        crate::init_process();
        let scratch = ScratchDb::test_sqlite().await;
        let fake = FakeSlack::start().await.unwrap();
        // Handling takes a while (a slow users.info), so renewals happen during it.
        fake.script(
            "users.info",
            [Reply::Delayed(
                std::time::Duration::from_millis(1500),
                Box::new(Reply::ok(serde_json::json!({}))),
            )],
        );
        let mut config = Config::for_database(&scratch.url);
        config.slack_api_url = fake.api_url();
        config.bot_token = Some(secrecy::SecretString::from("xoxb-test"));
        config.inbox_lease_secs = 1;
        let ctx = Context::new(config, scratch.db.clone());
        let insert = |key: &'static str, payload: String| {
            let db = ctx.db.clone();
            async move {
                inbox::insert(
                    &db,
                    &inbox::NewItem {
                        dedupe_key: key,
                        source: inbox::Source::Event,
                        team_id: Some("T1"),
                        kind: "message",
                        payload: &payload,
                    },
                )
                .await
                .unwrap()
            }
        };
        insert("abandoned", "{}".into()).await;
        // An earlier batch of this process claimed it, then lost the database mid-batch.
        let abandoned = inbox::claim(&ctx.db, &ctx.instance_id, 1, 1).await.unwrap();
        let leased_until = now() + 1;
        insert(
            "slow",
            serde_json::json!({"type": "event_callback", "team_id": "T1", "event": {
                "type": "message", "channel": "C1", "user": "U1", "text": "hi",
                "ts": "1700000000.000100", "channel_type": "channel"}})
            .to_string(),
        )
        .await;
        assert_eq!(drain_once(&ctx).await.unwrap(), 1, "the new request only");
        let row = sqlx::query("SELECT lease_until FROM inbox WHERE id = $1")
            .bind(abandoned[0].id)
            .fetch_one(ctx.db.pool())
            .await
            .unwrap();
        let lease: Option<i64> = sqlx::Row::try_get(&row, "lease_until").unwrap();
        assert!(
            lease.is_some_and(|l| l <= leased_until),
            "the abandoned claim was not renewed: {lease:?} > {leased_until}"
        );
        // Once lapsed, it is claimed again.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        assert_eq!(drain_once(&ctx).await.unwrap(), 1);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff_secs(1), 2);
        assert_eq!(backoff_secs(3), 8);
        assert_eq!(backoff_secs(30), 600);
    }
}
