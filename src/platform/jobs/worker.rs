//! Runs queued jobs: claim one, run it under a lease kept alive by a heartbeat, record the outcome.
//!
//! [`run`] is the long-lived loop `chief serve` starts; [`try_execute_one`] does a single claim and
//! is what tests (and one-shot commands) drive directly until the queue is empty.

use std::borrow::Borrow;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, info, info_span, warn};

use super::{JOBS_READY, JobError, Registry};
use crate::platform::Host;
use crate::platform::db::jobs::{self as store, JobRecord};
use crate::platform::db::{Backend, DbError, now};

/// How a worker behaves. The defaults suit `chief serve`.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// Jobs run at once by this process (jobs mostly wait on models and Slack).
    pub concurrency: usize,
    /// How long a claim holds a job without a heartbeat. A process that dies leaves its jobs to
    /// others after at most this long.
    pub lease_secs: i64,
    /// How often a running job's lease is extended (well under `lease_secs`).
    pub heartbeat: Duration,
    /// How long an idle worker sleeps before looking again (an enqueue in this process wakes it
    /// earlier).
    pub idle_poll: Duration,
    /// First retry delay; doubles per attempt (with jitter) up to `backoff_cap`.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// On shutdown, how long running jobs may take to finish before they are interrupted and
    /// given back to the queue.
    pub shutdown_grace: Duration,
    /// On SQLite, release the leases a previous process left at start ([`release_stale_leases`];
    /// a process running two workers does it once, before either starts).
    pub release_stale_leases: bool,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            concurrency: 4,
            lease_secs: 60,
            heartbeat: Duration::from_secs(20),
            idle_poll: Duration::from_secs(1),
            backoff_base: Duration::from_secs(10),
            backoff_cap: Duration::from_secs(3600),
            shutdown_grace: Duration::from_secs(10),
            release_stale_leases: true,
        }
    }
}

impl WorkerOptions {
    /// For jobs someone is waiting on: more at once (they wait on a model or Slack, not on CPU)
    /// and quick retries.
    pub fn interactive() -> Self {
        WorkerOptions {
            concurrency: 8,
            // Enqueues in this process wake the worker at once; the poll only finds jobs other
            // replicas queued (and each poll is a write transaction on SQLite).
            idle_poll: Duration::from_secs(2),
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(5),
            // Released once by the process before its workers start (see `app.rs`).
            release_stale_leases: false,
            ..WorkerOptions::default()
        }
    }
}

/// What happened to a claimed job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Failed with a retryable error; claimable again from `at`.
    Retry {
        at: i64,
        reason: String,
    },
    /// Parked for good (permanent failure or attempts exhausted).
    Dead {
        reason: String,
    },
    /// Interrupted by shutdown and given back to the queue.
    Released,
    /// Its lease expired and another worker took the job over; this outcome was not recorded.
    LeaseLost,
}

/// One executed job.
#[derive(Clone, Debug)]
pub struct Executed {
    pub job: JobRecord,
    pub outcome: Outcome,
}

/// Runs jobs with the default [`WorkerOptions`] until `shutdown` is cancelled.
pub async fn run<C: Host>(ctx: Arc<C>, registry: Arc<Registry<C>>, shutdown: CancellationToken) {
    run_with(ctx, registry, WorkerOptions::default(), shutdown).await
}

/// Runs `options.concurrency` claim loops until `shutdown` is cancelled, then waits for them.
pub async fn run_with<C: Host>(
    ctx: Arc<C>,
    registry: Arc<Registry<C>>,
    options: WorkerOptions,
    shutdown: CancellationToken,
) {
    if options.release_stale_leases {
        release_stale_leases(&ctx).await;
    }
    info!(jobs = ?registry.names(), concurrency = options.concurrency, "job worker started");
    let options = Arc::new(options);
    let mut loops = Vec::new();
    for _ in 0..options.concurrency.max(1) {
        let (ctx, registry, options, shutdown) = (
            ctx.clone(),
            registry.clone(),
            options.clone(),
            shutdown.clone(),
        );
        loops.push(tokio::spawn(async move {
            claim_loop(&*ctx, &registry, &options, &shutdown).await
        }));
    }
    let metrics = {
        let (ctx, shutdown) = (ctx.clone(), shutdown.clone());
        tokio::spawn(async move {
            loop {
                refresh_metrics(&ctx).await;
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(15)) => {}
                }
            }
        })
    };
    for handle in loops {
        let _ = handle.await;
    }
    let _ = metrics.await;
}

