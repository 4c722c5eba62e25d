//! The job queue, on SQLite and on PostgreSQL: idempotent enqueue, priority, `run_at`, back-off,
//! dead jobs, expired leases, fairness across teams, and exactly-once execution under concurrent
//! workers with their own pools.

#[macro_use]
mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chief::features::context::Context;
use chief::platform::db::jobs::{self as store, JobRecord, JobStatus, NewJob};
use chief::platform::db::{Db, now};
use chief::platform::jobs::worker::{self, Outcome, WorkerOptions};
use chief::platform::jobs::{EnqueueOptions, Job, JobError, Registry, enqueue, priority};
use chief::testkit::scratch::ScratchDb;
use common::bare_context;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

on_both_backends!(
    enqueue_is_idempotent_per_team,
    higher_priority_is_claimed_first,
    a_job_waits_for_its_run_at,
    a_retryable_failure_backs_off_then_dies_after_max_attempts,
    a_permanent_failure_is_dead_at_once,
    a_panicking_job_is_retried_not_lost,
    an_expired_lease_is_reclaimed,
    a_job_whose_worker_died_on_its_last_attempt_is_dead,
    expiring_all_leases_resumes_running_jobs_at_once,
    teams_take_turns_within_a_priority,
    a_worker_claims_only_kinds_it_knows,
    concurrent_workers_run_each_job_exactly_once,
    the_worker_loop_drains_and_gives_interrupted_jobs_back,
);

