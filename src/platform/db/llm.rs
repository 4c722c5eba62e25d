//! The LLM gateway's tables: the answer cache and the per-call accounting.
//!
//! One accounting row per gateway call (not per HTTP request): it carries the tokens of every
//! request the call made, so daily budgets are a plain sum over `llm_calls`, shared by every
//! replica through the database.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, DbError};

/// A validated model answer, keyed by the hash of the request that produced it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedAnswer {
    pub cache_key: String,
    pub task: String,
    pub model: String,
    /// The task's typed output, as JSON.
    pub output: String,
    /// What producing it cost, for reports; a cache hit itself costs nothing.
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub created_at: i64,
    pub expires_at: i64,
    /// The team whose content produced it (purged with the team or a deleted message).
    pub team_id: Option<String>,
}

/// The answer cached under `key`, unless it expired before `now`.
pub async fn cache_get(db: &Db, key: &str, now: i64) -> Result<Option<CachedAnswer>, DbError> {
    let row = sqlx::query(
        "SELECT cache_key, task, model, output, prompt_tokens, completion_tokens, created_at, expires_at,
                team_id
         FROM llm_cache WHERE cache_key = $1 AND expires_at > $2",
    )
    .bind(key)
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    row.map(|row| {
        Ok(CachedAnswer {
            cache_key: row.try_get("cache_key")?,
            task: row.try_get("task")?,
            model: row.try_get("model")?,
            output: row.try_get("output")?,
            prompt_tokens: row.try_get("prompt_tokens")?,
            completion_tokens: row.try_get("completion_tokens")?,
            created_at: row.try_get("created_at")?,
            expires_at: row.try_get("expires_at")?,
            team_id: row.try_get("team_id")?,
        })
    })
    .transpose()
}

/// Stores (or refreshes) an answer.
pub async fn cache_put(db: &Db, answer: &CachedAnswer) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO llm_cache
            (cache_key, task, model, output, prompt_tokens, completion_tokens, created_at, expires_at,
             team_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (cache_key) DO UPDATE SET
            output = excluded.output,
            team_id = excluded.team_id,
            prompt_tokens = excluded.prompt_tokens,
            completion_tokens = excluded.completion_tokens,
            created_at = excluded.created_at,
            expires_at = excluded.expires_at",
    )
    .bind(&answer.cache_key)
    .bind(&answer.task)
    .bind(&answer.model)
    .bind(&answer.output)
    .bind(answer.prompt_tokens)
    .bind(answer.completion_tokens)
    .bind(answer.created_at)
    .bind(answer.expires_at)
    .bind(&answer.team_id)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Deletes answers that expired before `now`; returns how many.
pub async fn cache_purge_expired(db: &Db, now: i64) -> Result<u64, DbError> {
    let done = sqlx::query("DELETE FROM llm_cache WHERE expires_at <= $1")
        .bind(now)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

/// One gateway call, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRecord {
    pub task: String,
    pub team_id: Option<String>,
    pub user_id: Option<String>,
    /// The deployment that answered, or the last one tried; `None` for cache hits and calls that
    /// never reached a model.
    pub deployment: Option<String>,
    /// `interactive` or `background`.
    pub priority: String,
    /// `ok`, `repaired`, `failed` or `fallback`.
    pub outcome: String,
    pub cache_hit: bool,
    /// HTTP requests made to models (a repair counts; a cache hit makes none).
    pub attempts: i32,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub latency_ms: i64,
    /// Why the extractive engine answered (or why the call failed).
    pub fallback_reason: Option<String>,
    /// The requests made, in order: `deployment:result` separated by spaces (`a:429 a:ok`).
    pub trail: String,
    /// UTC day `YYYY-MM-DD`, stored so reports group the same way on both backends.
    pub day: String,
    pub created_at: i64,
}

