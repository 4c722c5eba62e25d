//! Accepting a Slack request: store it in the durable inbox, then let the caller acknowledge.
//!
//! The HTTP edge and Socket Mode both come through here, so "persist, then ack" holds on both paths
//! and retries (same `event_id`) collapse into one row.
//!
//! On PostgreSQL, stores are **group-committed**: requests arriving together are written by one
//! statement, and each is acknowledged once that statement has committed. Under load this turns a
//! transaction per request into a transaction per batch; alone, a request is written at once, with
//! no added wait. On SQLite each request is written on its own (measured faster there; see
//! BENCHMARKS.md).

use std::sync::{Arc, OnceLock};

use tokio::sync::{Mutex, Notify, mpsc, oneshot};
use tracing::{debug, info};

use crate::features::context::Context;
use crate::platform::db::{Backend, Db, DbError, inbox};
use crate::slack::envelope::Inbound;

/// Requests written by one statement at most.
const MAX_BATCH: usize = 512;
/// Requests waiting for a writer before the edge itself waits (back-pressure).
const QUEUE: usize = 8192;

/// The way into the inbox for both edges (HTTP and Socket Mode): stores each request, then wakes
/// the worker.
pub struct Intake {
    commit: GroupCommit,
    /// The worker's wake-up (the context's `inbox_ready`).
    ready: Arc<Notify>,
}

impl Intake {
    pub fn new(ctx: &Context) -> Self {
        Intake {
            commit: GroupCommit::new(ctx.db.clone()),
            ready: ctx.inbox_ready.clone(),
        }
    }

    /// Stores an inbound request. Returns whether it was new (`false` for a Slack retry or
    /// replay).
    pub async fn accept(&self, inbound: &Inbound) -> Result<bool, DbError> {
        accept(&self.commit, &self.ready, inbound).await
    }
}

async fn accept(commit: &GroupCommit, ready: &Notify, inbound: &Inbound) -> Result<bool, DbError> {
    let new = commit
        .store(Pending {
            dedupe_key: inbound.dedupe_key.clone(),
            source: inbound.source,
            team_id: inbound.team_id.clone(),
            kind: inbound.kind.clone(),
            payload: inbound.payload.clone(),
        })
        .await?;
    let source = inbound.source.as_str();
    if new {
        metrics::counter!("chief_intake_accepted_total", "source" => source).increment(1);
        info!(source, kind = %inbound.kind, team_id = inbound.team_id.as_deref().unwrap_or("-"), "stored");
        ready.notify_one();
    } else {
        metrics::counter!("chief_intake_duplicates_total", "source" => source).increment(1);
        debug!(source, key = %inbound.dedupe_key, "duplicate ignored");
    }
    Ok(new)
}

/// A request on its way to the inbox.
struct Pending {
    dedupe_key: String,
    source: inbox::Source,
    team_id: Option<String>,
    kind: String,
    payload: String,
}

impl Pending {
    fn as_new_item(&self) -> inbox::NewItem<'_> {
        inbox::NewItem {
            dedupe_key: &self.dedupe_key,
            source: self.source,
            team_id: self.team_id.as_deref(),
            kind: &self.kind,
            payload: &self.payload,
        }
    }
}

type Outcome = Result<bool, Arc<DbError>>;
/// A request and where its outcome goes.
type Queued = (Pending, oneshot::Sender<Outcome>);

/// The group committer: a queue in front of the inbox drained by a few writers, each writing
/// whatever has queued up while it was busy in one statement.
struct GroupCommit {
    db: Db,
    writers: usize,
    /// Started on first use (from inside the runtime); the writers stop when this is dropped.
    queue: OnceLock<mpsc::Sender<Queued>>,
}

impl GroupCommit {
    fn new(db: Db) -> Self {
        let writers = match db.backend() {
            // Measured slower on SQLite (BENCHMARKS.md): its one write lock is shared with the
            // inbox worker, and a batch writer that meets it locked sleeps in SQLite's busy
            // handler with every waiting request behind it. Each request is stored on its own.
            Backend::Sqlite => 0,
            // Commits of separate connections overlap on PostgreSQL.
            Backend::Postgres => 4,
        };
        GroupCommit {
            db,
            writers,
            queue: OnceLock::new(),
        }
    }

    async fn store(&self, item: Pending) -> Result<bool, DbError> {
        if self.writers == 0 {
            return inbox::insert(&self.db, &item.as_new_item()).await;
        }
        let queue = self.queue.get_or_init(|| self.start());
        let (done, stored) = oneshot::channel();
        let gone = || DbError::Corrupt {
            table: "inbox",
            reason: "the inbox writer has stopped".into(),
        };
        queue.send((item, done)).await.map_err(|_| gone())?;
        stored.await.map_err(|_| gone())?.map_err(DbError::Shared)
    }

    fn start(&self) -> mpsc::Sender<Queued> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..self.writers {
            tokio::spawn(write_batches(self.db.clone(), rx.clone()));
        }
        tx
    }
}

async fn write_batches(db: Db, queue: Arc<Mutex<mpsc::Receiver<Queued>>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        {
            let mut queue = queue.lock().await;
            if queue.recv_many(&mut batch, MAX_BATCH).await == 0 {
                return;
            }
        }
        let items: Vec<inbox::NewItem<'_>> = batch.iter().map(|(p, _)| p.as_new_item()).collect();
        metrics::histogram!("chief_intake_batch_size").record(items.len() as f64);
        let result = inbox::insert_many(&db, &items).await;
        drop(items);
        match result {
            Ok(new) => {
                for ((_, done), new) in batch.drain(..).zip(new) {
                    let _ = done.send(Ok(new));
                }
            }
            Err(e) => {
                let e = Arc::new(e);
                for (_, done) in batch.drain(..) {
                    let _ = done.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Socket Mode stores through the same intake as HTTP, and answers slash commands the same way.
impl crate::slack::socket::Receiver for Intake {
    fn store(&self, inbound: Inbound) -> futures::future::BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.accept(&inbound)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }

    fn command_reply(&self, payload: &serde_json::Value) -> Option<serde_json::Value> {
        crate::features::command::immediate_reply(payload)
    }
}
