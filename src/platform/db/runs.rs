//! Durable runs' storage: a run per purpose (unique per team, kind and idempotency key) and a row
//! per step and input, holding the step's output so a resumed run reuses it instead of redoing it.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, DbError, now};

/// Where a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Succeeded,
    /// A step failed for good; resuming the run (same idempotency key) retries it.
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DbError> {
        match s {
            "running" => Ok(RunStatus::Running),
            "succeeded" => Ok(RunStatus::Succeeded),
            "failed" => Ok(RunStatus::Failed),
            other => Err(DbError::Corrupt {
                table: "runs",
                reason: format!("unknown status {other:?}"),
            }),
        }
    }
}

/// Where a step is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// Started and not finished: in progress, or its process died.
    Running,
    Ok,
    Failed,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Running => "running",
            StepStatus::Ok => "ok",
            StepStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DbError> {
        match s {
            "running" => Ok(StepStatus::Running),
            "ok" => Ok(StepStatus::Ok),
            "failed" => Ok(StepStatus::Failed),
            other => Err(DbError::Corrupt {
                table: "run_steps",
                reason: format!("unknown status {other:?}"),
            }),
        }
    }
}

/// A stored run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunRecord {
    pub id: i64,
    pub team_id: String,
    pub user_id: Option<String>,
    pub kind: String,
    pub idempotency_key: String,
    pub status: RunStatus,
    /// The job that runs it, when it runs from the job queue.
    pub job_id: Option<i64>,
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

/// A run with its step count and token total, for listings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    #[serde(flatten)]
    pub run: RunRecord,
    pub steps: i64,
    pub tokens: i64,
}

/// A stored step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepRecord {
    pub id: i64,
    pub run_id: i64,
    /// Position in the run's sequence of step calls.
    pub ordinal: i32,
    pub name: String,
    /// sha256 (hex) of the canonical JSON of the input.
    pub input_hash: String,
    pub input_summary: String,
    /// The output as JSON text (`None` until the step succeeds).
    pub output: Option<String>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub duration_ms: i64,
    pub status: StepStatus,
    pub attempts: i32,
    pub error: Option<String>,
    /// What the guardrail said about the output, if one looked at it.
    pub verdict: Option<String>,
    /// Where the output came from: `model`, `cache`, `extractive`…
    pub source: Option<String>,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}

const RUN_COLUMNS: &str = "id, team_id, user_id, kind, idempotency_key, status, job_id, error, \
     created_at, updated_at, finished_at";

const STEP_COLUMNS: &str = "id, run_id, ordinal, name, input_hash, input_summary, output, \
     prompt_tokens, completion_tokens, duration_ms, status, attempts, error, verdict, source, \
     started_at, finished_at";

fn run_from_row(row: &AnyRow) -> Result<RunRecord, DbError> {
    Ok(RunRecord {
        id: row.try_get("id")?,
        team_id: row.try_get("team_id")?,
        user_id: row.try_get("user_id")?,
        kind: row.try_get("kind")?,
        idempotency_key: row.try_get("idempotency_key")?,
        status: RunStatus::parse(&row.try_get::<String, _>("status")?)?,
        job_id: row.try_get("job_id")?,
        error: row.try_get("error")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

fn step_from_row(row: &AnyRow) -> Result<StepRecord, DbError> {
    Ok(StepRecord {
        id: row.try_get("id")?,
        run_id: row.try_get("run_id")?,
        ordinal: row.try_get("ordinal")?,
        name: row.try_get("name")?,
        input_hash: row.try_get("input_hash")?,
        input_summary: row.try_get("input_summary")?,
        output: row.try_get("output")?,
        prompt_tokens: row.try_get("prompt_tokens")?,
        completion_tokens: row.try_get("completion_tokens")?,
        duration_ms: row.try_get("duration_ms")?,
        status: StepStatus::parse(&row.try_get::<String, _>("status")?)?,
        attempts: row.try_get("attempts")?,
        error: row.try_get("error")?,
        verdict: row.try_get("verdict")?,
        source: row.try_get("source")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

/// A run to start.
#[derive(Clone, Debug)]
pub struct NewRun<'a> {
    pub team_id: &'a str,
    pub user_id: Option<&'a str>,
    pub kind: &'a str,
    pub idempotency_key: &'a str,
}

/// Starts a run, or returns the existing run for the same team, kind and key with `false`.
pub async fn insert_or_get(db: &Db, run: &NewRun<'_>) -> Result<(RunRecord, bool), DbError> {
    let inserted = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO runs (team_id, user_id, kind, idempotency_key, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (team_id, kind, idempotency_key) DO NOTHING
         RETURNING {RUN_COLUMNS}"
    )))
    .bind(run.team_id)
    .bind(run.user_id)
    .bind(run.kind)
    .bind(run.idempotency_key)
    .bind(now())
    .fetch_optional(db.pool())
    .await?;
    if let Some(row) = inserted {
        return Ok((run_from_row(&row)?, true));
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM runs WHERE team_id = $1 AND kind = $2 AND idempotency_key = $3"
    )))
    .bind(run.team_id)
    .bind(run.kind)
    .bind(run.idempotency_key)
    .fetch_one(db.pool())
    .await?;
    Ok((run_from_row(&row)?, false))
}

pub async fn get(db: &Db, id: i64) -> Result<Option<RunRecord>, DbError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM runs WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(run_from_row).transpose()
}

