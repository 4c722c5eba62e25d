//! The job queue: work stored in the database and done later, by whichever `chief` process claims
//! it first, fairly across teams.
//!
//! A job type implements [`Job`] (a unique [`Job::NAME`], a typed serde payload, an async `run`),
//! is listed in `app::default_jobs` (the composition root), and is enqueued with [`enqueue`]. The [`worker`] claims due jobs
//! (see [`crate::platform::db::jobs`] for the claim order), runs them under a lease it keeps extending, and
//! records the outcome: `done`; a [`JobError::Retryable`] failure is retried with exponential
//! back-off and jitter until `max_attempts`, then `dead`; a [`JobError::Permanent`] failure is
//! `dead` at once. Nothing failed is ever deleted: `dead` jobs keep their last error.
//!
//! Delivery is at-least-once (a worker that dies mid-job leaves a lease that expires, and the job
//! runs again), so jobs are written to be re-runnable — usually by composing a durable
//! [`crate::platform::runs::Run`], whose finished steps are not redone.

pub mod worker;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use super::Host;
use crate::platform::db::jobs::{self as store, JobRecord, NewJob};
use crate::platform::db::{Db, DbError};
use crate::platform::retry::{Chain, Retryable};

/// Suggested priorities: higher is claimed first, whatever the team.
pub mod priority {
    /// Someone is waiting on the answer right now (a click, a slash command).
    pub const INTERACTIVE: i32 = 100;
    /// Work for a user who is active (e.g. the briefing of someone who just came online).
    pub const ACTIVE_USER: i32 = 50;
    /// Everything else: scheduled briefings, backfills, summaries nobody waits for yet.
    pub const BACKGROUND: i32 = 0;
}

/// Attempts a job gets unless its type or its enqueuer says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 5;

/// How a job failed, which decides whether it is retried.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// May work later (database, Slack or model unavailable): retried with back-off, or after
    /// `retry_after` when the failure says how long to wait (a 429's `Retry-After`).
    #[error("{reason}")]
    Retryable {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Will never work (bad payload, missing team, a bug caught as an error): `dead` at once.
    #[error("{0}")]
    Permanent(String),
}

impl JobError {
    pub fn retryable(reason: impl Into<String>) -> Self {
        JobError::Retryable {
            reason: reason.into(),
            retry_after: None,
        }
    }

    pub fn retry_after(reason: impl Into<String>, after: Duration) -> Self {
        JobError::Retryable {
            reason: reason.into(),
            retry_after: Some(after),
        }
    }

    pub fn permanent(reason: impl Into<String>) -> Self {
        JobError::Permanent(reason.into())
    }
}

/// Any failure that says whether a later try can help becomes the queue's retry or `dead`: its
/// whole chain is the job's recorded reason, and a wait it asks for (a 429's `Retry-After`) is
/// honoured. Job code therefore uses `?` on its own typed errors.
impl<E: Retryable> From<E> for JobError {
    fn from(e: E) -> Self {
        let reason = Chain(&e).to_string();
        if e.is_transient() {
            JobError::Retryable {
                reason,
                retry_after: e.retry_after(),
            }
        } else {
            JobError::Permanent(reason)
        }
    }
}

/// A kind of job: a name, a payload type and what to do with one, given the context `Ctx` the
/// worker runs with (the composition root's; the queue itself only needs its [`Host`] half).
///
/// ```ignore
/// struct Briefing;
/// impl Job for Briefing {
///     const NAME: &'static str = "briefing";
///     type Ctx = Context;
///     type Payload = BriefingRequest;
///     async fn run(&self, ctx: &Context, req: BriefingRequest, job: &JobRecord) -> Result<(), JobError> { … }
/// }
/// ```
pub trait Job: Send + Sync + 'static {
    /// Unique among registered jobs; stored in `jobs.kind`, so never rename a job that may be
    /// queued.
    const NAME: &'static str;
    /// Attempts before the job is parked as `dead` (each claim counts, crashes included).
    const MAX_ATTEMPTS: i32 = DEFAULT_MAX_ATTEMPTS;
    /// Priority when the enqueuer does not choose one.
    const PRIORITY: i32 = priority::BACKGROUND;

    /// What the job runs with.
    type Ctx: Host;
    type Payload: Serialize + DeserializeOwned + Send + Sync;

    /// Does the work. Called at least once per job, possibly more (see the module doc).
    fn run(
        &self,
        ctx: &Self::Ctx,
        payload: Self::Payload,
        job: &JobRecord,
    ) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// A [`Job`] with its payload type erased, as the registry holds it.
pub trait DynJob<C>: Send + Sync {
    fn name(&self) -> &'static str;
    /// Decodes the payload (a payload that does not decode is a permanent failure) and runs.
    fn run_record<'a>(
        &'a self,
        ctx: &'a C,
        job: &'a JobRecord,
    ) -> BoxFuture<'a, Result<(), JobError>>;
}

impl<J: Job> DynJob<J::Ctx> for J {
    fn name(&self) -> &'static str {
        J::NAME
    }

    fn run_record<'a>(
        &'a self,
        ctx: &'a J::Ctx,
        job: &'a JobRecord,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            let payload: J::Payload = serde_json::from_str(&job.payload).map_err(|e| {
                JobError::permanent(format!("payload of {} job does not decode: {e}", J::NAME))
            })?;
            self.run(ctx, payload, job).await
        })
    }
}