/// Options for tests: no real waiting between retries.
fn no_backoff() -> WorkerOptions {
    WorkerOptions {
        backoff_base: Duration::ZERO,
        ..WorkerOptions::default()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Numbered {
    n: u32,
}

/// Counts how often each payload ran.
#[derive(Clone, Default)]
struct Count {
    runs: Arc<Mutex<HashMap<u32, u32>>>,
}

impl Job for Count {
    type Ctx = Context;
    const NAME: &'static str = "count";
    type Payload = Numbered;
    async fn run(&self, _: &Context, p: Numbered, _: &JobRecord) -> Result<(), JobError> {
        *self
            .runs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(p.n)
            .or_default() += 1;
        tokio::task::yield_now().await;
        Ok(())
    }
}

/// Always fails with a retryable error.
#[derive(Clone, Default)]
struct Flaky {
    calls: Arc<AtomicUsize>,
}

impl Job for Flaky {
    type Ctx = Context;
    const NAME: &'static str = "flaky";
    const MAX_ATTEMPTS: i32 = 3;
    type Payload = ();
    async fn run(&self, _: &Context, _: (), _: &JobRecord) -> Result<(), JobError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err(JobError::retryable("model server unavailable"))
    }
}

struct Broken;

impl Job for Broken {
    type Ctx = Context;
    const NAME: &'static str = "broken";
    type Payload = ();
    async fn run(&self, _: &Context, _: (), _: &JobRecord) -> Result<(), JobError> {
        Err(JobError::permanent("team is not installed"))
    }
}

struct Panics;

impl Job for Panics {
    type Ctx = Context;
    const NAME: &'static str = "panics";
    type Payload = ();
    async fn run(&self, _: &Context, _: (), _: &JobRecord) -> Result<(), JobError> {
        panic!("index out of bounds")
    }
}

/// Never finishes (a job still running at shutdown).
struct Hangs;

impl Job for Hangs {
    type Ctx = Context;
    const NAME: &'static str = "hangs";
    type Payload = ();
    async fn run(&self, _: &Context, _: (), _: &JobRecord) -> Result<(), JobError> {
        futures::future::pending::<()>().await;
        Ok(())
    }
}

fn job<'a>(team: &'a str, kind: &'a str) -> NewJob<'a> {
    NewJob {
        team_id: team,
        kind,
        payload: "null",
        priority: 0,
        run_at: now(),
        max_attempts: 5,
        idempotency_key: None,
    }
}

async fn enqueue_is_idempotent_per_team(scratch: &ScratchDb) {
    let db = &scratch.db;
    let key = || EnqueueOptions::default().idempotency_key("briefing:U1:2026-05-01");
    let first = enqueue::<Count>(db, "T1", &Numbered { n: 1 }, key())
        .await
        .unwrap();
    assert!(first.created);
    let again = enqueue::<Count>(db, "T1", &Numbered { n: 2 }, key())
        .await
        .unwrap();
    assert!(!again.created, "the same key is a no-op");
    assert_eq!(again.job.id, first.job.id, "…that returns the existing job");
    assert_eq!(again.job.payload, r#"{"n":1}"#);
    let other_team = enqueue::<Count>(db, "T2", &Numbered { n: 3 }, key())
        .await
        .unwrap();
    assert!(other_team.created, "keys are per team");
    for _ in 0..2 {
        let unkeyed = enqueue::<Count>(db, "T1", &Numbered { n: 4 }, Default::default())
            .await
            .unwrap();
        assert!(unkeyed.created, "jobs without a key are never collapsed");
    }
    assert_eq!(store::counts(db).await.unwrap().queued, 4);

    // Even a finished job keeps its key: the purpose is not done twice.
    let ctx = bare_context(db, &scratch.url);
    let registry = Registry::new().with(Count::default()).unwrap();
    while worker::try_execute_one(&ctx, &registry)
        .await
        .unwrap()
        .is_some()
    {}
    let after = enqueue::<Count>(db, "T1", &Numbered { n: 5 }, key())
        .await
        .unwrap();
    assert!(!after.created);
    assert_eq!(after.job.status, JobStatus::Done);
}

async fn higher_priority_is_claimed_first(scratch: &ScratchDb) {
    let db = &scratch.db;
    for (p, team) in [
        (priority::BACKGROUND, "T1"),
        (priority::INTERACTIVE, "T2"),
        (priority::ACTIVE_USER, "T1"),
    ] {
        store::insert(
            db,
            &NewJob {
                priority: p,
                ..job(team, "count")
            },
        )
        .await
        .unwrap();
    }
    let mut order = vec![];
    while let Some(j) = store::claim(db, "w", &["count"], now(), 60).await.unwrap() {
        order.push(j.priority);
    }
    assert_eq!(
        order,
        vec![
            priority::INTERACTIVE,
            priority::ACTIVE_USER,
            priority::BACKGROUND
        ]
    );
}

async fn a_job_waits_for_its_run_at(scratch: &ScratchDb) {
    let db = &scratch.db;
    let t = now();
    let later = store::insert(
        db,
        &NewJob {
            run_at: t + 3600,
            ..job("T1", "count")
        },
    )
    .await
    .unwrap()
    .0;
    assert!(
        store::claim(db, "w", &["count"], t, 60)
            .await
            .unwrap()
            .is_none()
    );
    let claimed = store::claim(db, "w", &["count"], t + 3600, 60)
        .await
        .unwrap()
        .expect("due at run_at");
    assert_eq!(claimed.id, later.id);
    assert_eq!(claimed.status, JobStatus::Running);
    assert_eq!(claimed.attempts, 1);
}

async fn a_retryable_failure_backs_off_then_dies_after_max_attempts(scratch: &ScratchDb) {
    let db = &scratch.db;
    let ctx = bare_context(db, &scratch.url);
    let flaky = Flaky::default();
    let registry = Registry::new().with(flaky.clone()).unwrap();
    let id = enqueue::<Flaky>(db, "T1", &(), Default::default())
        .await
        .unwrap()
        .job
        .id;

    // Default options: the first retry comes 5–10 s later (10 s base, equal jitter).
    let before = now();
    let executed = worker::try_execute_one(&ctx, &registry)
        .await
        .unwrap()
        .unwrap();
    let Outcome::Retry { at, reason } = executed.outcome else {
        panic!("expected a retry, got {:?}", executed.outcome)
    };
    assert_eq!(reason, "model server unavailable");
    assert!(
        at >= before + 5 && at <= now() + 10,
        "retry at {at}, now {before}"
    );
    let stored = store::get(db, id).await.unwrap().unwrap();
    assert_eq!(stored.status, JobStatus::Failed);
    assert_eq!(stored.attempts, 1);
    assert_eq!(stored.run_at, at);
    assert_eq!(
        stored.last_error.as_deref(),
        Some("model server unavailable")
    );
    assert!(stored.lease_owner.is_none());
    assert!(
        worker::try_execute_one(&ctx, &registry)
            .await
            .unwrap()
            .is_none(),
        "not retried before its back-off"
    );

    // Later attempts without waiting: bring the retry forward, then no back-off. Dead after
    // MAX_ATTEMPTS = 3.
    sqlx::query("UPDATE jobs SET run_at = 0")
        .execute(db.pool())
        .await
        .unwrap();
    let second = worker::try_execute_one_with(&ctx, &registry, &no_backoff())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(second.outcome, Outcome::Retry { .. }));
    let third = worker::try_execute_one_with(&ctx, &registry, &no_backoff())
        .await
        .unwrap()
        .unwrap();
    let Outcome::Dead { reason } = third.outcome else {
        panic!("expected dead, got {:?}", third.outcome)
    };
    assert_eq!(reason, "gave up after 3 attempts: model server unavailable");
    assert_eq!(flaky.calls.load(Ordering::SeqCst), 3);
    let dead = store::get(db, id).await.unwrap().unwrap();
    assert_eq!(dead.status, JobStatus::Dead);
    assert_eq!(dead.attempts, 3);
    assert!(dead.finished_at.is_some());
    assert!(
        worker::try_execute_one_with(&ctx, &registry, &no_backoff())
            .await
            .unwrap()
            .is_none(),
        "a dead job never runs again"
    );

    // Kept, not deleted, and requeueable by hand.
    assert_eq!(store::purge_done(db, now() + 10).await.unwrap(), 0);
    assert!(store::requeue(db, id).await.unwrap());
    assert!(
        worker::try_execute_one_with(&ctx, &registry, &no_backoff())
            .await
            .unwrap()
            .is_some()
    );
}

async fn a_permanent_failure_is_dead_at_once(scratch: &ScratchDb) {
    let db = &scratch.db;
    let ctx = bare_context(db, &scratch.url);
    let registry = Registry::new().with(Broken).unwrap();
    let id = enqueue::<Broken>(db, "T1", &(), Default::default())
        .await
        .unwrap()
        .job
        .id;
    let executed = worker::try_execute_one(&ctx, &registry)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        executed.outcome,
        Outcome::Dead {
            reason: "team is not installed".into()
        }
    );
    let dead = store::get(db, id).await.unwrap().unwrap();
    assert_eq!(dead.status, JobStatus::Dead);
    assert_eq!(dead.attempts, 1);
    assert_eq!(dead.last_error.as_deref(), Some("team is not installed"));

    // A payload that does not decode is permanent too.
    store::insert(
        db,
        &NewJob {
            payload: "{not json",
            ..job("T1", "broken")
        },
    )
    .await
    .unwrap();
    let executed = worker::try_execute_one(&ctx, &registry)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(&executed.outcome, Outcome::Dead { reason } if reason.contains("does not decode"))
    );
    assert_eq!(store::counts(db).await.unwrap().dead, 2);
}

