//! Backfill jobs: one row per (team, channel) with the progress that makes a backfill resumable
//! (the history cursor, then the last thread fetched) and a lease so one process runs it.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, DbError, now};

/// Where a backfill stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub team_id: String,
    pub channel_id: String,
    /// Window start (epoch seconds).
    pub oldest: i64,
    /// `pending`, `running`, `done` or `failed`.
    pub status: String,
    /// `history` then `replies`.
    pub phase: String,
    /// The next `conversations.history` page, while in `history`.
    pub cursor: Option<String>,
    /// The last thread whose replies were fetched, while in `replies`.
    pub last_thread_ts: Option<String>,
    pub messages: i64,
    pub threads: i64,
    pub last_error: Option<String>,
}

const COLUMNS: &str = "team_id, channel_id, oldest, status, phase, cursor, last_thread_ts, messages, threads, last_error";

fn job(row: &AnyRow) -> Result<Job, DbError> {
    Ok(Job {
        team_id: row.try_get("team_id")?,
        channel_id: row.try_get("channel_id")?,
        oldest: row.try_get("oldest")?,
        status: row.try_get("status")?,
        phase: row.try_get("phase")?,
        cursor: row.try_get("cursor")?,
        last_thread_ts: row.try_get("last_thread_ts")?,
        messages: row.try_get("messages")?,
        threads: row.try_get("threads")?,
        last_error: row.try_get("last_error")?,
    })
}

/// Asks for a backfill of a channel from `oldest`. A job already running is left alone; any other
/// starts over with the new window.
pub async fn request(db: &Db, team_id: &str, channel_id: &str, oldest: i64) -> Result<(), DbError> {
    let now = now();
    sqlx::query(
        "INSERT INTO backfill_jobs (team_id, channel_id, oldest, status, phase, requested_at, updated_at)
         VALUES ($1, $2, $3, 'pending', 'history', $4, $4)
         ON CONFLICT (team_id, channel_id) DO UPDATE SET
            oldest = excluded.oldest, status = 'pending', phase = 'history', cursor = NULL,
            last_thread_ts = NULL, messages = 0, threads = 0, next_attempt_at = 0,
            lease_owner = NULL, lease_until = NULL, last_error = NULL,
            requested_at = excluded.requested_at, updated_at = excluded.updated_at
         WHERE backfill_jobs.status <> 'running' OR backfill_jobs.lease_until < $4",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(oldest)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}

pub async fn get(db: &Db, team_id: &str, channel_id: &str) -> Result<Option<Job>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM backfill_jobs WHERE team_id = $1 AND channel_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team_id)
        .bind(channel_id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(job).transpose()
}

/// Takes one job for `owner`: a given one, or the oldest due one. `None` when there is none (or
/// another process got it first).
pub async fn claim(
    db: &Db,
    owner: &str,
    lease_secs: i64,
    which: Option<(&str, &str)>,
) -> Result<Option<Job>, DbError> {
    let now = now();
    let due = "((status = 'pending' AND next_attempt_at <= $1) OR (status = 'running' AND lease_until < $1))";
    let candidate = match which {
        Some((team, channel)) => {
            let sql = format!(
                "SELECT team_id, channel_id FROM backfill_jobs
                 WHERE {due} AND team_id = $2 AND channel_id = $3"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(now)
                .bind(team)
                .bind(channel)
                .fetch_optional(db.pool())
                .await?
        }
        None => {
            let sql = format!(
                "SELECT team_id, channel_id FROM backfill_jobs WHERE {due}
                 ORDER BY requested_at, team_id, channel_id LIMIT 1"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(now)
                .fetch_optional(db.pool())
                .await?
        }
    };
    let Some(candidate) = candidate else {
        return Ok(None);
    };
    let team: String = candidate.try_get("team_id")?;
    let channel: String = candidate.try_get("channel_id")?;
    // Re-checked in the UPDATE: of two processes, one claims and the other gets no row.
    let sql = format!(
        "UPDATE backfill_jobs SET status = 'running', lease_owner = $4, lease_until = $5, updated_at = $1
         WHERE team_id = $2 AND channel_id = $3 AND {due}
         RETURNING {COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(&team)
        .bind(&channel)
        .bind(owner)
        .bind(now + lease_secs)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(job).transpose()
}

/// Records progress and renews the lease.
pub async fn save_progress(
    db: &Db,
    job: &Job,
    owner: &str,
    lease_secs: i64,
) -> Result<(), DbError> {
    let now = now();
    sqlx::query(
        "UPDATE backfill_jobs SET phase = $3, cursor = $4, last_thread_ts = $5, messages = $6,
                threads = $7, lease_until = $8, updated_at = $9
         WHERE team_id = $1 AND channel_id = $2 AND lease_owner = $10",
    )
    .bind(&job.team_id)
    .bind(&job.channel_id)
    .bind(&job.phase)
    .bind(&job.cursor)
    .bind(&job.last_thread_ts)
    .bind(job.messages)
    .bind(job.threads)
    .bind(now + lease_secs)
    .bind(now)
    .bind(owner)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Ends a job: `done`, or `failed` with the reason.
pub async fn finish(db: &Db, job: &Job, error: Option<&str>) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE backfill_jobs SET status = $3, messages = $4, threads = $5, last_error = $6,
                lease_owner = NULL, lease_until = NULL, updated_at = $7
         WHERE team_id = $1 AND channel_id = $2",
    )
    .bind(&job.team_id)
    .bind(&job.channel_id)
    .bind(if error.is_some() { "failed" } else { "done" })
    .bind(job.messages)
    .bind(job.threads)
    .bind(error)
    .bind(now())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Puts a job back to wait until `retry_at` (rate limited, Slack unreachable), keeping its progress.
pub async fn postpone(db: &Db, job: &Job, retry_at: i64, error: &str) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE backfill_jobs SET status = 'pending', next_attempt_at = $3, last_error = $4,
                lease_owner = NULL, lease_until = NULL, updated_at = $5
         WHERE team_id = $1 AND channel_id = $2",
    )
    .bind(&job.team_id)
    .bind(&job.channel_id)
    .bind(retry_at)
    .bind(error)
    .bind(now())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Thread parents of a channel in the window, after `after` (ts order), that have replies.
pub async fn thread_parents(
    db: &Db,
    team_id: &str,
    channel_id: &str,
    oldest: i64,
    after: Option<&str>,
) -> Result<Vec<String>, DbError> {
    let rows = sqlx::query(
        "SELECT ts FROM messages
         WHERE team_id = $1 AND channel_id = $2 AND thread_ts = ts AND reply_count > 0
           AND posted_at >= $3 AND ts > $4 AND removed IS NULL
         ORDER BY ts",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(oldest)
    .bind(after.unwrap_or(""))
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| r.try_get("ts").map_err(DbError::from))
        .collect()
}
