//! Storage of the personal daily briefing: prepared briefings and their delivery state, the shared
//! channel digests, where interests came from, and each workspace's URL.
//!
//! Delivery safety rests on one conditional update, [`claim`]: `prepared → delivering` succeeds for
//! exactly one caller however many replicas, retries or restarts race for the same briefing, and
//! only that caller posts the DM.

use std::collections::HashMap;

use chrono::NaiveDate;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, DbError, corrupt, date_str, now, parse_date};
use crate::model::domain::Briefing;

/// Where a briefing stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Ready, not sent yet.
    Prepared,
    /// Claimed by one sender, which is posting it now.
    Delivering,
    Delivered,
    /// Not sent, on purpose (quiet day, channel gone, team suspended…); see `skip_reason`.
    Skipped,
    /// The sender stopped between claiming and recording the post: it may or may not have been
    /// posted, and it is never posted again (at most one DM a day).
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Prepared => "prepared",
            Status::Delivering => "delivering",
            Status::Delivered => "delivered",
            Status::Skipped => "skipped",
            Status::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [
            Status::Prepared,
            Status::Delivering,
            Status::Delivered,
            Status::Skipped,
            Status::Unknown,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// Whether the briefing will never be sent (again).
    pub fn is_final(self) -> bool {
        matches!(self, Status::Delivered | Status::Skipped | Status::Unknown)
    }
}

/// A stored briefing.
#[derive(Clone, Debug, PartialEq)]
pub struct BriefingRow {
    pub id: i64,
    pub team_id: String,
    pub user_id: String,
    pub local_date: NaiveDate,
    /// `""` for the daily briefing, `now:N` for the N-th on-demand one of the day.
    pub edition: String,
    pub status: Status,
    pub briefing: Briefing,
    /// The guardrail outcome: `pass`, `corrected: …` or `fallback: …`.
    pub verdict: Option<String>,
    pub run_id: Option<i64>,
    pub window_start: i64,
    pub window_end: i64,
    pub dm_channel: Option<String>,
    pub message_ts: Option<String>,
    pub skip_reason: Option<String>,
    /// story id → the line shown in place of its buttons after feedback.
    pub acks: std::collections::BTreeMap<String, String>,
    pub claimed_by: Option<String>,
    pub claimed_at: Option<i64>,
    pub prepared_at: i64,
    pub delivered_at: Option<i64>,
}

const COLUMNS: &str =
    "id, team_id, user_id, local_date, edition, status, briefing, verdict, run_id,
    window_start, window_end, dm_channel, message_ts, skip_reason, acks, claimed_by, claimed_at,
    prepared_at, delivered_at";

fn row_to_briefing(row: &AnyRow) -> Result<BriefingRow, DbError> {
    let date: String = row.try_get("local_date")?;
    let status: String = row.try_get("status")?;
    let json: String = row.try_get("briefing")?;
    let acks: String = row.try_get("acks")?;
    Ok(BriefingRow {
        id: row.try_get("id")?,
        team_id: row.try_get("team_id")?,
        user_id: row.try_get("user_id")?,
        local_date: parse_date("briefings", &date)?,
        edition: row.try_get("edition")?,
        status: Status::parse(&status)
            .ok_or_else(|| corrupt("briefings", format!("unknown status {status:?}")))?,
        briefing: serde_json::from_str(&json)
            .map_err(|e| corrupt("briefings", format!("briefing is not readable: {e}")))?,
        verdict: row.try_get("verdict")?,
        run_id: row.try_get("run_id")?,
        window_start: row.try_get("window_start")?,
        window_end: row.try_get("window_end")?,
        dm_channel: row.try_get("dm_channel")?,
        message_ts: row.try_get("message_ts")?,
        skip_reason: row.try_get("skip_reason")?,
        acks: serde_json::from_str(&acks)
            .map_err(|e| corrupt("briefings", format!("acks are not readable: {e}")))?,
        claimed_by: row.try_get("claimed_by")?,
        claimed_at: row.try_get("claimed_at")?,
        prepared_at: row.try_get("prepared_at")?,
        delivered_at: row.try_get("delivered_at")?,
    })
}