async fn a_panicking_job_is_retried_not_lost(scratch: &ScratchDb) {
    let db = &scratch.db;
    let ctx = bare_context(db, &scratch.url);
    let registry = Registry::new().with(Panics).unwrap();
    enqueue::<Panics>(db, "T1", &(), Default::default())
        .await
        .unwrap();
    let executed = worker::try_execute_one(&ctx, &registry)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(&executed.outcome, Outcome::Retry { reason, .. } if reason == "job panicked: index out of bounds"),
        "{:?}",
        executed.outcome
    );
    assert_eq!(store::counts(db).await.unwrap().failed, 1);
}

async fn an_expired_lease_is_reclaimed(scratch: &ScratchDb) {
    let db = &scratch.db;
    let id = store::insert(db, &job("T1", "count")).await.unwrap().0.id;
    let t = now();
    let first = store::claim(db, "crashed", &["count"], t, 60)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.lease_until, Some(t + 60));
    assert!(
        store::claim(db, "other", &["count"], t + 30, 60)
            .await
            .unwrap()
            .is_none(),
        "a live lease is respected"
    );
    assert!(
        store::extend_lease(db, id, "crashed", t + 90)
            .await
            .unwrap()
    );
    assert!(
        store::claim(db, "other", &["count"], t + 61, 60)
            .await
            .unwrap()
            .is_none(),
        "a heartbeat extends the lease"
    );
    let second = store::claim(db, "other", &["count"], t + 91, 60)
        .await
        .unwrap()
        .expect("an expired lease is reclaimable");
    assert_eq!(second.id, id);
    assert_eq!(second.attempts, 2);
    assert_eq!(second.lease_owner.as_deref(), Some("other"));
    assert!(
        !store::extend_lease(db, id, "crashed", t + 200)
            .await
            .unwrap(),
        "the old owner lost its lease"
    );
    assert!(
        !store::complete(db, id, "crashed").await.unwrap(),
        "the old owner cannot record an outcome"
    );
    assert!(store::complete(db, id, "other").await.unwrap());
    assert_eq!(
        store::get(db, id).await.unwrap().unwrap().status,
        JobStatus::Done
    );
}

