//! The internal event bus: domain events in a table, read by named subscribers (agents) through
//! their own cursor.
//!
//! - **Publishing** appends a row, normally in the transaction that stores the event's effect, so
//!   an event exists exactly when its effect does.
//! - **Delivery** is at-least-once: a subscriber [`poll`]s a batch of the kinds it wants, handles
//!   it, then [`ack`]s. A crash between the two redelivers the batch, so handlers are idempotent.
//! - **Replicas**: a poll leases the subscriber's cursor to one process (`owner`); another replica
//!   polling the same subscriber gets nothing until the lease is acked or expires. This holds on
//!   PostgreSQL (the lease is a row-locking conditional update) and on SQLite (one writer).
//! - **Commit order**: on PostgreSQL, ids are handed out at insert time but rows become visible at
//!   commit, so a younger row can be visible before an older one. A cursor that moved past the older
//!   id would skip it forever; polls therefore only read events older than a short grace period
//!   (`commit_grace`, 5 s by default on PostgreSQL — longer than any transaction that publishes).
//!   SQLite commits in id order and needs none.
//! - **Pruning** ([`prune`]) drops events every subscriber has passed once they are a day old, and
//!   anything older than a week.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sqlx::{Any, Executor};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info_span, warn};

use super::Host;
use crate::model::events::{DomainEvent, EventKind};
use crate::platform::db::{Backend, Db, DbError, bus as store, now};

/// An event as a subscriber receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusEvent {
    pub id: i64,
    pub team_id: String,
    pub created_at: i64,
    pub event: DomainEvent,
}

/// A named subscriber: its cursor, the kinds it wants, and who is polling for it.
#[derive(Clone, Debug)]
pub struct Subscription {
    pub name: String,
    pub kinds: Vec<EventKind>,
    /// This process (`Context::instance_id`): the lease holder.
    pub owner: String,
    /// How long a polled batch is reserved for this owner before another replica may take it.
    pub lease: Duration,
    /// Only events at least this old are read (see the module docs).
    pub commit_grace: Duration,
}

impl Subscription {
    /// A subscription for `owner` with the defaults for `backend`.
    pub fn new(name: &str, kinds: &[EventKind], owner: &str, backend: Backend) -> Self {
        Subscription {
            name: name.to_string(),
            kinds: kinds.to_vec(),
            owner: owner.to_string(),
            lease: Duration::from_secs(120),
            commit_grace: match backend {
                Backend::Postgres => Duration::from_secs(5),
                Backend::Sqlite => Duration::ZERO,
            },
        }
    }

    pub fn with_commit_grace(mut self, grace: Duration) -> Self {
        self.commit_grace = grace;
        self
    }

    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }
}