/// Sets a run's status; a final status also sets `finished_at`, and `running` clears it and the
/// error (a failed run being resumed).
pub async fn set_status(
    db: &Db,
    id: i64,
    status: RunStatus,
    error: Option<&str>,
) -> Result<(), DbError> {
    let now = now();
    let finished_at = (status != RunStatus::Running).then_some(now);
    sqlx::query(
        "UPDATE runs SET status = $2, error = $3, updated_at = $4, finished_at = $5 WHERE id = $1",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(error)
    .bind(now)
    .bind(finished_at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Records which job runs the run (the inspector shows it; a resumed run gets the new job).
pub async fn set_job(db: &Db, id: i64, job_id: i64) -> Result<(), DbError> {
    sqlx::query("UPDATE runs SET job_id = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(job_id)
        .bind(now())
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Which runs to list; `None` means any.
#[derive(Clone, Debug, Default)]
pub struct RunFilter {
    pub team_id: Option<String>,
    pub user_id: Option<String>,
    pub kind: Option<String>,
    pub status: Option<RunStatus>,
    pub limit: i64,
}

/// The newest runs matching `filter`, newest first.
pub async fn list(db: &Db, filter: &RunFilter) -> Result<Vec<RunSummary>, DbError> {
    let rows = sqlx::query(
        "SELECT r.id, r.team_id, r.user_id, r.kind, r.idempotency_key, r.status, r.job_id, r.error,
                r.created_at, r.updated_at, r.finished_at,
                (SELECT COUNT(*) FROM run_steps s WHERE s.run_id = r.id) AS steps,
                (SELECT CAST(COALESCE(SUM(s.prompt_tokens + s.completion_tokens), 0) AS BIGINT)
                   FROM run_steps s WHERE s.run_id = r.id) AS tokens
         FROM runs r
         WHERE ($1 IS NULL OR r.team_id = $1)
           AND ($2 IS NULL OR r.user_id = $2)
           AND ($3 IS NULL OR r.kind = $3)
           AND ($4 IS NULL OR r.status = $4)
         ORDER BY r.created_at DESC, r.id DESC
         LIMIT $5",
    )
    .bind(filter.team_id.as_deref())
    .bind(filter.user_id.as_deref())
    .bind(filter.kind.as_deref())
    .bind(filter.status.map(RunStatus::as_str))
    .bind(filter.limit.max(1))
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(RunSummary {
                run: run_from_row(row)?,
                steps: row.try_get("steps")?,
                tokens: row.try_get("tokens")?,
            })
        })
        .collect()
}

/// A run's steps in call order.
pub async fn steps(db: &Db, run_id: i64) -> Result<Vec<StepRecord>, DbError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {STEP_COLUMNS} FROM run_steps WHERE run_id = $1 ORDER BY ordinal, id"
    )))
    .bind(run_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(step_from_row).collect()
}

/// A step about to run.
#[derive(Clone, Debug)]
pub struct NewStep<'a> {
    pub run_id: i64,
    pub ordinal: i32,
    pub name: &'a str,
    pub input_hash: &'a str,
    pub input_summary: &'a str,
}

/// Records that a step started (a retry of a failed step reuses its row).
pub async fn begin_step(db: &Db, step: &NewStep<'_>) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO run_steps (run_id, ordinal, name, input_hash, input_summary, status,
                                started_at)
         VALUES ($1, $2, $3, $4, $5, 'running', $6)
         ON CONFLICT (run_id, name, input_hash) DO UPDATE SET
            ordinal = excluded.ordinal, status = 'running', error = NULL,
            started_at = excluded.started_at, finished_at = NULL",
    )
    .bind(step.run_id)
    .bind(step.ordinal)
    .bind(step.name)
    .bind(step.input_hash)
    .bind(step.input_summary)
    .bind(now())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// How a step ended.