/// On SQLite (one chief process per file), every job lease still held is a dead process's: the
/// runs those jobs carried resume now rather than after the lease would have expired.
pub async fn release_stale_leases<C: Host>(ctx: &C) {
    if ctx.db().backend() != Backend::Sqlite {
        return;
    }
    match store::expire_all_leases(ctx.db()).await {
        Ok(0) => {}
        Ok(n) => info!(jobs = n, "resuming jobs interrupted by a previous run"),
        Err(e) => error!(error = %e, "cannot release stale job leases"),
    }
}

async fn claim_loop<C: Host>(
    ctx: &C,
    registry: &Registry<C>,
    options: &WorkerOptions,
    shutdown: &CancellationToken,
) {
    while !shutdown.is_cancelled() {
        let pause = match execute_next(ctx, registry, options, shutdown).await {
            Ok(Some(_)) => continue,
            Ok(None) => options.idle_poll,
            Err(e) => {
                error!(error = %e, "job queue unavailable");
                options.idle_poll * 5
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = JOBS_READY.notified() => {}
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

/// Claims and runs one due job with the default options. `None` when no job this registry knows
/// is due.
pub async fn try_execute_one<C: Host>(
    ctx: &impl Borrow<C>,
    registry: &Registry<C>,
) -> Result<Option<Executed>, DbError> {
    try_execute_one_with(ctx, registry, &WorkerOptions::default()).await
}

/// [`try_execute_one`] with explicit options.
pub async fn try_execute_one_with<C: Host>(
    ctx: &impl Borrow<C>,
    registry: &Registry<C>,
    options: &WorkerOptions,
) -> Result<Option<Executed>, DbError> {
    execute_next(ctx.borrow(), registry, options, &CancellationToken::new()).await
}

async fn execute_next<C: Host>(
    ctx: &C,
    registry: &Registry<C>,
    options: &WorkerOptions,
    shutdown: &CancellationToken,
) -> Result<Option<Executed>, DbError> {
    // A token per claim: the lease guards tell this claim from a later one of the same process.
    let owner = format!("{}/{}", ctx.instance_id(), uuid::Uuid::new_v4().simple());
    let kinds = registry.names();
    let Some(job) = store::claim(ctx.db(), &owner, &kinds, now(), options.lease_secs).await? else {
        return Ok(None);
    };
    metrics::counter!("chief_jobs_claimed_total", "kind" => job.kind.clone()).increment(1);
    let span = info_span!("job", id = job.id, kind = %job.kind, team_id = %job.team_id,
        attempt = job.attempts, max_attempts = job.max_attempts);
    let outcome = execute_claimed(ctx, registry, options, shutdown, &job, &owner)
        .instrument(span)
        .await?;
    Ok(Some(Executed { job, outcome }))
}

async fn execute_claimed<C: Host>(
    ctx: &C,
    registry: &Registry<C>,
    options: &WorkerOptions,
    shutdown: &CancellationToken,
    job: &JobRecord,
    owner: &str,
) -> Result<Outcome, DbError> {
    let db = ctx.db();
    if job.attempts > job.max_attempts {
        // Claimed again after its last attempt's lease expired: that worker died mid-job.
        let reason = format!(
            "gave up after {} attempts: the worker running the last one stopped without an outcome",
            job.max_attempts
        );
        return record(job, owner, Outcome::Dead { reason }, ctx).await;
    }
    let Some(handler) = registry.get(&job.kind) else {
        // Unreachable: claims are filtered by the registry's kinds. Give it back if it happens.
        store::release(db, job.id, owner).await?;
        return Ok(Outcome::Released);
    };
    let started = Instant::now();
    let work = AssertUnwindSafe(handler.run_record(ctx, job)).catch_unwind();
    tokio::pin!(work);
    let mut heartbeat = tokio::time::interval(options.heartbeat.max(Duration::from_millis(100)));
    heartbeat.tick().await;
    let interrupted = async {
        shutdown.cancelled().await;
        tokio::time::sleep(options.shutdown_grace).await;
    };
    tokio::pin!(interrupted);
    let result = loop {
        tokio::select! {
            result = &mut work => break result,
            _ = heartbeat.tick() => {
                match store::extend_lease(db, job.id, owner, now() + options.lease_secs).await {
                    Ok(true) => {}
                    Ok(false) => warn!("lease lost: another worker may run this job too"),
                    Err(e) => warn!(error = %e, "cannot extend the lease"),
                }
            }
            _ = &mut interrupted => {
                warn!("interrupted by shutdown; giving the job back to the queue");
                store::release(db, job.id, owner).await?;
                return Ok(Outcome::Released);
            }
        }
    };
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let outcome = match result {
        Ok(Ok(())) => Outcome::Done,
        Ok(Err(JobError::Permanent(reason))) => Outcome::Dead { reason },
        Ok(Err(JobError::Retryable {
            reason,
            retry_after,
        })) => retry_or_give_up(job, options, reason, retry_after),
        Err(panic) => {
            let reason = format!(
                "job panicked: {}",
                crate::platform::retry::panic_message(panic.as_ref())
            );
            retry_or_give_up(job, options, reason, None)
        }
    };
    metrics::histogram!("chief_job_duration_ms", "kind" => job.kind.clone())
        .record(elapsed_ms as f64);
    record(job, owner, outcome, ctx).await
}

fn retry_or_give_up(
    job: &JobRecord,
    options: &WorkerOptions,
    reason: String,
    retry_after: Option<Duration>,
) -> Outcome {
    if job.attempts >= job.max_attempts {
        return Outcome::Dead {
            reason: format!("gave up after {} attempts: {reason}", job.attempts),
        };
    }
    let delay = retry_after.unwrap_or_else(|| {
        crate::platform::retry::backoff(job.attempts, options.backoff_base, options.backoff_cap)
    });
    // Rounded up to whole seconds (the queue's clock), so a sub-second delay is still a delay.
    let delay_secs = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
    Outcome::Retry {
        at: now() + delay_secs as i64,
        reason,
    }
}

/// Stores the outcome (guarded by the lease) and counts it.
async fn record(
    job: &JobRecord,
    owner: &str,
    outcome: Outcome,
    ctx: &impl Host,
) -> Result<Outcome, DbError> {
    let db = ctx.db();
    let kind = job.kind.clone();
    let held = match &outcome {
        Outcome::Done => {
            metrics::counter!("chief_jobs_done_total", "kind" => kind).increment(1);
            store::complete(db, job.id, owner).await?
        }
        Outcome::Retry { at, reason } => {
            warn!(%reason, retry_at = at, "job failed; will retry");
            metrics::counter!("chief_jobs_failed_total", "kind" => kind).increment(1);
            store::retry_later(db, job.id, owner, reason, *at).await?
        }
        Outcome::Dead { reason } => {
            error!(%reason, "job is dead");
            metrics::counter!("chief_jobs_failed_total", "kind" => kind.clone()).increment(1);
            metrics::counter!("chief_jobs_dead_total", "kind" => kind).increment(1);
            store::bury(db, job.id, owner, reason).await?
        }
        Outcome::Released | Outcome::LeaseLost => true,
    };
    if held {
        Ok(outcome)
    } else {
        warn!("lease lost before the outcome was stored; the new owner's outcome stands");
        Ok(Outcome::LeaseLost)
    }
}

/// Publishes queue depth by status.
pub async fn refresh_metrics<C: Host>(ctx: &C) {
    match store::counts(ctx.db()).await {
        Ok(c) => {
            metrics::gauge!("chief_jobs_queue_depth").set(c.waiting() as f64);
            metrics::gauge!("chief_jobs", "status" => "queued").set(c.queued as f64);
            metrics::gauge!("chief_jobs", "status" => "running").set(c.running as f64);
            metrics::gauge!("chief_jobs", "status" => "failed").set(c.failed as f64);
            metrics::gauge!("chief_jobs", "status" => "dead").set(c.dead as f64);
        }
        Err(e) => warn!(error = %e, "cannot count jobs"),
    }
}