/// A polled batch: the events to handle, and the position to [`ack`] once they are handled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Polled {
    pub events: Vec<BusEvent>,
    pub up_to: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Appends an event (in the caller's transaction when `e` is one). Team-less events cannot exist.
pub async fn publish<'c, E>(e: E, team_id: &str, event: &DomainEvent) -> Result<i64, DbError>
where
    E: Executor<'c, Database = Any>,
{
    let payload = serde_json::to_string(event).map_err(|err| DbError::Corrupt {
        table: "bus_events",
        reason: err.to_string(),
    })?;
    store::append(
        e,
        team_id,
        event.kind().as_str(),
        &payload,
        event.message_key(),
    )
    .await
}

/// Reads the next batch for `sub` (at most `limit` events). Empty when there is nothing new or
/// another replica holds the subscriber. Rows that no longer parse are logged and skipped.
pub async fn poll(db: &Db, sub: &Subscription, limit: i64) -> Result<Polled, DbError> {
    let kinds: Vec<&str> = sub.kinds.iter().map(|k| k.as_str()).collect();
    let horizon = now() - sub.commit_grace.as_secs() as i64;
    let Some(batch) = store::claim(
        db,
        &sub.name,
        &sub.owner,
        sub.lease.as_secs().max(1) as i64,
        &kinds,
        limit.max(1),
        horizon,
    )
    .await?
    else {
        return Ok(Polled::default());
    };
    let events = batch
        .events
        .into_iter()
        .filter_map(|row| match serde_json::from_str::<DomainEvent>(&row.payload) {
            Ok(event) => Some(BusEvent {
                id: row.id,
                team_id: row.team_id,
                created_at: row.created_at,
                event,
            }),
            Err(e) => {
                warn!(id = row.id, kind = %row.kind, error = %e, "unreadable bus event skipped");
                None
            }
        })
        .collect();
    Ok(Polled {
        events,
        up_to: batch.up_to,
    })
}

/// Records that `sub` has handled everything up to `up_to` and releases its lease. `false` when
/// the lease was lost meanwhile (the batch will be redelivered to whoever holds it now).
pub async fn ack(db: &Db, sub: &Subscription, up_to: i64) -> Result<bool, DbError> {
    store::ack(db, &sub.name, &sub.owner, up_to).await
}

/// Drops delivered events older than a day and any event older than a week.
pub async fn prune(db: &Db) -> Result<u64, DbError> {
    let now = now();
    store::prune(db, now - 86_400, now - 7 * 86_400).await
}

/// Runs a subscriber until `shutdown`: polls `kinds`, calls `handler` for each event in order, and
/// acks. When `handler` fails, the events before the failure are acked and the failed one is
/// retried after a back-off (so one bad event delays, and never skips, the ones after it).
pub async fn run_subscriber<C: Host, F, Fut>(
    ctx: Arc<C>,
    name: &str,
    kinds: &[EventKind],
    handler: F,
    shutdown: CancellationToken,
) where
    F: Fn(Arc<C>, BusEvent) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let sub = Subscription::new(name, kinds, ctx.instance_id(), ctx.db().backend());
    let mut failures: u32 = 0;
    loop {
        let pause = match poll(ctx.db(), &sub, 100).await {
            Ok(polled) => {
                let mut up_to = polled.up_to;
                let mut failed = false;
                for event in polled.events {
                    let span = info_span!("bus", subscriber = name, id = event.id,
                        kind = event.event.kind().as_str(), team_id = %event.team_id);
                    let id = event.id;
                    if let Err(e) = handler(ctx.clone(), event).instrument(span).await {
                        warn!(subscriber = name, id, error = %e, "bus handler failed; will retry");
                        up_to = id - 1;
                        failed = true;
                        break;
                    }
                }
                if let Err(e) = ack(ctx.db(), &sub, up_to).await {
                    warn!(subscriber = name, error = %e, "bus ack failed");
                }
                if failed {
                    failures += 1;
                    Duration::from_secs(2_u64.saturating_pow(failures.min(8)))
                } else {
                    failures = 0;
                    Duration::from_millis(500)
                }
            }
            Err(e) => {
                warn!(subscriber = name, error = %e, "bus unavailable");
                Duration::from_secs(2)
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::scratch::ScratchDb;

    fn renamed(name: &str) -> DomainEvent {
        DomainEvent::ChannelRenamed {
            channel_id: "C1".into(),
            name: name.into(),
        }
    }

    async fn delivery(db: &Db) {
        let sub = Subscription::new(
            "digest",
            &[EventKind::ChannelRenamed],
            "replica-a",
            db.backend(),
        )
        .with_commit_grace(Duration::ZERO);
        // Nothing yet.
        assert!(poll(db, &sub, 10).await.unwrap().events.is_empty());
        ack(db, &sub, 0).await.unwrap();

        publish(db.pool(), "T1", &renamed("a")).await.unwrap();
        publish(
            db.pool(),
            "T1",
            &DomainEvent::ChannelArchived {
                channel_id: "C1".into(),
            },
        )
        .await
        .unwrap();
        publish(db.pool(), "T1", &renamed("b")).await.unwrap();

        let first = poll(db, &sub, 1).await.unwrap();
        assert_eq!(first.events.len(), 1);
        assert_eq!(first.events[0].event, renamed("a"));

        // Another replica of the same subscriber gets nothing while the batch is leased.
        let other = Subscription {
            owner: "replica-b".into(),
            ..sub.clone()
        };
        assert!(poll(db, &other, 10).await.unwrap().events.is_empty());

        // Not acked: delivered again (at least once).
        let again = poll(db, &sub, 1).await.unwrap();
        assert_eq!(again.events[0].id, first.events[0].id);
        assert!(ack(db, &sub, again.up_to).await.unwrap());

        // The archive event is of another kind: skipped, the cursor moves past it.
        let next = poll(db, &other, 10).await.unwrap();
        assert_eq!(
            next.events.iter().map(|e| &e.event).collect::<Vec<_>>(),
            vec![&renamed("b")]
        );
        assert!(ack(db, &other, next.up_to).await.unwrap());
        let held = poll(db, &sub, 10).await.unwrap();
        assert!(held.events.is_empty());
        let stale = Subscription {
            owner: "stale".into(),
            ..sub.clone()
        };
        assert!(
            !ack(db, &stale, 99).await.unwrap(),
            "a lost lease cannot move the cursor"
        );
        assert!(ack(db, &sub, held.up_to).await.unwrap());

        // A subscriber of every kind sees all three from the start.
        let all = Subscription::new("audit", &EventKind::ALL, "replica-a", db.backend())
            .with_commit_grace(Duration::ZERO);
        assert_eq!(poll(db, &all, 10).await.unwrap().events.len(), 3);

        // Events not yet past the grace period are not read.
        let patient = Subscription::new("late", &EventKind::ALL, "r", db.backend())
            .with_commit_grace(Duration::from_secs(3600));
        let polled = poll(db, &patient, 10).await.unwrap();
        assert!(polled.events.is_empty());
        assert_eq!(
            polled.up_to, 0,
            "the cursor does not move past unread events"
        );

        // Pruning keeps what a subscriber has not passed ("audit" and "late" are at 0).
        assert_eq!(store::prune(db, now() + 10, 0).await.unwrap(), 0);
        assert_eq!(store::count(db).await.unwrap(), 3);
        assert_eq!(store::prune(db, now() + 10, now() + 10).await.unwrap(), 3);
    }

    #[tokio::test]
    async fn bus_on_sqlite() {
        let scratch = ScratchDb::test_sqlite().await;
        delivery(&scratch.db).await;
    }

    #[tokio::test]
    async fn bus_on_postgres() {
        let scratch = ScratchDb::test_postgres().await;
        delivery(&scratch.db).await;
    }

    /// Two replicas polling one subscriber at the same moment: exactly one gets the batch.
    async fn concurrent_replicas(db: &Db) {
        for i in 0..5 {
            publish(db.pool(), "T1", &renamed(&format!("n{i}")))
                .await
                .unwrap();
        }
        let subs: Vec<Subscription> = (0..4)
            .map(|i| {
                Subscription::new(
                    "shared",
                    &EventKind::ALL,
                    &format!("replica-{i}"),
                    db.backend(),
                )
                .with_commit_grace(Duration::ZERO)
            })
            .collect();
        let results = futures::future::join_all(subs.iter().map(|s| poll(db, s, 10))).await;
        let winners = results
            .into_iter()
            .map(|r| r.unwrap())
            .filter(|p| !p.events.is_empty())
            .count();
        assert_eq!(winners, 1);
    }

    #[tokio::test]
    async fn replicas_on_sqlite() {
        let scratch = ScratchDb::test_sqlite().await;
        concurrent_replicas(&scratch.db).await;
    }

    #[tokio::test]
    async fn replicas_on_postgres() {
        let scratch = ScratchDb::test_postgres().await;
        concurrent_replicas(&scratch.db).await;
    }
}

#[cfg(test)]
mod subscriber_tests {
    use super::*;
    use crate::platform::Standalone;
    use crate::testkit::scratch::ScratchDb;
    use std::sync::Mutex;

    /// The loop helper delivers in order, retries a failed event without skipping it, and acks.
    #[tokio::test]
    async fn run_subscriber_retries_and_acks() {
        let scratch = ScratchDb::test_sqlite().await;
        let ctx = Standalone::new(scratch.db.clone());
        for name in ["a", "b", "c"] {
            publish(
                ctx.db.pool(),
                "T1",
                &DomainEvent::ChannelRenamed {
                    channel_id: "C1".into(),
                    name: name.into(),
                },
            )
            .await
            .unwrap();
        }
        publish(
            ctx.db.pool(),
            "T1",
            &DomainEvent::ChannelArchived {
                channel_id: "C1".into(),
            },
        )
        .await
        .unwrap();
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let failed_once = Arc::new(Mutex::new(false));
        let shutdown = CancellationToken::new();
        let task = {
            let (seen, failed_once, shutdown) =
                (seen.clone(), failed_once.clone(), shutdown.clone());
            tokio::spawn(async move {
                run_subscriber(
                    ctx.clone(),
                    "renames",
                    &[EventKind::ChannelRenamed],
                    move |_ctx, event| {
                        let (seen, failed_once) = (seen.clone(), failed_once.clone());
                        async move {
                            let DomainEvent::ChannelRenamed { name, .. } = event.event else {
                                anyhow::bail!("a kind it did not ask for");
                            };
                            if name == "b"
                                && !std::mem::replace(&mut *failed_once.lock().unwrap(), true)
                            {
                                anyhow::bail!("transient failure");
                            }
                            seen.lock().unwrap().push(name);
                            Ok(())
                        }
                    },
                    shutdown,
                )
                .await
            })
        };
        for _ in 0..200 {
            if seen.lock().unwrap().len() >= 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        shutdown.cancel();
        task.await.unwrap();
        assert_eq!(*seen.lock().unwrap(), vec!["a", "b", "c"]);
        let last = store::cursor(&scratch.db, "renames")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(last, 4, "acked past the last event, the archive included");
    }
}