/// Appends a call to the accounting table.
pub async fn insert_call(db: &Db, call: &CallRecord) -> Result<i64, DbError> {
    let row = sqlx::query(
        "INSERT INTO llm_calls (task, team_id, user_id, deployment, priority, outcome, cache_hit,
            attempts, prompt_tokens, completion_tokens, latency_ms, fallback_reason, trail, day,
            created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         RETURNING id",
    )
    .bind(&call.task)
    .bind(&call.team_id)
    .bind(&call.user_id)
    .bind(&call.deployment)
    .bind(&call.priority)
    .bind(&call.outcome)
    .bind(i32::from(call.cache_hit))
    .bind(call.attempts)
    .bind(call.prompt_tokens)
    .bind(call.completion_tokens)
    .bind(call.latency_ms)
    .bind(&call.fallback_reason)
    .bind(&call.trail)
    .bind(&call.day)
    .bind(call.created_at)
    .fetch_one(db.pool())
    .await?;
    Ok(row.try_get("id")?)
}

fn call_from_row(row: &AnyRow) -> Result<CallRecord, DbError> {
    let cache_hit: i32 = row.try_get("cache_hit")?;
    Ok(CallRecord {
        task: row.try_get("task")?,
        team_id: row.try_get("team_id")?,
        user_id: row.try_get("user_id")?,
        deployment: row.try_get("deployment")?,
        priority: row.try_get("priority")?,
        outcome: row.try_get("outcome")?,
        cache_hit: cache_hit != 0,
        attempts: row.try_get("attempts")?,
        prompt_tokens: row.try_get("prompt_tokens")?,
        completion_tokens: row.try_get("completion_tokens")?,
        latency_ms: row.try_get("latency_ms")?,
        fallback_reason: row.try_get("fallback_reason")?,
        trail: row.try_get("trail")?,
        day: row.try_get("day")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Calls recorded at or after `since`, oldest first.
pub async fn list_calls(db: &Db, since: i64) -> Result<Vec<CallRecord>, DbError> {
    let rows = sqlx::query(
        "SELECT task, team_id, user_id, deployment, priority, outcome, cache_hit, attempts,
            prompt_tokens, completion_tokens, latency_ms, fallback_reason, trail, day, created_at
         FROM llm_calls WHERE created_at >= $1 ORDER BY id",
    )
    .bind(since)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(call_from_row).collect()
}

/// Tokens spent since `since` by one team (`Some`) or by everyone (`None`).
pub async fn tokens_spent(db: &Db, team_id: Option<&str>, since: i64) -> Result<u64, DbError> {
    let row = match team_id {
        Some(team) => sqlx::query(
            "SELECT CAST(COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS BIGINT) AS spent
                 FROM llm_calls WHERE team_id = $1 AND created_at >= $2",
        )
        .bind(team)
        .bind(since)
        .fetch_one(db.pool())
        .await?,
        None => sqlx::query(
            "SELECT CAST(COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS BIGINT) AS spent
                 FROM llm_calls WHERE created_at >= $1",
        )
        .bind(since)
        .fetch_one(db.pool())
        .await?,
    };
    let spent: i64 = row.try_get("spent")?;
    Ok(spent.max(0) as u64)
}

/// Totals of one (day, team, task) group, for `chief usage`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageRow {
    pub day: String,
    /// `-` when the calls carried no team.
    pub team_id: String,
    pub task: String,
    pub calls: i64,
    /// HTTP requests to models.
    pub requests: i64,
    pub cache_hits: i64,
    pub repaired: i64,
    pub fallbacks: i64,
    pub failed: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    /// Calls a model answered (not the cache, not the extractive engine).
    pub model: i64,
    /// Why the extractive engine answered instead: `(reason, calls)`, most frequent first.
    pub fallback_reasons: Vec<(String, i64)>,
}

impl UsageRow {
    /// Adds another group's counters to these (the labels stay): the one sum behind every
    /// coarser total, such as a report's total line or the totals per task.
    pub fn add(&mut self, other: &UsageRow) {
        self.calls += other.calls;
        self.requests += other.requests;
        self.cache_hits += other.cache_hits;
        self.repaired += other.repaired;
        self.fallbacks += other.fallbacks;
        self.failed += other.failed;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.model += other.model;
        for (reason, n) in &other.fallback_reasons {
            match self.fallback_reasons.iter_mut().find(|(r, _)| r == reason) {
                Some((_, m)) => *m += n,
                None => self.fallback_reasons.push((reason.clone(), *n)),
            }
        }
        self.fallback_reasons
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    }
}

/// Totals by UTC day, team and task for calls made at or after `since`.
pub async fn usage(db: &Db, since: i64) -> Result<Vec<UsageRow>, DbError> {
    let rows = sqlx::query(
        "SELECT day, COALESCE(team_id, '-') AS team, task,
            CAST(COUNT(*) AS BIGINT) AS calls,
            CAST(COALESCE(SUM(attempts), 0) AS BIGINT) AS requests,
            CAST(COALESCE(SUM(cache_hit), 0) AS BIGINT) AS cache_hits,
            CAST(COALESCE(SUM(CASE WHEN outcome = 'repaired' THEN 1 ELSE 0 END), 0) AS BIGINT) AS repaired,
            CAST(COALESCE(SUM(CASE WHEN outcome = 'fallback' THEN 1 ELSE 0 END), 0) AS BIGINT) AS fallbacks,
            CAST(COALESCE(SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS failed,
            CAST(COALESCE(SUM(prompt_tokens), 0) AS BIGINT) AS prompt_tokens,
            CAST(COALESCE(SUM(completion_tokens), 0) AS BIGINT) AS completion_tokens,
            CAST(COALESCE(SUM(CASE WHEN outcome IN ('ok', 'repaired') AND cache_hit = 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS model
         FROM llm_calls WHERE created_at >= $1
         GROUP BY day, COALESCE(team_id, '-'), task
         ORDER BY day, team, task",
    )
    .bind(since)
    .fetch_all(db.pool())
    .await?;
    let reasons = sqlx::query(
        "SELECT day, COALESCE(team_id, '-') AS team, task,
            COALESCE(fallback_reason, 'unknown') AS reason, CAST(COUNT(*) AS BIGINT) AS calls
         FROM llm_calls WHERE created_at >= $1 AND outcome = 'fallback'
         GROUP BY day, COALESCE(team_id, '-'), task, COALESCE(fallback_reason, 'unknown')
         ORDER BY calls DESC, reason",
    )
    .bind(since)
    .fetch_all(db.pool())
    .await?;
    let mut why: std::collections::HashMap<(String, String, String), Vec<(String, i64)>> =
        std::collections::HashMap::new();
    for row in &reasons {
        let key = (
            row.try_get("day")?,
            row.try_get("team")?,
            row.try_get("task")?,
        );
        why.entry(key)
            .or_default()
            .push((row.try_get("reason")?, row.try_get("calls")?));
    }
    rows.iter()
        .map(|row| {
            Ok(UsageRow {
                day: row.try_get("day")?,
                team_id: row.try_get("team")?,
                task: row.try_get("task")?,
                calls: row.try_get("calls")?,
                requests: row.try_get("requests")?,
                cache_hits: row.try_get("cache_hits")?,
                repaired: row.try_get("repaired")?,
                fallbacks: row.try_get("fallbacks")?,
                failed: row.try_get("failed")?,
                prompt_tokens: row.try_get("prompt_tokens")?,
                completion_tokens: row.try_get("completion_tokens")?,
                model: row.try_get("model")?,
                fallback_reasons: why
                    .remove(&(
                        row.try_get("day")?,
                        row.try_get("team")?,
                        row.try_get("task")?,
                    ))
                    .unwrap_or_default(),
            })
        })
        .collect()
}