async fn a_job_whose_worker_died_on_its_last_attempt_is_dead(scratch: &ScratchDb) {
    let db = &scratch.db;
    let ctx = bare_context(db, &scratch.url);
    let count = Count::default();
    let registry = Registry::new().with(count.clone()).unwrap();
    store::insert(
        db,
        &NewJob {
            max_attempts: 1,
            payload: r#"{"n":1}"#,
            run_at: now() - 300,
            ..job("T1", "count")
        },
    )
    .await
    .unwrap();
    // A process claimed it two minutes ago and died: its lease ran out a minute ago.
    store::claim(db, "dead-process", &["count"], now() - 120, 60)
        .await
        .unwrap()
        .unwrap();
    let executed = worker::try_execute_one(&ctx, &registry)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(executed.outcome, Outcome::Dead { .. }));
    assert!(
        count.runs.lock().unwrap().is_empty(),
        "not run a second time"
    );
}

async fn expiring_all_leases_resumes_running_jobs_at_once(scratch: &ScratchDb) {
    let db = &scratch.db;
    let ctx = bare_context(db, &scratch.url);
    let count = Count::default();
    let registry = Registry::new().with(count.clone()).unwrap();
    store::insert(
        db,
        &NewJob {
            payload: r#"{"n":7}"#,
            ..job("T1", "count")
        },
    )
    .await
    .unwrap();
    store::claim(db, "killed-process", &["count"], now(), 3600)
        .await
        .unwrap()
        .unwrap();
    assert!(
        worker::try_execute_one(&ctx, &registry)
            .await
            .unwrap()
            .is_none()
    );
    // What the worker does at start-up on SQLite (one process per file).
    assert_eq!(store::expire_all_leases(db).await.unwrap(), 1);
    let executed = worker::try_execute_one(&ctx, &registry)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(executed.outcome, Outcome::Done);
    assert_eq!(executed.job.attempts, 2);
    assert_eq!(count.runs.lock().unwrap()[&7], 1);
}

async fn teams_take_turns_within_a_priority(scratch: &ScratchDb) {
    let db = &scratch.db;
    for _ in 0..100 {
        store::insert(db, &job("TA", "count")).await.unwrap();
    }
    store::insert(db, &job("TB", "count")).await.unwrap();
    let claim = || async {
        store::claim(db, "w", &["count"], now(), 60)
            .await
            .unwrap()
            .unwrap()
            .team_id
    };
    let first_two = [claim().await, claim().await];
    assert!(
        first_two.contains(&"TB".to_string()),
        "team B's one job is claimed within the first two claims: {first_two:?}"
    );
    assert_eq!(claim().await, "TA");

    // With three teams waiting, they are served in turn.
    for team in ["TC", "TD"] {
        for _ in 0..3 {
            store::insert(db, &job(team, "count")).await.unwrap();
        }
    }
    let mut order = vec![];
    for _ in 0..6 {
        order.push(claim().await);
    }
    assert_eq!(order, ["TC", "TD", "TA", "TC", "TD", "TA"]);

    // Priority comes before fairness: the team just served still goes first with urgent work.
    store::insert(
        db,
        &NewJob {
            priority: priority::INTERACTIVE,
            ..job("TA", "count")
        },
    )
    .await
    .unwrap();
    assert_eq!(claim().await, "TA");
}

