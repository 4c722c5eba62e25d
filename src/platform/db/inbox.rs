//! The durable inbox: every Slack request is written here before it is acknowledged, and processed
//! from here afterwards, so a crash after the ack loses nothing.
//!
//! Rows are claimed with a lease (owner + expiry). A worker that dies leaves its lease to expire and
//! another claim picks the row up again; handlers are idempotent, so at-least-once is enough.

use sqlx::Row;

use super::{Backend, Db, DbError, now};

/// Where a request came from; decides which handler reads its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// An Events API `event_callback` envelope (HTTP or Socket Mode).
    Event,
    /// An interactivity payload (shortcut, block action, view submission…).
    Interaction,
    /// A slash command's form fields, as JSON.
    Command,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Event => "event",
            Source::Interaction => "interaction",
            Source::Command => "command",
        }
    }

    fn parse(s: &str) -> Result<Self, DbError> {
        match s {
            "event" => Ok(Source::Event),
            "interaction" => Ok(Source::Interaction),
            "command" => Ok(Source::Command),
            other => Err(DbError::Corrupt {
                table: "inbox",
                reason: format!("unknown source {other:?}"),
            }),
        }
    }
}

/// A request to store: what the edge hands over before acknowledging.
#[derive(Clone, Debug)]
pub struct NewItem<'a> {
    /// Unique per logical request: `event_id` for events, so Slack's retries collapse into one row.
    pub dedupe_key: &'a str,
    pub source: Source,
    pub team_id: Option<&'a str>,
    /// The event type, interaction type or command name.
    pub kind: &'a str,
    /// The payload as JSON text.
    pub payload: &'a str,
}

/// A claimed row, ready to be handled.
#[derive(Clone, Debug)]
pub struct Item {
    pub id: i64,
    pub source: Source,
    pub team_id: Option<String>,
    pub kind: String,
    pub payload: String,
    pub attempts: i32,
    pub received_at: i64,
}

/// Stores a request. Returns `false` when the same `dedupe_key` was already stored (a retry).
pub async fn insert(db: &Db, item: &NewItem<'_>) -> Result<bool, DbError> {
    let inserted = sqlx::query(
        "INSERT INTO inbox (dedupe_key, source, team_id, kind, payload, received_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (dedupe_key) DO NOTHING
         RETURNING id",
    )
    .bind(item.dedupe_key)
    .bind(item.source.as_str())
    .bind(item.team_id)
    .bind(item.kind)
    .bind(item.payload)
    .bind(now())
    .fetch_optional(db.pool())
    .await?;
    Ok(inserted.is_some())
}

/// Stores several requests in one statement (one transaction): what group commit at the edge
/// writes. Returns, for each item in order, whether it was new; a key repeated within `items`
/// is new at most once (its first occurrence).
pub async fn insert_many(db: &Db, items: &[NewItem<'_>]) -> Result<Vec<bool>, DbError> {
    // Distinct keys only: PostgreSQL refuses a statement that would touch a row twice.
    let mut first: std::collections::HashMap<&str, usize> = Default::default();
    let mut distinct = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if *first.entry(item.dedupe_key).or_insert(i) == i {
            distinct.push(item);
        }
    }
    let mut inserted = std::collections::HashSet::new();
    let received_at = now();
    // Bounded statements: SQLite allows 32,766 parameters, and big statements gain nothing. Should
    // a later statement fail, the earlier ones' rows stay stored; every caller is told of the
    // failure, Slack retries, and the retries collapse into the stored rows.
    for chunk in distinct.chunks(500) {
        let values = (0..chunk.len())
            .map(|i| {
                let b = i * 6;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO inbox (dedupe_key, source, team_id, kind, payload, received_at)
             VALUES {values}
             ON CONFLICT (dedupe_key) DO NOTHING
             RETURNING dedupe_key"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for item in chunk {
            query = query
                .bind(item.dedupe_key)
                .bind(item.source.as_str())
                .bind(item.team_id)
                .bind(item.kind)
                .bind(item.payload)
                .bind(received_at);
        }
        for row in query.fetch_all(db.pool()).await? {
            inserted.insert(row.try_get::<String, _>("dedupe_key")?);
        }
    }
    Ok(items
        .iter()
        .enumerate()
        .map(|(i, item)| first[item.dedupe_key] == i && inserted.contains(item.dedupe_key))
        .collect())
}

/// Which stored requests a worker lane claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// Everything, oldest first.
    All,
    /// Events API envelopes only (ingestion: order matters, nobody is waiting).
    Events,
    /// Interactions and slash commands: someone is waiting (a `trigger_id` expires in 3 s).
    Interactive,
}

