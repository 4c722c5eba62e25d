//! The job queue's storage: jobs claimed under a lease by any chief process, fairly across teams.
//!
//! Claim rule (one job per claim): among *due* jobs — `queued` or `failed` with `run_at <= now`, or
//! `running` with an expired lease (its worker died) — take the highest `priority`; among those,
//! the job of the team that was served least recently (`job_teams.served_seq`, a counter bumped on
//! every claim; a team never served comes first); then the oldest `run_at`, then the lowest id.
//! Priority therefore always wins (an active user's work before background work), and within a
//! priority the teams take turns, so one team with a thousand jobs cannot starve a team with one.
//!
//! PostgreSQL claims with `FOR UPDATE OF j SKIP LOCKED`, so replicas never take the same row and
//! never wait on each other; SQLite has a single writer, and the claim's first statement is the
//! write, so the transaction holds the write lock from its start. Under concurrent claimers on
//! PostgreSQL, fairness is approximate: up to one claim per concurrent claimer may go to the same
//! team before its `served_seq` moves.
//!
//! Every state change after the claim is guarded by the claim's `lease_owner`, so a worker whose
//! lease expired (and whose job was reclaimed) cannot overwrite the new owner's outcome.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Backend, Db, DbError, now};

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Waiting for `run_at`.
    Queued,
    /// Leased by a worker until `lease_until`.
    Running,
    /// The last attempt failed with a retryable error; claimable again from `run_at`.
    Failed,
    Done,
    /// Will not run again (permanent failure or attempts exhausted). Kept for inspection.
    Dead,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Failed => "failed",
            JobStatus::Done => "done",
            JobStatus::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DbError> {
        Ok(match s {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "failed" => JobStatus::Failed,
            "done" => JobStatus::Done,
            "dead" => JobStatus::Dead,
            other => {
                return Err(DbError::Corrupt {
                    table: "jobs",
                    reason: format!("unknown status {other:?}"),
                });
            }
        })
    }
}

/// A job to store.
#[derive(Clone, Debug)]
pub struct NewJob<'a> {
    /// The team the work is for; fairness is per team. Work for no team uses `""`.
    pub team_id: &'a str,
    /// The job's name, which picks its handler.
    pub kind: &'a str,
    /// The typed payload as JSON text.
    pub payload: &'a str,
    /// Higher runs first.
    pub priority: i32,
    /// Not before this epoch second.
    pub run_at: i64,
    pub max_attempts: i32,
    /// Unique per team: enqueueing the same key twice returns the first job.
    pub idempotency_key: Option<&'a str>,
}

/// A stored job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JobRecord {
    pub id: i64,
    pub team_id: String,
    pub kind: String,
    pub payload: String,
    pub priority: i32,
    pub run_at: i64,
    pub status: JobStatus,
    /// Claims so far, including the current one.
    pub attempts: i32,
    pub max_attempts: i32,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub last_error: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

const COLUMNS: &str = "id, team_id, kind, payload, priority, run_at, status, attempts, \
     max_attempts, lease_owner, lease_until, last_error, idempotency_key, created_at, updated_at, \
     finished_at";

fn from_row(row: &AnyRow) -> Result<JobRecord, DbError> {
    Ok(JobRecord {
        id: row.try_get("id")?,
        team_id: row.try_get("team_id")?,
        kind: row.try_get("kind")?,
        payload: row.try_get("payload")?,
        priority: row.try_get("priority")?,
        run_at: row.try_get("run_at")?,
        status: JobStatus::parse(&row.try_get::<String, _>("status")?)?,
        attempts: row.try_get("attempts")?,
        max_attempts: row.try_get("max_attempts")?,
        lease_owner: row.try_get("lease_owner")?,
        lease_until: row.try_get("lease_until")?,
        last_error: row.try_get("last_error")?,
        idempotency_key: row.try_get("idempotency_key")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

/// Stores a job. Returns the job and `true`, or — when the team already has a job with this
/// idempotency key, whatever its status — that job and `false`.
pub async fn insert(db: &Db, job: &NewJob<'_>) -> Result<(JobRecord, bool), DbError> {
    let now = now();
    let inserted = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO jobs (team_id, kind, payload, priority, run_at, max_attempts, idempotency_key,
                           created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
         ON CONFLICT (team_id, idempotency_key) DO NOTHING
         RETURNING {COLUMNS}"
    )))
    .bind(job.team_id)
    .bind(job.kind)
    .bind(job.payload)
    .bind(job.priority)
    .bind(job.run_at)
    .bind(job.max_attempts.max(1))
    .bind(job.idempotency_key)
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    if let Some(row) = inserted {
        return Ok((from_row(&row)?, true));
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM jobs WHERE team_id = $1 AND idempotency_key = $2"
    )))
    .bind(job.team_id)
    .bind(job.idempotency_key)
    .fetch_one(db.pool())
    .await?;
    Ok((from_row(&row)?, false))
}

