//! The message store, and the privacy boundary: which messages a person may be shown.
//!
//! Messages are keyed by (team, channel, ts), so every write is an idempotent upsert: a replayed
//! event, an overlapping backfill or a second import store nothing twice. A deleted (or expired)
//! message stays as a blank tombstone (`removed` set, text empty) that no later write revives.
//!
//! # The privacy rule
//!
//! [`visible_to`] and its variants are the only way later pipelines read messages for a person. A
//! message is visible to user U when all of these hold:
//! - U is in the message's channel according to `channel_members` (public channels included: being
//!   able to join is not being in it);
//! - the channel is known to the directory and is neither a DM nor a group DM (those are never
//!   stored, and this is checked again here);
//! - the message is live (not deleted in Slack, not expired by retention).
//!
//! Archived channels stay visible to their members: Slack still lets members read them, and
//! membership (not activity) is what decides. A channel chief's bot has left keeps the member list
//! it had then; its members could read those messages when they were posted.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Executor, Row};

use super::{Db, DbError, now};
use crate::model::domain::{Message, ts_to_epoch};
use crate::model::events::PostedMessage;

/// Where a stored message came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Event,
    Backfill,
    Import,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Event => "event",
            Source::Backfill => "backfill",
            Source::Import => "import",
        }
    }
}

/// What an upsert did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upserted {
    /// A new message.
    Inserted,
    /// Known, and something changed (text, edit time, thread, reply count).
    Updated,
    /// Known and identical.
    Unchanged,
    /// Known as deleted or expired: left as it is.
    Removed,
}

/// Why a message no longer has text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removal {
    /// Deleted in Slack.
    Deleted,
    /// Older than the retention period.
    Expired,
}

impl Removal {
    fn as_str(self) -> &'static str {
        match self {
            Removal::Deleted => "deleted",
            Removal::Expired => "expired",
        }
    }
}

/// A message row with everything stored about it (for tests, tools and the export).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMessage {
    pub team_id: String,
    pub channel_id: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    pub user_id: Option<String>,
    pub bot_id: Option<String>,
    pub subtype: Option<String>,
    pub text: String,
    pub mentions: Vec<String>,
    pub posted_at: i64,
    pub edited_at: Option<i64>,
    pub reply_count: i64,
    /// `Some("deleted")` or `Some("expired")` for a tombstone.
    pub removed: Option<String>,
    pub source: String,
}

/// Stores a message (new, edited or seen again). Run it in a transaction with what goes with it.
pub async fn upsert(
    conn: &mut AnyConnection,
    team_id: &str,
    m: &PostedMessage,
    source: Source,
) -> Result<Upserted, DbError> {
    let mentions = serde_json::to_string(&m.mentions).unwrap_or_else(|_| "[]".into());
    let reply_count = m.reply_count.unwrap_or(0).max(0);
    let inserted = sqlx::query(
        "INSERT INTO messages (team_id, channel_id, ts, thread_ts, user_id, bot_id, subtype, text,
                               mentions, posted_at, edited_at, reply_count, source, stored_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (team_id, channel_id, ts) DO NOTHING
         RETURNING ts",
    )
    .bind(team_id)
    .bind(&m.channel_id)
    .bind(&m.ts)
    .bind(&m.thread_ts)
    .bind(&m.user_id)
    .bind(&m.bot_id)
    .bind(&m.subtype)
    .bind(&m.text)
    .bind(&mentions)
    .bind(m.posted_at)
    .bind(m.edited_at)
    .bind(reply_count)
    .bind(source.as_str())
    .bind(now())
    .fetch_optional(&mut *conn)
    .await?;
    let outcome = if inserted.is_some() {
        Upserted::Inserted
    } else {
        // Only a live row changes, only when something differs (so re-imports are no-ops), and
        // never back to an older version (a late replay of the original after an edit).
        let updated = sqlx::query(
            "UPDATE messages SET
                text = $4,
                thread_ts = COALESCE($5, thread_ts),
                mentions = $6,
                edited_at = COALESCE($7, edited_at),
                reply_count = CASE WHEN $8 > reply_count THEN $8 ELSE reply_count END
             WHERE team_id = $1 AND channel_id = $2 AND ts = $3 AND removed IS NULL
               AND COALESCE($7, 0) >= COALESCE(edited_at, 0)
               AND (text <> $4 OR mentions <> $6
                    OR COALESCE(thread_ts, '') <> COALESCE($5, thread_ts, '')
                    OR COALESCE(edited_at, 0) <> COALESCE($7, edited_at, 0)
                    OR reply_count < $8)
             RETURNING ts",
        )
        .bind(team_id)
        .bind(&m.channel_id)
        .bind(&m.ts)
        .bind(&m.text)
        .bind(&m.thread_ts)
        .bind(&mentions)
        .bind(m.edited_at)
        .bind(reply_count)
        .fetch_optional(&mut *conn)
        .await?;
        if updated.is_some() {
            Upserted::Updated
        } else if is_removed(&mut *conn, team_id, &m.channel_id, &m.ts).await? {
            return Ok(Upserted::Removed);
        } else {
            Upserted::Unchanged
        }
    };
    if m.is_reply()
        && let Some(parent) = &m.thread_ts
    {
        recount_replies(&mut *conn, team_id, &m.channel_id, parent).await?;
    }
    for (name, users) in &m.reactions {
        for user in users {
            add_reaction(
                &mut *conn,
                team_id,
                &m.channel_id,
                &m.ts,
                user,
                name,
                m.posted_at,
            )
            .await?;
        }
    }
    Ok(outcome)
}