/// Two registered jobs share a name.
#[derive(Debug, thiserror::Error)]
#[error("two jobs are named {0:?}: job names must be unique")]
pub struct DuplicateJob(pub &'static str);

/// Job names → handlers. A worker only claims the kinds its registry knows, so a replica running
/// an older build leaves newer kinds to the replicas that can run them.
pub struct Registry<C> {
    jobs: BTreeMap<&'static str, Arc<dyn DynJob<C>>>,
}

impl<C> Clone for Registry<C> {
    fn clone(&self) -> Self {
        Registry {
            jobs: self.jobs.clone(),
        }
    }
}

impl<C> Default for Registry<C> {
    fn default() -> Self {
        Registry {
            jobs: BTreeMap::new(),
        }
    }
}

impl<C> std::fmt::Debug for Registry<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.jobs.keys()).finish()
    }
}

impl<C: Host> Registry<C> {
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry of `jobs`; fails when two share a name.
    pub fn from_jobs(jobs: Vec<Arc<dyn DynJob<C>>>) -> Result<Self, DuplicateJob> {
        let mut registry = Registry::new();
        for job in jobs {
            registry.insert(job)?;
        }
        Ok(registry)
    }

    pub fn register<J: Job<Ctx = C>>(&mut self, job: J) -> Result<(), DuplicateJob> {
        self.insert(Arc::new(job))
    }

    /// Builder form of [`Registry::register`].
    pub fn with<J: Job<Ctx = C>>(mut self, job: J) -> Result<Self, DuplicateJob> {
        self.register(job)?;
        Ok(self)
    }

    fn insert(&mut self, job: Arc<dyn DynJob<C>>) -> Result<(), DuplicateJob> {
        let name = job.name();
        if self.jobs.insert(name, job).is_some() {
            return Err(DuplicateJob(name));
        }
        Ok(())
    }

    pub fn get(&self, kind: &str) -> Option<&Arc<dyn DynJob<C>>> {
        self.jobs.get(kind)
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.jobs.keys().copied().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }
}

/// Options of one enqueue; unset fields take the job type's defaults.
#[derive(Clone, Debug, Default)]
pub struct EnqueueOptions {
    pub priority: Option<i32>,
    /// Epoch second before which the job does not run (default: now).
    pub run_at: Option<i64>,
    pub max_attempts: Option<i32>,
    /// Enqueueing the same key twice (per team) returns the first job instead of adding one.
    pub idempotency_key: Option<String>,
}

impl EnqueueOptions {
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = Some(priority);
        self
    }

    pub fn run_at(mut self, epoch_secs: i64) -> Self {
        self.run_at = Some(epoch_secs);
        self
    }

    pub fn max_attempts(mut self, attempts: i32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
}

/// The job an enqueue produced or found.
#[derive(Clone, Debug)]
pub struct Enqueued {
    pub job: JobRecord,
    /// `false` when the idempotency key already named a job, which is returned instead.
    pub created: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("payload of {kind} job does not serialize")]
    Payload {
        kind: &'static str,
        source: serde_json::Error,
    },
}

impl Retryable for EnqueueError {
    fn is_transient(&self) -> bool {
        match self {
            EnqueueError::Db(e) => e.is_transient(),
            // The same payload will not serialize next time either.
            EnqueueError::Payload { .. } => false,
        }
    }
}

/// Woken by every enqueue in this process, so idle workers do not wait for their next poll.
pub(crate) static JOBS_READY: Notify = Notify::const_new();

/// Enqueues a `J` job for `team_id`.
pub async fn enqueue<J: Job>(
    db: &Db,
    team_id: &str,
    payload: &J::Payload,
    options: EnqueueOptions,
) -> Result<Enqueued, EnqueueError> {
    let payload = serde_json::to_string(payload).map_err(|source| EnqueueError::Payload {
        kind: J::NAME,
        source,
    })?;
    let (job, created) = store::insert(
        db,
        &NewJob {
            team_id,
            kind: J::NAME,
            payload: &payload,
            priority: options.priority.unwrap_or(J::PRIORITY),
            run_at: options.run_at.unwrap_or_else(crate::platform::db::now),
            max_attempts: options.max_attempts.unwrap_or(J::MAX_ATTEMPTS),
            idempotency_key: options.idempotency_key.as_deref(),
        },
    )
    .await?;
    if created {
        metrics::counter!("chief_jobs_enqueued_total", "kind" => J::NAME).increment(1);
        JOBS_READY.notify_waiters();
    }
    Ok(Enqueued { job, created })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Noop;
    impl Job for Noop {
        const NAME: &'static str = "noop";
        type Ctx = crate::platform::Standalone;
        type Payload = ();
        async fn run(
            &self,
            _: &crate::platform::Standalone,
            _: (),
            _: &JobRecord,
        ) -> Result<(), JobError> {
            Ok(())
        }
    }

    #[test]
    fn a_duplicate_name_is_refused() {
        let registry = Registry::new().with(Noop).unwrap();
        assert_eq!(registry.names(), vec!["noop"]);
        let err = registry.with(Noop).unwrap_err();
        assert_eq!(err.0, "noop");
    }
}