/// Claims the next due job of one of `kinds` for `owner` until `now + lease_secs` (see the module
/// doc for the order). `None` when nothing of those kinds is due.
pub async fn claim(
    db: &Db,
    owner: &str,
    kinds: &[&str],
    now: i64,
    lease_secs: i64,
) -> Result<Option<JobRecord>, DbError> {
    if kinds.is_empty() {
        return Ok(None);
    }
    let kind_params = super::placeholders(4, kinds.len());
    let lock = match db.backend() {
        Backend::Postgres => "FOR UPDATE OF j SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = $1,
                lease_until = $2, updated_at = $3
         WHERE id = (
            SELECT j.id FROM jobs j LEFT JOIN job_teams t ON t.team_id = j.team_id
            WHERE ((j.status IN ('queued', 'failed') AND j.run_at <= $3)
                   OR (j.status = 'running' AND j.lease_until < $3))
              AND j.kind IN ({kind_params})
            ORDER BY j.priority DESC, COALESCE(t.served_seq, 0), j.run_at, j.id
            LIMIT 1
            {lock})
         RETURNING {COLUMNS}"
    );
    let mut tx = db.pool().begin().await?;
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .bind(now + lease_secs)
        .bind(now);
    for kind in kinds {
        query = query.bind(*kind);
    }
    let Some(row) = query.fetch_optional(&mut *tx).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    let job = from_row(&row)?;
    // `WHERE true` keeps SQLite from reading ON CONFLICT as part of the SELECT.
    sqlx::query(
        "INSERT INTO job_teams (team_id, served_seq)
         SELECT $1, COALESCE(MAX(served_seq), 0) + 1 FROM job_teams WHERE true
         ON CONFLICT (team_id) DO UPDATE SET served_seq = excluded.served_seq",
    )
    .bind(&job.team_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(job))
}

/// Extends a lease still held by `owner` (a heartbeat). `false` when the lease was lost.
pub async fn extend_lease(db: &Db, id: i64, owner: &str, until: i64) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE jobs SET lease_until = $3, updated_at = $4
         WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
    )
    .bind(id)
    .bind(owner)
    .bind(until)
    .bind(now())
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a job done. `false` when `owner` no longer held it.
pub async fn complete(db: &Db, id: i64, owner: &str) -> Result<bool, DbError> {
    let now = now();
    let done = sqlx::query(
        "UPDATE jobs SET status = 'done', lease_owner = NULL, lease_until = NULL,
                updated_at = $3, finished_at = $3
         WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
    )
    .bind(id)
    .bind(owner)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a retryable failure: the job is claimable again from `run_at`.
pub async fn retry_later(
    db: &Db,
    id: i64,
    owner: &str,
    error: &str,
    run_at: i64,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE jobs SET status = 'failed', last_error = $3, run_at = $4, lease_owner = NULL,
                lease_until = NULL, updated_at = $5
         WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
    )
    .bind(id)
    .bind(owner)
    .bind(error)
    .bind(run_at)
    .bind(now())
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Parks a job as `dead` with the reason: it will not run again unless [`requeue`]d.
pub async fn bury(db: &Db, id: i64, owner: &str, error: &str) -> Result<bool, DbError> {
    let now = now();
    let done = sqlx::query(
        "UPDATE jobs SET status = 'dead', last_error = $3, lease_owner = NULL, lease_until = NULL,
                updated_at = $4, finished_at = $4
         WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
    )
    .bind(id)
    .bind(owner)
    .bind(error)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives a claimed job back untouched (shutdown interrupted it): queued again at once, and the
/// interrupted attempt does not count.
pub async fn release(db: &Db, id: i64, owner: &str) -> Result<bool, DbError> {
    let now = now();
    let done = sqlx::query(
        "UPDATE jobs SET status = 'queued', run_at = $3, attempts = attempts - 1,
                lease_owner = NULL, lease_until = NULL, updated_at = $3
         WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
    )
    .bind(id)
    .bind(owner)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Expires every running job's lease so the next claim takes it at once. Only for SQLite at
/// start-up: one process per SQLite file, so every lease still held belongs to a dead process.
pub async fn expire_all_leases(db: &Db) -> Result<u64, DbError> {
    let done = sqlx::query("UPDATE jobs SET lease_until = 0 WHERE status = 'running'")
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

/// Puts a `dead` (or `failed`) job back in the queue with a fresh set of attempts.
pub async fn requeue(db: &Db, id: i64) -> Result<bool, DbError> {
    let now = now();
    let done = sqlx::query(
        "UPDATE jobs SET status = 'queued', attempts = 0, run_at = $2, updated_at = $2,
                finished_at = NULL
         WHERE id = $1 AND status IN ('dead', 'failed')",
    )
    .bind(id)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get(db: &Db, id: i64) -> Result<Option<JobRecord>, DbError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM jobs WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Jobs by status, for metrics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub queued: i64,
    pub running: i64,
    pub failed: i64,
    pub done: i64,
    pub dead: i64,
}

impl Counts {
    /// Jobs still to run (queued, or failed and waiting for a retry).
    pub fn waiting(&self) -> i64 {
        self.queued + self.failed
    }
}

pub async fn counts(db: &Db) -> Result<Counts, DbError> {
    let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status")
        .fetch_all(db.pool())
        .await?;
    let mut counts = Counts::default();
    for row in rows {
        let n: i64 = row.try_get("n")?;
        match JobStatus::parse(&row.try_get::<String, _>("status")?)? {
            JobStatus::Queued => counts.queued = n,
            JobStatus::Running => counts.running = n,
            JobStatus::Failed => counts.failed = n,
            JobStatus::Done => counts.done = n,
            JobStatus::Dead => counts.dead = n,
        }
    }
    Ok(counts)
}

/// Drops `done` jobs finished before `before`. Failed and dead jobs are never deleted here.
pub async fn purge_done(db: &Db, before: i64) -> Result<u64, DbError> {
    let done = sqlx::query("DELETE FROM jobs WHERE status = 'done' AND finished_at < $1")
        .bind(before)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

/// Deletes every job of a team (uninstall).
pub async fn delete_team(db: &Db, team_id: &str) -> Result<u64, DbError> {
    let done = sqlx::query("DELETE FROM jobs WHERE team_id = $1")
        .bind(team_id)
        .execute(db.pool())
        .await?;
    sqlx::query("DELETE FROM job_teams WHERE team_id = $1")
        .bind(team_id)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}