async fn is_removed(
    conn: &mut AnyConnection,
    team_id: &str,
    channel_id: &str,
    ts: &str,
) -> Result<bool, DbError> {
    let row = sqlx::query(
        "SELECT removed FROM messages WHERE team_id = $1 AND channel_id = $2 AND ts = $3",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(ts)
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        Some(row) => row.try_get::<Option<String>, _>("removed")?.is_some(),
        None => false,
    })
}

/// A thread parent's reply count never goes below the replies stored (exports and history give
/// Slack's count, which may include replies chief never saw).
async fn recount_replies(
    conn: &mut AnyConnection,
    team_id: &str,
    channel_id: &str,
    parent_ts: &str,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE messages SET reply_count = (
             SELECT COUNT(*) FROM messages r
             WHERE r.team_id = $1 AND r.channel_id = $2 AND r.thread_ts = $3 AND r.ts <> $3)
         WHERE team_id = $1 AND channel_id = $2 AND ts = $3
           AND reply_count < (
             SELECT COUNT(*) FROM messages r
             WHERE r.team_id = $1 AND r.channel_id = $2 AND r.thread_ts = $3 AND r.ts <> $3)",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(parent_ts)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes a message's text and everything derived from it (see `db::purge`), keeping a blank
/// tombstone so no replay brings it back. Works for messages never seen too. Returns whether a
/// live message was removed.
pub async fn remove(
    conn: &mut AnyConnection,
    team_id: &str,
    channel_id: &str,
    ts: &str,
    why: Removal,
) -> Result<bool, DbError> {
    if why == Removal::Deleted {
        super::purge::forget_message_readers_in(&mut *conn, team_id, channel_id, ts).await?;
    }
    super::purge::delete_message_derivatives_in(&mut *conn, team_id, channel_id, ts).await?;
    let blanked = sqlx::query(
        "UPDATE messages SET text = '', mentions = '[]', removed = $4
         WHERE team_id = $1 AND channel_id = $2 AND ts = $3 AND removed IS NULL",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(ts)
    .bind(why.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query(
        "INSERT INTO messages (team_id, channel_id, ts, text, posted_at, removed, source, stored_at)
         VALUES ($1, $2, $3, '', $4, $5, 'event', $6)
         ON CONFLICT (team_id, channel_id, ts) DO NOTHING",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(ts)
    .bind(ts_to_epoch(ts).unwrap_or(0))
    .bind(why.as_str())
    .bind(now())
    .execute(&mut *conn)
    .await?;
    Ok(blanked > 0)
}

/// Retention: blanks every live message posted before `cutoff` (epoch seconds) and deletes what
/// was derived from it, `batch` messages per transaction. Returns how many were expired.
pub async fn expire_before(db: &Db, cutoff: i64, batch: i64) -> Result<u64, DbError> {
    let mut expired = 0;
    loop {
        let rows = sqlx::query(
            "SELECT team_id, channel_id, ts FROM messages
             WHERE removed IS NULL AND posted_at < $1 ORDER BY posted_at LIMIT $2",
        )
        .bind(cutoff)
        .bind(batch)
        .fetch_all(db.pool())
        .await?;
        if rows.is_empty() {
            return Ok(expired);
        }
        let mut tx = db.begin_write().await?;
        for row in &rows {
            let team: String = row.try_get("team_id")?;
            let channel: String = row.try_get("channel_id")?;
            let ts: String = row.try_get("ts")?;
            if remove(&mut tx, &team, &channel, &ts, Removal::Expired).await? {
                expired += 1;
            }
        }
        tx.commit().await?;
    }
}

/// Adds a reaction, unless the message is a tombstone.
pub async fn add_reaction<'c, E>(
    e: E,
    team_id: &str,
    channel_id: &str,
    message_ts: &str,
    user_id: &str,
    name: &str,
    at: i64,
) -> Result<(), DbError>
where
    E: Executor<'c, Database = Any>,
{
    sqlx::query(
        "INSERT INTO reactions (team_id, channel_id, message_ts, user_id, name, reacted_at)
         SELECT $1, $2, $3, $4, $5, $6
         WHERE NOT EXISTS (SELECT 1 FROM messages
                           WHERE team_id = $1 AND channel_id = $2 AND ts = $3
                             AND removed IS NOT NULL)
         ON CONFLICT (team_id, channel_id, message_ts, user_id, name) DO NOTHING",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(message_ts)
    .bind(user_id)
    .bind(name)
    .bind(at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn remove_reaction<'c, E>(
    e: E,
    team_id: &str,
    channel_id: &str,
    message_ts: &str,
    user_id: &str,
    name: &str,
) -> Result<(), DbError>
where
    E: Executor<'c, Database = Any>,
{
    sqlx::query(
        "DELETE FROM reactions
         WHERE team_id = $1 AND channel_id = $2 AND message_ts = $3 AND user_id = $4 AND name = $5",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(message_ts)
    .bind(user_id)
    .bind(name)
    .execute(e)
    .await?;
    Ok(())
}

/// A message's reactions as (name, user id), sorted.
pub async fn reactions(
    db: &Db,
    team_id: &str,
    channel_id: &str,
    ts: &str,
) -> Result<Vec<(String, String)>, DbError> {
    let rows = sqlx::query(
        "SELECT name, user_id FROM reactions
         WHERE team_id = $1 AND channel_id = $2 AND message_ts = $3 ORDER BY name, user_id",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(ts)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("name")?, r.try_get("user_id")?)))
        .collect()
}

fn stored(row: &AnyRow) -> Result<StoredMessage, DbError> {
    let mentions: String = row.try_get("mentions")?;
    Ok(StoredMessage {
        team_id: row.try_get("team_id")?,
        channel_id: row.try_get("channel_id")?,
        ts: row.try_get("ts")?,
        thread_ts: row.try_get("thread_ts")?,
        user_id: row.try_get("user_id")?,
        bot_id: row.try_get("bot_id")?,
        subtype: row.try_get("subtype")?,
        text: row.try_get("text")?,
        mentions: serde_json::from_str(&mentions).unwrap_or_default(),
        posted_at: row.try_get("posted_at")?,
        edited_at: row.try_get("edited_at")?,
        reply_count: row.try_get("reply_count")?,
        removed: row.try_get("removed")?,
        source: row.try_get("source")?,
    })
}

/// One stored row, tombstones included. Not for serving people: see [`visible_message`].
pub async fn get(
    db: &Db,
    team_id: &str,
    channel_id: &str,
    ts: &str,
) -> Result<Option<StoredMessage>, DbError> {
    let row = sqlx::query(
        "SELECT team_id, channel_id, ts, thread_ts, user_id, bot_id, subtype, text, mentions,
                posted_at, edited_at, reply_count, removed, source
         FROM messages WHERE team_id = $1 AND channel_id = $2 AND ts = $3",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(ts)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(stored).transpose()
}

/// Live messages of a team (for summaries, tests and tools).
pub async fn count_live(db: &Db, team_id: &str) -> Result<i64, DbError> {
    let row =
        sqlx::query("SELECT COUNT(*) AS n FROM messages WHERE team_id = $1 AND removed IS NULL")
            .bind(team_id)
            .fetch_one(db.pool())
            .await?;
    Ok(row.try_get("n")?)
}

/// Live messages of one channel.
pub async fn count_in_channel(db: &Db, team_id: &str, channel_id: &str) -> Result<i64, DbError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM messages WHERE team_id = $1 AND channel_id = $2 AND removed IS NULL",
    )
    .bind(team_id)
    .bind(channel_id)
    .fetch_one(db.pool())
    .await?;
    Ok(row.try_get("n")?)
}

// ---- the privacy boundary -----------------------------------------------------------------------

/// The columns of a visible message and the joins that enforce the rule (see the module docs).
/// `$1` is the team, `$2` the user.
const VISIBLE: &str = "
    SELECT m.team_id, m.channel_id, m.ts, m.thread_ts, m.user_id, m.text, m.posted_at,
           COALESCE(NULLIF(u.display_name, ''), NULLIF(u.real_name, ''), NULLIF(u.name, '')) AS user_name
    FROM messages m
    JOIN channels c ON c.team_id = m.team_id AND c.channel_id = m.channel_id
    JOIN channel_members cm ON cm.team_id = m.team_id AND cm.channel_id = m.channel_id
                           AND cm.user_id = $2
    LEFT JOIN users u ON u.team_id = m.team_id AND u.user_id = m.user_id
    WHERE m.team_id = $1 AND m.removed IS NULL AND c.is_im = 0 AND c.is_mpim = 0";

/// [`VISIBLE`] narrowed by `filter` (more `AND` conditions from `$3` on, an order), with the team
/// and the reader bound: every variant of [`visible_to`] keeps the same joins this way.
fn visible(filter: &str, team_id: &str, user_id: &str) -> Query<'static, Any, AnyArguments> {
    sqlx::query(sqlx::AssertSqlSafe(format!("{VISIBLE} {filter}")))
        .bind(team_id)
        .bind(user_id)
}

fn message(row: &AnyRow) -> Result<Message, DbError> {
    Ok(Message {
        team_id: row.try_get("team_id")?,
        channel_id: row.try_get("channel_id")?,
        ts: row.try_get("ts")?,
        thread_ts: row.try_get("thread_ts")?,
        user_id: row.try_get("user_id")?,
        user_name: row.try_get("user_name")?,
        text: row.try_get("text")?,
        posted_at: row.try_get("posted_at")?,
    })
}

/// Every message `user_id` may see that was posted in `[from, to)` (epoch seconds), oldest first.
/// The one door later pipelines read messages for a person through.
pub async fn visible_to(
    db: &Db,
    team_id: &str,
    user_id: &str,
    from: i64,
    to: i64,
) -> Result<Vec<Message>, DbError> {
    let rows = visible(
        "AND m.posted_at >= $3 AND m.posted_at < $4 ORDER BY m.posted_at, m.channel_id, m.ts",
        team_id,
        user_id,
    )
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(message).collect()
}

/// [`visible_to`] restricted to one channel (empty when the user may not see it).
pub async fn visible_in_channel(
    db: &Db,
    team_id: &str,
    user_id: &str,
    channel_id: &str,
    from: i64,
    to: i64,
) -> Result<Vec<Message>, DbError> {
    let rows = visible(
        "AND m.channel_id = $3 AND m.posted_at >= $4 AND m.posted_at < $5
         ORDER BY m.posted_at, m.ts",
        team_id,
        user_id,
    )
    .bind(channel_id)
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(message).collect()
}

/// One message, if `user_id` may see it.
pub async fn visible_message(
    db: &Db,
    team_id: &str,
    user_id: &str,
    channel_id: &str,
    ts: &str,
) -> Result<Option<Message>, DbError> {
    let row = visible("AND m.channel_id = $3 AND m.ts = $4", team_id, user_id)
        .bind(channel_id)
        .bind(ts)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(message).transpose()
}

/// A whole thread (parent first, then replies), if `user_id` may see the channel.
pub async fn visible_thread(
    db: &Db,
    team_id: &str,
    user_id: &str,
    channel_id: &str,
    thread_ts: &str,
) -> Result<Vec<Message>, DbError> {
    let rows = visible(
        "AND m.channel_id = $3 AND (m.ts = $4 OR m.thread_ts = $4) ORDER BY m.ts",
        team_id,
        user_id,
    )
    .bind(channel_id)
    .bind(thread_ts)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(message).collect()
}

/// Whether `user_id` may see `channel_id` at all (same rule as [`visible_to`]).
pub async fn may_see_channel(
    db: &Db,
    team_id: &str,
    user_id: &str,
    channel_id: &str,
) -> Result<bool, DbError> {
    let row = sqlx::query(
        "SELECT 1 AS ok FROM channels c
         JOIN channel_members cm ON cm.team_id = c.team_id AND cm.channel_id = c.channel_id
                                AND cm.user_id = $2
         WHERE c.team_id = $1 AND c.channel_id = $3 AND c.is_im = 0 AND c.is_mpim = 0",
    )
    .bind(team_id)
    .bind(user_id)
    .bind(channel_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::events::Channel;
    use crate::platform::db::directory;

    fn posted(channel: &str, ts: &str, user: &str, text: &str) -> PostedMessage {
        PostedMessage {
            channel_id: channel.into(),
            ts: ts.into(),
            thread_ts: None,
            user_id: Some(user.into()),
            bot_id: None,
            subtype: None,
            text: text.into(),
            mentions: vec![],
            posted_at: ts_to_epoch(ts).unwrap(),
            edited_at: None,
            reply_count: None,
            channel_private: None,
            reactions: vec![],
        }
    }

    async fn upserts_are_idempotent_and_tombstones_stay(db: &Db) {
        let mut conn = db.pool().acquire().await.unwrap();
        let m = posted("C1", "1700000000.000100", "U1", "hello");
        assert_eq!(
            upsert(&mut conn, "T1", &m, Source::Event).await.unwrap(),
            Upserted::Inserted
        );
        assert_eq!(
            upsert(&mut conn, "T1", &m, Source::Import).await.unwrap(),
            Upserted::Unchanged
        );
        let mut edited = m.clone();
        edited.text = "hello, world".into();
        edited.edited_at = Some(1700000100);
        assert_eq!(
            upsert(&mut conn, "T1", &edited, Source::Event)
                .await
                .unwrap(),
            Upserted::Updated
        );
        // A late replay of the original (no edit time) does not undo the edit.
        assert_eq!(
            upsert(&mut conn, "T1", &m, Source::Event).await.unwrap(),
            Upserted::Unchanged
        );
        let stored = get(db, "T1", "C1", &m.ts).await.unwrap().unwrap();
        assert_eq!(stored.text, "hello, world");
        assert_eq!(stored.edited_at, Some(1700000100));
        assert_eq!(stored.source, "event");

        // Replies raise the parent's count; a reaction is kept with the message.
        let mut reply = posted("C1", "1700000001.000100", "U2", "re");
        reply.thread_ts = Some(m.ts.clone());
        reply.reactions = vec![("eyes".into(), vec!["U1".into()])];
        upsert(&mut conn, "T1", &reply, Source::Event)
            .await
            .unwrap();
        assert_eq!(
            get(db, "T1", "C1", &m.ts)
                .await
                .unwrap()
                .unwrap()
                .reply_count,
            1
        );
        assert_eq!(
            reactions(db, "T1", "C1", &reply.ts).await.unwrap(),
            vec![("eyes".to_string(), "U1".to_string())]
        );

        // Deleting blanks the text, drops the reactions, and no replay revives it.
        assert!(
            remove(&mut conn, "T1", "C1", &reply.ts, Removal::Deleted)
                .await
                .unwrap()
        );
        assert!(
            !remove(&mut conn, "T1", "C1", &reply.ts, Removal::Deleted)
                .await
                .unwrap()
        );
        let gone = get(db, "T1", "C1", &reply.ts).await.unwrap().unwrap();
        assert_eq!(
            (gone.text.as_str(), gone.removed.as_deref()),
            ("", Some("deleted"))
        );
        assert!(
            reactions(db, "T1", "C1", &reply.ts)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            upsert(&mut conn, "T1", &reply, Source::Import)
                .await
                .unwrap(),
            Upserted::Removed
        );
        add_reaction(&mut *conn, "T1", "C1", &reply.ts, "U3", "tada", 0)
            .await
            .unwrap();
        assert!(
            reactions(db, "T1", "C1", &reply.ts)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            get(db, "T1", "C1", &reply.ts).await.unwrap().unwrap().text,
            ""
        );

        // A deletion that arrives before the message still wins.
        assert!(
            !remove(&mut conn, "T1", "C1", "1700000009.000100", Removal::Deleted)
                .await
                .unwrap()
        );
        let early = posted("C1", "1700000009.000100", "U1", "too late");
        assert_eq!(
            upsert(&mut conn, "T1", &early, Source::Event)
                .await
                .unwrap(),
            Upserted::Removed
        );
        assert_eq!(count_live(db, "T1").await.unwrap(), 1);

        // Retention expires old text the same way.
        drop(conn);
        assert_eq!(expire_before(db, 1700000001, 10).await.unwrap(), 1);
        assert_eq!(count_live(db, "T1").await.unwrap(), 0);
    }

    on_both_backends!(upserts_are_idempotent_and_tombstones_stay => store_on_sqlite, store_on_postgres);

    /// The privacy boundary: a private channel's content never reaches a non-member.
    async fn only_members_see_a_channel(db: &Db) {
        let mut conn = db.pool().acquire().await.unwrap();
        let private = Channel {
            channel_id: "G1".into(),
            name: Some("secret-project".into()),
            is_private: true,
            ..Channel::default()
        };
        let public = Channel {
            channel_id: "C1".into(),
            name: Some("general".into()),
            ..Channel::default()
        };
        let dm = Channel {
            channel_id: "D1".into(),
            is_im: true,
            ..Channel::default()
        };
        for c in [&private, &public, &dm] {
            directory::upsert_channel(&mut *conn, "T1", c, 1)
                .await
                .unwrap();
        }
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        directory::replace_members(&mut conn, "T1", "G1", &ids(&["UALICE"]), 1)
            .await
            .unwrap();
        directory::replace_members(&mut conn, "T1", "C1", &ids(&["UALICE", "UBOB"]), 1)
            .await
            .unwrap();
        directory::replace_members(&mut conn, "T1", "D1", &ids(&["UALICE", "UBOB"]), 1)
            .await
            .unwrap();
        directory::upsert_user(
            &mut *conn,
            "T1",
            &crate::model::events::User {
                user_id: "UALICE".into(),
                display_name: Some("alice".into()),
                ..Default::default()
            },
            1,
        )
        .await
        .unwrap();
        for m in [
            posted(
                "G1",
                "1700000000.000001",
                "UALICE",
                "the acquisition closes friday",
            ),
            posted("C1", "1700000000.000002", "UALICE", "lunch?"),
            posted("D1", "1700000000.000003", "UALICE", "psst"),
            posted("C9", "1700000000.000004", "UALICE", "unknown channel"),
        ] {
            upsert(&mut conn, "T1", &m, Source::Event).await.unwrap();
        }
        // Another team's membership of the same ids gives nothing here.
        directory::upsert_channel(&mut *conn, "T2", &private, 1)
            .await
            .unwrap();
        directory::replace_members(&mut conn, "T2", "G1", &ids(&["UBOB"]), 1)
            .await
            .unwrap();

        let bob = visible_to(db, "T1", "UBOB", 0, i64::MAX).await.unwrap();
        assert_eq!(
            bob.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
            vec!["lunch?"]
        );
        assert_eq!(bob[0].user_name.as_deref(), Some("alice"));
        assert!(
            visible_in_channel(db, "T1", "UBOB", "G1", 0, i64::MAX)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            visible_message(db, "T1", "UBOB", "G1", "1700000000.000001")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            visible_thread(db, "T1", "UBOB", "G1", "1700000000.000001")
                .await
                .unwrap()
                .is_empty()
        );
        assert!(!may_see_channel(db, "T1", "UBOB", "G1").await.unwrap());
        assert!(
            !may_see_channel(db, "T1", "UBOB", "D1").await.unwrap(),
            "never DMs"
        );
        assert!(may_see_channel(db, "T1", "UBOB", "C1").await.unwrap());

        let alice = visible_to(db, "T1", "UALICE", 0, i64::MAX).await.unwrap();
        assert_eq!(
            alice.len(),
            2,
            "private + public, never the DM or an unknown channel"
        );
        assert!(may_see_channel(db, "T1", "UALICE", "G1").await.unwrap());
        // The window is half-open.
        assert!(
            visible_to(db, "T1", "UALICE", 0, 1700000000)
                .await
                .unwrap()
                .is_empty()
        );

        // Leaving the channel ends it.
        directory::remove_member(&mut conn, "T1", "G1", "UALICE")
            .await
            .unwrap();
        assert_eq!(
            visible_to(db, "T1", "UALICE", 0, i64::MAX)
                .await
                .unwrap()
                .len(),
            1
        );
    }

    on_both_backends!(only_members_see_a_channel => privacy_on_sqlite, privacy_on_postgres);
}