/// A briefing to store.
#[derive(Clone, Debug)]
pub struct NewBriefing<'a> {
    pub local_date: NaiveDate,
    pub edition: &'a str,
    pub briefing: &'a Briefing,
    pub verdict: Option<&'a str>,
    pub run_id: Option<i64>,
    pub window_start: i64,
    pub window_end: i64,
    /// `Prepared`, or `Skipped` with a reason (a quiet day the user wants no note for).
    pub status: Status,
    pub skip_reason: Option<&'a str>,
}

/// Stores a prepared briefing, unless one exists already for its (team, user, date, edition):
/// then the stored one is returned and `false` (the first preparation wins; it may be on its way).
pub async fn insert(db: &Db, new: &NewBriefing<'_>) -> Result<(BriefingRow, bool), DbError> {
    let json = serde_json::to_string(new.briefing)
        .map_err(|e| corrupt("briefings", format!("briefing does not serialize: {e}")))?;
    let now = now();
    let inserted = sqlx::query(
        "INSERT INTO briefings (team_id, user_id, local_date, edition, status, briefing, verdict,
            run_id, window_start, window_end, skip_reason, prepared_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
         ON CONFLICT (team_id, user_id, local_date, edition) DO NOTHING
         RETURNING id",
    )
    .bind(&new.briefing.team_id)
    .bind(&new.briefing.user_id)
    .bind(date_str(new.local_date))
    .bind(new.edition)
    .bind(new.status.as_str())
    .bind(json)
    .bind(new.verdict)
    .bind(new.run_id)
    .bind(new.window_start)
    .bind(new.window_end)
    .bind(new.skip_reason)
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    let row = get(
        db,
        &new.briefing.team_id,
        &new.briefing.user_id,
        new.local_date,
        new.edition,
    )
    .await?
    .ok_or_else(|| corrupt("briefings", "row vanished after insert"))?;
    Ok((row, inserted.is_some()))
}

/// The briefing of (team, user, date, edition), if prepared.
pub async fn get(
    db: &Db,
    team_id: &str,
    user_id: &str,
    local_date: NaiveDate,
    edition: &str,
) -> Result<Option<BriefingRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM briefings
         WHERE team_id = $1 AND user_id = $2 AND local_date = $3 AND edition = $4"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team_id)
        .bind(user_id)
        .bind(date_str(local_date))
        .bind(edition)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(row_to_briefing)
        .transpose()
}

pub async fn get_by_id(db: &Db, id: i64) -> Result<Option<BriefingRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM briefings WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(row_to_briefing)
        .transpose()
}

/// The user's most recently prepared briefing (any edition, any status), for the App Home.
pub async fn latest(db: &Db, team_id: &str, user_id: &str) -> Result<Option<BriefingRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM briefings WHERE team_id = $1 AND user_id = $2
         ORDER BY prepared_at DESC, id DESC LIMIT 1"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team_id)
        .bind(user_id)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(row_to_briefing)
        .transpose()
}

/// The briefing posted as message `ts` in DM `channel` (feedback buttons point at it).
pub async fn find_by_message(
    db: &Db,
    team_id: &str,
    user_id: &str,
    channel: &str,
    ts: &str,
) -> Result<Option<BriefingRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM briefings
         WHERE team_id = $1 AND user_id = $2 AND dm_channel = $3 AND message_ts = $4"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team_id)
        .bind(user_id)
        .bind(channel)
        .bind(ts)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(row_to_briefing)
        .transpose()
}

/// The user's recent briefings, newest first.
pub async fn recent(
    db: &Db,
    team_id: &str,
    user_id: &str,
    limit: i64,
) -> Result<Vec<BriefingRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM briefings WHERE team_id = $1 AND user_id = $2
         ORDER BY prepared_at DESC, id DESC LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team_id)
        .bind(user_id)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(row_to_briefing).collect()
}