#[derive(Clone, Debug)]
pub struct StepEnd<'a> {
    pub status: StepStatus,
    pub output: Option<&'a str>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub duration_ms: i64,
    /// Attempts made by this call (added to the attempts of earlier calls).
    pub attempts: i32,
    pub error: Option<&'a str>,
    pub verdict: Option<&'a str>,
    pub source: Option<&'a str>,
}

pub async fn finish_step(
    db: &Db,
    run_id: i64,
    name: &str,
    input_hash: &str,
    end: &StepEnd<'_>,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE run_steps SET status = $4, output = $5, prompt_tokens = $6,
                completion_tokens = $7, duration_ms = $8, attempts = attempts + $9, error = $10,
                verdict = $11, source = $12, finished_at = $13
         WHERE run_id = $1 AND name = $2 AND input_hash = $3",
    )
    .bind(run_id)
    .bind(name)
    .bind(input_hash)
    .bind(end.status.as_str())
    .bind(end.output)
    .bind(end.prompt_tokens)
    .bind(end.completion_tokens)
    .bind(end.duration_ms)
    .bind(end.attempts)
    .bind(end.error)
    .bind(end.verdict)
    .bind(end.source)
    .bind(now())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Deletes runs that finished before `before`, with their steps (retention: outputs hold text
/// derived from messages). Once purged, a purpose may run again, so `before` must be older than
/// any purpose that can still recur.
pub async fn purge_finished(db: &Db, before: i64) -> Result<u64, DbError> {
    sqlx::query(
        "DELETE FROM run_steps WHERE run_id IN
            (SELECT id FROM runs WHERE status <> 'running' AND finished_at < $1)",
    )
    .bind(before)
    .execute(db.pool())
    .await?;
    let done = sqlx::query("DELETE FROM runs WHERE status <> 'running' AND finished_at < $1")
        .bind(before)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

/// Deletes every run of a team and their steps (uninstall).
pub async fn delete_team(db: &Db, team_id: &str) -> Result<u64, DbError> {
    sqlx::query("DELETE FROM run_steps WHERE run_id IN (SELECT id FROM runs WHERE team_id = $1)")
        .bind(team_id)
        .execute(db.pool())
        .await?;
    let done = sqlx::query("DELETE FROM runs WHERE team_id = $1")
        .bind(team_id)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

/// Durable runs of the team that read the message `ts` of `channel_id`, found by what their steps
/// recorded: an output or input summary naming the message (click-to-context's gathered
/// conversation, every cited source), or a `digest:{channel}` step that used one of `digests`
/// (the shared digests made from the message; `{"digest_id": …}`). Only runs created since
/// `since` are searched: a run made before the message was posted cannot have read it.
///
/// Such runs' steps go, and so do the runs unless still running (a repeat of the purpose then
/// starts afresh instead of replaying text of the deleted message); a running one recomputes the
/// steps it loses if it has to resume. Returns the ids of the runs that read it.
pub async fn forget_message_in(
    conn: &mut sqlx::AnyConnection,
    team_id: &str,
    channel_id: &str,
    ts: &str,
    digests: &[i64],
    since: i64,
) -> Result<Vec<i64>, DbError> {
    let mut tainted: Vec<i64> = Vec::new();
    let named = sqlx::query(
        "SELECT DISTINCT s.run_id FROM run_steps s JOIN runs r ON r.id = s.run_id
         WHERE r.team_id = $1 AND r.created_at >= $2
           AND (s.output LIKE $3 OR s.input_summary LIKE $3)",
    )
    .bind(team_id)
    .bind(since)
    .bind(format!("%{ts}%"))
    .fetch_all(&mut *conn)
    .await?;
    for row in &named {
        tainted.push(row.try_get("run_id")?);
    }
    if !digests.is_empty() {
        let steps = sqlx::query(
            "SELECT s.run_id, s.output FROM run_steps s JOIN runs r ON r.id = s.run_id
             WHERE r.team_id = $1 AND r.created_at >= $2 AND s.name = $3",
        )
        .bind(team_id)
        .bind(since)
        .bind(format!("digest:{channel_id}"))
        .fetch_all(&mut *conn)
        .await?;
        for row in &steps {
            let output: Option<String> = row.try_get("output")?;
            let used = output
                .and_then(|o| serde_json::from_str::<serde_json::Value>(&o).ok())
                .and_then(|v| v.get("digest_id").and_then(serde_json::Value::as_i64));
            if used.is_some_and(|id| digests.contains(&id)) {
                tainted.push(row.try_get("run_id")?);
            }
        }
    }
    tainted.sort_unstable();
    tainted.dedup();
    for id in &tainted {
        sqlx::query("DELETE FROM run_steps WHERE run_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM runs WHERE id = $1 AND status <> 'running'")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(tainted)
}