async fn a_worker_claims_only_kinds_it_knows(scratch: &ScratchDb) {
    let db = &scratch.db;
    let ctx = bare_context(db, &scratch.url);
    store::insert(db, &job("T1", "from_a_newer_release"))
        .await
        .unwrap();
    let registry = Registry::new().with(Count::default()).unwrap();
    assert!(
        worker::try_execute_one(&ctx, &registry)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        worker::try_execute_one(&ctx, &Registry::<Context>::new())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store::counts(db).await.unwrap().queued, 1);
}

async fn concurrent_workers_run_each_job_exactly_once(scratch: &ScratchDb) {
    const JOBS: u32 = 500;
    const WORKERS: usize = 4;
    let db = &scratch.db;
    for n in 0..JOBS {
        enqueue::<Count>(
            db,
            ["T1", "T2", "T3"][n as usize % 3],
            &Numbered { n },
            EnqueueOptions::default().priority((n % 2) as i32),
        )
        .await
        .unwrap();
    }
    let count = Count::default();
    let mut workers = vec![];
    for _ in 0..WORKERS {
        // Each worker is its own "process": its own pool and instance id.
        let own_db = Db::connect(&scratch.url).await.unwrap();
        let ctx = bare_context(&own_db, &scratch.url);
        let registry = Registry::new().with(count.clone()).unwrap();
        workers.push(tokio::spawn(async move {
            let mut ran = 0;
            while let Some(executed) = worker::try_execute_one(&ctx, &registry).await.unwrap() {
                assert_eq!(executed.outcome, Outcome::Done);
                ran += 1;
            }
            own_db.close().await;
            ran
        }));
    }
    let mut per_worker = vec![];
    for w in workers {
        per_worker.push(w.await.unwrap());
    }
    println!("jobs run per worker: {per_worker:?}");
    let total: usize = per_worker.iter().sum();
    assert_eq!(total, JOBS as usize);
    let runs = count.runs.lock().unwrap().clone();
    assert_eq!(runs.len(), JOBS as usize, "every job ran");
    assert!(runs.values().all(|&n| n == 1), "no job ran twice");
    let counts = store::counts(db).await.unwrap();
    assert_eq!(counts.done, JOBS as i64);
    assert_eq!(counts.waiting() + counts.running + counts.dead, 0);
}

async fn the_worker_loop_drains_and_gives_interrupted_jobs_back(scratch: &ScratchDb) {
    let db = &scratch.db;
    let ctx = bare_context(db, &scratch.url);
    let count = Count::default();
    let registry = Arc::new(
        Registry::new()
            .with(count.clone())
            .unwrap()
            .with(Hangs)
            .unwrap(),
    );
    let shutdown = CancellationToken::new();
    let options = WorkerOptions {
        concurrency: 2,
        idle_poll: Duration::from_millis(50),
        shutdown_grace: Duration::ZERO,
        ..WorkerOptions::default()
    };
    let running = tokio::spawn(worker::run_with(
        ctx.clone(),
        registry,
        options,
        shutdown.clone(),
    ));
    let hang = enqueue::<Hangs>(db, "T1", &(), Default::default())
        .await
        .unwrap()
        .job
        .id;
    for n in 0..20 {
        enqueue::<Count>(db, "T2", &Numbered { n }, Default::default())
            .await
            .unwrap();
    }
    // Bounded wait for the loop to drain the queue (not a timing assertion).
    for _ in 0..600 {
        let c = store::counts(db).await.unwrap();
        if c.done == 20 && c.running == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(store::counts(db).await.unwrap().done, 20);
    shutdown.cancel();
    running.await.unwrap();
    let given_back = store::get(db, hang).await.unwrap().unwrap();
    assert_eq!(
        given_back.status,
        JobStatus::Queued,
        "shutdown gave it back"
    );
    assert_eq!(
        given_back.attempts, 0,
        "an interrupted attempt does not count"
    );
    assert!(given_back.lease_owner.is_none());
}