impl Lane {
    fn filter(self) -> &'static str {
        match self {
            Lane::All => "",
            Lane::Events => " AND source = 'event'",
            Lane::Interactive => " AND source <> 'event'",
        }
    }
}

/// Claims up to `limit` pending rows for `owner` until `now + lease_secs`, oldest first.
pub async fn claim(
    db: &Db,
    owner: &str,
    limit: i64,
    lease_secs: i64,
) -> Result<Vec<Item>, DbError> {
    claim_lane(db, owner, Lane::All, limit, lease_secs).await
}

/// [`claim`] restricted to one [`Lane`].
pub async fn claim_lane(
    db: &Db,
    owner: &str,
    lane: Lane,
    limit: i64,
    lease_secs: i64,
) -> Result<Vec<Item>, DbError> {
    let lock = match db.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        // SQLite has one writer at a time, so the UPDATE … WHERE id IN (SELECT …) is atomic.
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE inbox SET lease_owner = $1, lease_until = $2, attempts = attempts + 1
         WHERE id IN (SELECT id FROM inbox
                      WHERE status = 'pending' AND next_attempt_at <= $3
                        AND (lease_until IS NULL OR lease_until < $3){}
                      ORDER BY id LIMIT $4{lock})
         RETURNING id, source, team_id, kind, payload, attempts, received_at",
        lane.filter()
    );
    let now = now();
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .bind(now + lease_secs)
        .bind(now)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    let mut items = rows
        .iter()
        .map(|row| {
            Ok(Item {
                id: row.try_get("id")?,
                source: Source::parse(&row.try_get::<String, _>("source")?)?,
                team_id: row.try_get("team_id")?,
                kind: row.try_get("kind")?,
                payload: row.try_get("payload")?,
                attempts: row.try_get("attempts")?,
                received_at: row.try_get("received_at")?,
            })
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    items.sort_by_key(|i| i.id);
    Ok(items)
}

/// Extends every lease `owner` holds: called while a claimed batch is being worked on.
pub async fn renew_leases(db: &Db, owner: &str, lease_secs: i64) -> Result<u64, DbError> {
    let done = sqlx::query(
        "UPDATE inbox SET lease_until = $2 WHERE lease_owner = $1 AND status = 'pending'",
    )
    .bind(owner)
    .bind(now() + lease_secs)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected())
}

/// Marks a row handled and drops its payload: what it carried now lives in the store, where
/// message deletion, retention and uninstall reach it. The row itself stays a while (until
/// [`purge_done`]) so that Slack's retries of it are still recognised.
pub async fn complete(db: &Db, id: i64) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE inbox SET status = 'done', processed_at = $2, lease_owner = NULL, lease_until = NULL,
                payload = ''
         WHERE id = $1",
    )
    .bind(id)
    .bind(now())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Records a failure: retried at `retry_at`, or parked as `dead` once `give_up` is true.
pub async fn fail(
    db: &Db,
    id: i64,
    error: &str,
    retry_at: i64,
    give_up: bool,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE inbox SET status = $2, last_error = $3, next_attempt_at = $4,
                lease_owner = NULL, lease_until = NULL
         WHERE id = $1",
    )
    .bind(id)
    .bind(if give_up { "dead" } else { "pending" })
    .bind(error)
    .bind(retry_at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Frees every lease: on SQLite only one process runs, so at start-up any lease is a dead one.
pub async fn release_all_leases(db: &Db) -> Result<u64, DbError> {
    let done = sqlx::query(
        "UPDATE inbox SET lease_owner = NULL, lease_until = NULL
         WHERE status = 'pending' AND lease_owner IS NOT NULL",
    )
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected())
}

/// Counts by status, for metrics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub pending: i64,
    pub done: i64,
    pub dead: i64,
}

pub async fn counts(db: &Db) -> Result<Counts, DbError> {
    let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM inbox GROUP BY status")
        .fetch_all(db.pool())
        .await?;
    let mut counts = Counts::default();
    for row in rows {
        let status: String = row.try_get("status")?;
        let n: i64 = row.try_get("n")?;
        match status.as_str() {
            "pending" => counts.pending = n,
            "done" => counts.done = n,
            "dead" => counts.dead = n,
            _ => {}
        }
    }
    Ok(counts)
}

/// Drops handled rows older than `before` (they hold message text; the store keeps what matters).
pub async fn purge_done(db: &Db, before: i64) -> Result<u64, DbError> {
    let done = sqlx::query("DELETE FROM inbox WHERE status = 'done' AND processed_at < $1")
        .bind(before)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

/// Deletes every inbox row of a team (uninstall).
pub async fn delete_team(db: &Db, team_id: &str) -> Result<u64, DbError> {
    let done = sqlx::query("DELETE FROM inbox WHERE team_id = $1")
        .bind(team_id)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}
