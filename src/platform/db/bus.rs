//! Storage of the internal event bus: an append-only table of domain events and one cursor per
//! subscriber. See `crate::platform::bus` for the semantics.

use sqlx::{Any, Executor, Row};

use super::{Db, DbError, now};

/// An event as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: i64,
    pub team_id: String,
    pub kind: String,
    pub payload: String,
    pub created_at: i64,
}

/// A claimed batch: the matching events, and how far the subscriber has now seen (events of other
/// kinds up to `up_to` are skipped by acknowledging it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    pub events: Vec<StoredEvent>,
    pub up_to: i64,
}

/// Appends an event; returns its id. Call it in the transaction that stores the event's effect.
pub async fn append<'c, E>(
    e: E,
    team_id: &str,
    kind: &str,
    payload: &str,
    message: Option<(&str, &str)>,
) -> Result<i64, DbError>
where
    E: Executor<'c, Database = Any>,
{
    let row = sqlx::query(
        "INSERT INTO bus_events (team_id, kind, payload, channel_id, message_ts, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(team_id)
    .bind(kind)
    .bind(payload)
    .bind(message.map(|m| m.0))
    .bind(message.map(|m| m.1))
    .bind(now())
    .fetch_one(e)
    .await?;
    Ok(row.try_get("id")?)
}

/// Takes the subscriber's cursor for `owner` until `now + lease_secs` and reads up to `limit`
/// events of `kinds` after it, created at or before `horizon`. `None` when another owner holds an
/// unexpired lease on the cursor.
///
/// The lease is taken by one conditional `UPDATE`: it locks the cursor row (on PostgreSQL a
/// concurrent claimer waits for the row and then re-checks the condition against the committed
/// lease, exactly as `SELECT … FOR UPDATE` then `UPDATE` would, in one round trip) and SQLite
/// runs it under its single writer lock. So two replicas never hold one subscriber's cursor at once.
pub async fn claim(
    db: &Db,
    subscriber: &str,
    owner: &str,
    lease_secs: i64,
    kinds: &[&str],
    limit: i64,
    horizon: i64,
) -> Result<Option<Batch>, DbError> {
    let now = now();
    sqlx::query(
        "INSERT INTO bus_cursors (subscriber, last_id, updated_at) VALUES ($1, 0, $2)
         ON CONFLICT (subscriber) DO NOTHING",
    )
    .bind(subscriber)
    .bind(now)
    .execute(db.pool())
    .await?;
    let Some(row) = sqlx::query(
        "UPDATE bus_cursors SET lease_owner = $2, lease_until = $3, updated_at = $4
         WHERE subscriber = $1
           AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until < $4)
         RETURNING last_id",
    )
    .bind(subscriber)
    .bind(owner)
    .bind(now + lease_secs)
    .bind(now)
    .fetch_optional(db.pool())
    .await?
    else {
        return Ok(None);
    };
    let last_id: i64 = row.try_get("last_id")?;
    // Bound the read first, so an event appended meanwhile is neither returned nor skipped.
    let max_row = sqlx::query(
        "SELECT COALESCE(MAX(id), $1) AS max_id FROM bus_events WHERE id > $1 AND created_at <= $2",
    )
    .bind(last_id)
    .bind(horizon)
    .fetch_one(db.pool())
    .await?;
    let max_id: i64 = max_row.try_get("max_id")?;
    if kinds.is_empty() || max_id <= last_id {
        return Ok(Some(Batch {
            events: Vec::new(),
            up_to: max_id,
        }));
    }
    let kind_params = super::placeholders(4, kinds.len());
    let sql = format!(
        "SELECT id, team_id, kind, payload, created_at FROM bus_events
         WHERE id > $1 AND id <= $2 AND kind IN ({kind_params})
         ORDER BY id LIMIT $3"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(last_id)
        .bind(max_id)
        .bind(limit);
    for kind in kinds {
        query = query.bind(*kind);
    }
    let events = query
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(StoredEvent {
                id: r.try_get("id")?,
                team_id: r.try_get("team_id")?,
                kind: r.try_get("kind")?,
                payload: r.try_get("payload")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    // A full batch may stop before max_id: only what was returned is seen.
    let up_to = if events.len() as i64 >= limit {
        events.last().map_or(last_id, |e| e.id)
    } else {
        max_id
    };
    Ok(Some(Batch { events, up_to }))
}

/// Moves the cursor forward to `up_to` (never back) and releases `owner`'s lease. Returns `false`
/// when `owner` no longer holds the cursor (its lease expired and another replica took it).
pub async fn ack(db: &Db, subscriber: &str, owner: &str, up_to: i64) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE bus_cursors
         SET last_id = CASE WHEN $3 > last_id THEN $3 ELSE last_id END,
             lease_owner = NULL, lease_until = NULL, updated_at = $4
         WHERE subscriber = $1 AND (lease_owner = $2 OR lease_owner IS NULL)",
    )
    .bind(subscriber)
    .bind(owner)
    .bind(up_to)
    .bind(now())
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Where a subscriber's cursor is.
pub async fn cursor(db: &Db, subscriber: &str) -> Result<Option<i64>, DbError> {
    let row = sqlx::query("SELECT last_id FROM bus_cursors WHERE subscriber = $1")
        .bind(subscriber)
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| r.try_get("last_id").map_err(DbError::from))
        .transpose()
}

/// Deletes events every subscriber has passed and that are older than `delivered_before`, and any
/// event older than `max_age_before` (a subscriber that stopped must not keep the table growing).
pub async fn prune(db: &Db, delivered_before: i64, max_age_before: i64) -> Result<u64, DbError> {
    let done = sqlx::query(
        "DELETE FROM bus_events
         WHERE (created_at < $1 AND id <= (SELECT COALESCE(MIN(last_id), 0) FROM bus_cursors))
            OR created_at < $2",
    )
    .bind(delivered_before)
    .bind(max_age_before)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected())
}

/// Events stored (for tests and metrics).
pub async fn count(db: &Db) -> Result<i64, DbError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM bus_events")
        .fetch_one(db.pool())
        .await?;
    Ok(row.try_get("n")?)
}