/// How many on-demand editions the user got for `local_date`.
pub async fn count_editions(
    db: &Db,
    team_id: &str,
    user_id: &str,
    local_date: NaiveDate,
) -> Result<i64, DbError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM briefings
         WHERE team_id = $1 AND user_id = $2 AND local_date = $3 AND edition <> ''",
    )
    .bind(team_id)
    .bind(user_id)
    .bind(date_str(local_date))
    .fetch_one(db.pool())
    .await?;
    Ok(row.try_get("n")?)
}

/// Takes the right to post briefing `id`: `prepared → delivering`, for exactly one caller.
/// `false` when someone else has it, or it was delivered or skipped already.
pub async fn claim(db: &Db, id: i64, owner: &str) -> Result<bool, DbError> {
    let now = now();
    let done = sqlx::query(
        "UPDATE briefings SET status = 'delivering', claimed_by = $2, claimed_at = $3,
                updated_at = $3
         WHERE id = $1 AND status = 'prepared'",
    )
    .bind(id)
    .bind(owner)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives a claim back (`delivering → prepared`) after a failure Slack says did not post
/// anything, so a later attempt may claim it again.
pub async fn release(db: &Db, id: i64, owner: &str) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE briefings SET status = 'prepared', claimed_by = NULL, claimed_at = NULL,
                updated_at = $3
         WHERE id = $1 AND status = 'delivering' AND claimed_by = $2",
    )
    .bind(id)
    .bind(owner)
    .bind(now())
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records the DM channel before posting (so the record says where it was going).
pub async fn set_dm_channel(db: &Db, id: i64, channel: &str) -> Result<(), DbError> {
    sqlx::query("UPDATE briefings SET dm_channel = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(channel)
        .bind(now())
        .execute(db.pool())
        .await?;
    Ok(())
}

/// `delivering → delivered`, by the claim's owner.
pub async fn mark_delivered(
    db: &Db,
    id: i64,
    owner: &str,
    channel: &str,
    ts: &str,
) -> Result<bool, DbError> {
    let now = now();
    let done = sqlx::query(
        "UPDATE briefings SET status = 'delivered', dm_channel = $3, message_ts = $4,
                delivered_at = $5, updated_at = $5
         WHERE id = $1 AND status = 'delivering' AND claimed_by = $2",
    )
    .bind(id)
    .bind(owner)
    .bind(channel)
    .bind(ts)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a briefing skipped with a reason, if it was not sent: from `prepared`, or from
/// `delivering` by the claim's owner (`owner`).
pub async fn mark_skipped(
    db: &Db,
    id: i64,
    owner: Option<&str>,
    reason: &str,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE briefings SET status = 'skipped', skip_reason = $3, updated_at = $4
         WHERE id = $1 AND (status = 'prepared' OR (status = 'delivering' AND claimed_by = $2))",
    )
    .bind(id)
    .bind(owner.unwrap_or(""))
    .bind(reason)
    .bind(now())
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A claim older than `stale_before` whose owner never recorded an outcome (it crashed between
/// claiming and recording): `delivering → unknown`. Never re-posted (see `briefing::delivery`).
pub async fn mark_stale_unknown(db: &Db, id: i64, stale_before: i64) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE briefings SET status = 'unknown',
                skip_reason = 'the sender stopped while posting; not re-sent to avoid a duplicate',
                updated_at = $3
         WHERE id = $1 AND status = 'delivering' AND claimed_at < $2",
    )
    .bind(id)
    .bind(stale_before)
    .bind(now())
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records the acknowledgement shown for `story_id` (feedback) and returns all of them. Read and
/// written in one transaction so two quick clicks on different stories both stay.
pub async fn add_ack(
    db: &Db,
    id: i64,
    story_id: &str,
    text: &str,
) -> Result<std::collections::BTreeMap<String, String>, DbError> {
    let mut tx = db.begin_write().await?;
    // Touch the row first: on PostgreSQL this locks it until commit.
    sqlx::query("UPDATE briefings SET updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now())
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query("SELECT acks FROM briefings WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| corrupt("briefings", format!("no briefing {id}")))?;
    let acks: String = row.try_get("acks")?;
    let mut acks: std::collections::BTreeMap<String, String> = serde_json::from_str(&acks)
        .map_err(|e| corrupt("briefings", format!("acks are not readable: {e}")))?;
    acks.insert(story_id.to_string(), text.to_string());
    let json = serde_json::to_string(&acks)
        .map_err(|e| corrupt("briefings", format!("acks do not serialize: {e}")))?;
    sqlx::query("UPDATE briefings SET acks = $2 WHERE id = $1")
        .bind(id)
        .bind(json)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(acks)
}

/// Deletes briefings prepared and digests made before `before` (they hold text derived from
/// messages). Returns rows deleted.
pub async fn prune(db: &Db, before: i64) -> Result<u64, DbError> {
    let mut deleted = sqlx::query("DELETE FROM briefings WHERE prepared_at < $1")
        .bind(before)
        .execute(db.pool())
        .await?
        .rows_affected();
    deleted += sqlx::query(
        "DELETE FROM briefing_digest_messages
         WHERE digest_id IN (SELECT id FROM briefing_digests WHERE created_at < $1)",
    )
    .bind(before)
    .execute(db.pool())
    .await?
    .rows_affected();
    deleted += sqlx::query("DELETE FROM briefing_digests WHERE created_at < $1")
        .bind(before)
        .execute(db.pool())
        .await?
        .rows_affected();
    Ok(deleted)
}

// ---- shared channel digests ---------------------------------------------------------------------

/// A stored digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestRow {
    pub id: i64,
    pub channel_id: String,
    pub window_start: i64,
    pub window_end: i64,
    pub content_hash: String,
    pub messages: i64,
    /// JSON owned by `briefing::digest`.
    pub summaries: String,
    pub created_at: i64,
}

fn row_to_digest(row: &AnyRow) -> Result<DigestRow, DbError> {
    Ok(DigestRow {
        id: row.try_get("id")?,
        channel_id: row.try_get("channel_id")?,
        window_start: row.try_get("window_start")?,
        window_end: row.try_get("window_end")?,
        content_hash: row.try_get("content_hash")?,
        messages: row.try_get("messages")?,
        summaries: row.try_get("summaries")?,
        created_at: row.try_get("created_at")?,
    })
}

/// The digest of exactly these messages (`content_hash`) of a channel window, if made already.
pub async fn find_digest(
    db: &Db,
    team_id: &str,
    channel_id: &str,
    window: (i64, i64),
    content_hash: &str,
) -> Result<Option<DigestRow>, DbError> {
    sqlx::query(
        "SELECT id, channel_id, window_start, window_end, content_hash, messages, summaries,
                created_at
         FROM briefing_digests
         WHERE team_id = $1 AND channel_id = $2 AND window_start = $3 AND window_end = $4
           AND content_hash = $5",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(window.0)
    .bind(window.1)
    .bind(content_hash)
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(row_to_digest)
    .transpose()
}

/// Stores a digest and the messages it was made from, in one transaction. When another reader
/// stored the same digest meanwhile, theirs is kept and returned.
#[allow(clippy::too_many_arguments)]
pub async fn insert_digest(
    db: &Db,
    team_id: &str,
    channel_id: &str,
    window: (i64, i64),
    content_hash: &str,
    message_ts: &[String],
    summaries: &str,
) -> Result<DigestRow, DbError> {
    let mut tx = db.begin_write().await?;
    let inserted = sqlx::query(
        "INSERT INTO briefing_digests
            (team_id, channel_id, window_start, window_end, content_hash, messages, summaries,
             created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (team_id, channel_id, window_start, window_end, content_hash) DO NOTHING
         RETURNING id",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(window.0)
    .bind(window.1)
    .bind(content_hash)
    .bind(message_ts.len() as i64)
    .bind(summaries)
    .bind(now())
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = inserted {
        let id: i64 = row.try_get("id")?;
        for ts in message_ts {
            sqlx::query(
                "INSERT INTO briefing_digest_messages (team_id, channel_id, message_ts, digest_id)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(team_id)
            .bind(channel_id)
            .bind(ts)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    find_digest(db, team_id, channel_id, window, content_hash)
        .await?
        .ok_or_else(|| corrupt("briefing_digests", "digest vanished after insert"))
}

/// Every digest of a channel (tests and tools).
pub async fn digests_of_channel(
    db: &Db,
    team_id: &str,
    channel_id: &str,
) -> Result<Vec<DigestRow>, DbError> {
    let rows = sqlx::query(
        "SELECT id, channel_id, window_start, window_end, content_hash, messages, summaries,
                created_at
         FROM briefing_digests WHERE team_id = $1 AND channel_id = $2 ORDER BY id",
    )
    .bind(team_id)
    .bind(channel_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(row_to_digest).collect()
}

// ---- deletion ---------------------------------------------------------------------------------

/// The message `ts` of `channel_id` (posted at `posted_at`) is gone: stored briefings that read
/// it lose what they said about it. A briefing read it when its run did (`runs`, from
/// `db::runs::forget_message_in`), or, its run forgotten, when its window holds the message and
/// a story comes from the channel. A briefing not yet sent is deleted (whoever delivers it
/// prepares it again, without the message); one already sent or on its way keeps its row (its
/// status says it went) but drops every story from that channel — the stories a summary of the
/// message's discussion may have quoted — and its guardrail verdict (which may quote them).
/// Returns the rows deleted or rewritten.
pub async fn forget_message_in(
    conn: &mut sqlx::AnyConnection,
    team_id: &str,
    channel_id: &str,
    posted_at: i64,
    runs: &[i64],
) -> Result<u64, DbError> {
    let rows = sqlx::query(
        "SELECT id, status, briefing, run_id, window_start, window_end FROM briefings
         WHERE team_id = $1 AND window_end > $2",
    )
    .bind(team_id)
    .bind(posted_at)
    .fetch_all(&mut *conn)
    .await?;
    let mut changed = 0;
    for row in &rows {
        let id: i64 = row.try_get("id")?;
        let run_id: Option<i64> = row.try_get("run_id")?;
        let (start, end): (i64, i64) = (row.try_get("window_start")?, row.try_get("window_end")?);
        let json: String = row.try_get("briefing")?;
        let mut briefing: Briefing = serde_json::from_str(&json)
            .map_err(|e| corrupt("briefings", format!("briefing is not readable: {e}")))?;
        let from_channel = |s: &crate::model::domain::BriefingStory| {
            s.sources.iter().any(|l| l.channel == channel_id)
        };
        let run_read_it = run_id.is_some_and(|r| runs.contains(&r));
        let window_read_it =
            start <= posted_at && posted_at < end && briefing.stories.iter().any(from_channel);
        if !run_read_it && !window_read_it {
            continue;
        }
        let status: String = row.try_get("status")?;
        if status == Status::Prepared.as_str() {
            changed += sqlx::query("DELETE FROM briefings WHERE id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            continue;
        }
        briefing.stories.retain(|s| !from_channel(s));
        let json = serde_json::to_string(&briefing)
            .map_err(|e| corrupt("briefings", format!("briefing does not serialize: {e}")))?;
        changed += sqlx::query(
            "UPDATE briefings SET briefing = $2, verdict = NULL,
                run_id = CASE WHEN run_id IN (SELECT id FROM runs) THEN run_id END,
                updated_at = $3
             WHERE id = $1",
        )
        .bind(id)
        .bind(json)
        .bind(now())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    Ok(changed)
}

// ---- interest origins ---------------------------------------------------------------------------

/// Records where the user's interest in `key` (a normalised topic) last came from.
pub async fn set_origin(
    db: &Db,
    team_id: &str,
    user_id: &str,
    key: &str,
    origin: &str,
    at: i64,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO briefing_interest_origins (team_id, user_id, key, origin, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (team_id, user_id, key) DO UPDATE SET origin = excluded.origin,
            updated_at = excluded.updated_at
         WHERE briefing_interest_origins.updated_at <= excluded.updated_at",
    )
    .bind(team_id)
    .bind(user_id)
    .bind(key)
    .bind(origin)
    .bind(at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// key → origin for every interest of the user.
pub async fn origins(
    db: &Db,
    team_id: &str,
    user_id: &str,
) -> Result<HashMap<String, String>, DbError> {
    let rows = sqlx::query(
        "SELECT key, origin FROM briefing_interest_origins WHERE team_id = $1 AND user_id = $2",
    )
    .bind(team_id)
    .bind(user_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("key")?, r.try_get("origin")?)))
        .collect()
}

// ---- workspace --------------------------------------------------------------------------------

pub async fn set_workspace_url(db: &Db, team_id: &str, url: &str) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO briefing_workspaces (team_id, url, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (team_id) DO UPDATE SET url = excluded.url, updated_at = excluded.updated_at",
    )
    .bind(team_id)
    .bind(url)
    .bind(now())
    .execute(db.pool())
    .await?;
    Ok(())
}

pub async fn workspace_url(db: &Db, team_id: &str) -> Result<Option<String>, DbError> {
    let row = sqlx::query("SELECT url FROM briefing_workspaces WHERE team_id = $1")
        .bind(team_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|r| r.try_get("url")).transpose()?)
}

// ---- reading the store for ranking ------------------------------------------------------------

/// The channels the user wrote in most in `[since, until)` (live messages), busiest first, with
/// counts. Bounded above because a briefing of a past day (an export, a resumed run) must not
/// learn from what the reader wrote after it: a store can hold the future of its briefing day.
pub async fn top_channels(
    db: &Db,
    team_id: &str,
    user_id: &str,
    (since, until): (i64, i64),
    limit: i64,
) -> Result<Vec<(String, i64)>, DbError> {
    let rows = sqlx::query(
        "SELECT channel_id, COUNT(*) AS n FROM messages
         WHERE team_id = $1 AND user_id = $2 AND posted_at >= $3 AND posted_at < $4
           AND removed IS NULL
         GROUP BY channel_id ORDER BY n DESC, channel_id LIMIT $5",
    )
    .bind(team_id)
    .bind(user_id)
    .bind(since)
    .bind(until)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("channel_id")?, r.try_get("n")?)))
        .collect()
}

/// The names of the workspace's people: every display name and real name (deduplicated), for
/// the guardrail's invented-name check and to keep names out of topics.
pub async fn people_names(db: &Db, team_id: &str) -> Result<Vec<String>, DbError> {
    let rows = sqlx::query(
        "SELECT display_name, real_name FROM users
         WHERE team_id = $1 AND is_bot = 0 AND deleted = 0",
    )
    .bind(team_id)
    .fetch_all(db.pool())
    .await?;
    let mut names = Vec::new();
    for row in rows {
        for column in ["display_name", "real_name"] {
            if let Some(n) = row.try_get::<Option<String>, _>(column)? {
                let n = n.trim();
                if !n.is_empty() {
                    names.push(n.to_string());
                }
            }
        }
    }
    names.sort();
    names.dedup();
    Ok(names)
}

/// The last day (UTC date of the newest message) with live messages in channels `user_id` may
/// see, if any (`chief brief` defaults to it).
pub async fn last_visible_message_at(
    db: &Db,
    team_id: &str,
    user_id: &str,
) -> Result<Option<i64>, DbError> {
    let row = sqlx::query(
        "SELECT MAX(m.posted_at) AS at FROM messages m
         JOIN channels c ON c.team_id = m.team_id AND c.channel_id = m.channel_id
         JOIN channel_members cm ON cm.team_id = m.team_id AND cm.channel_id = m.channel_id
                                AND cm.user_id = $2
         WHERE m.team_id = $1 AND m.removed IS NULL AND c.is_im = 0 AND c.is_mpim = 0",
    )
    .bind(team_id)
    .bind(user_id)
    .fetch_one(db.pool())
    .await?;
    Ok(row.try_get("at")?)
}
