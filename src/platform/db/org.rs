//! The org chart's storage: the interaction log (append-only but for deletions), its snapshots
//! and the projection people read (see `model::org` and `features::org`).
//!
//! Removing interactions (a deleted message, a removed reaction, an edit that changed who a
//! message addresses) makes every snapshot taken after the first removed row wrong: those go in
//! the same transaction ([`invalidate_snapshots_in`]), so a rebuild never resumes from state that
//! still counts what was removed.

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Db, DbError, corrupt, now};
use crate::model::org::{Interaction, InteractionKind};

/// Rows per multi-row INSERT (8 parameters each).
const INSERT_CHUNK: usize = 500;

/// One row of the projection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectionRow {
    pub user_id: String,
    pub team_name: String,
    pub is_lead: bool,
    /// JSON (`model::org::PersonView`).
    pub evidence: String,
    pub up_to_seq: i64,
}

/// Serialises the writers of one team's log until the end of the transaction, on PostgreSQL.
///
/// Seqs are handed out at insert time but become visible at commit, so without it a snapshot
/// could be taken up to seq 100 while seq 99 was still uncommitted, and every refresh resuming
/// from that snapshot would miss 99. Appends, removals and the snapshot check
/// ([`save_snapshot`]) take this lock, so the check sees every row below its seq. SQLite has one
/// writer at a time and commits in seq order already.
async fn lock_log(conn: &mut AnyConnection, team_id: &str) -> Result<(), DbError> {
    if conn.backend_name() == "PostgreSQL" {
        // `execute`: the function returns `void`, which `sqlx::Any` cannot decode.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('org_log:' || $1))")
            .bind(team_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Appends `items` to the team's log in order; returns the last seq (0 when empty).
pub async fn append_in(
    conn: &mut AnyConnection,
    team_id: &str,
    items: &[Interaction],
) -> Result<i64, DbError> {
    if items.is_empty() {
        return Ok(0);
    }
    lock_log(conn, team_id).await?;
    let mut last = 0;
    for chunk in items.chunks(INSERT_CHUNK) {
        let sql = format!(
            "INSERT INTO org_interactions
                (team_id, kind, actor, target, channel_id, message_ts, at, weight)
             VALUES {} RETURNING seq",
            values_list(chunk.len(), 8)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for i in chunk {
            q = q
                .bind(team_id)
                .bind(i.kind.as_str())
                .bind(&i.actor)
                .bind(&i.target)
                .bind(i.channel_id.clone())
                .bind(i.message_ts.clone())
                .bind(i.at)
                .bind(i.weight);
        }
        for row in q.fetch_all(&mut *conn).await? {
            last = last.max(row.try_get::<i64, _>("seq")?);
        }
    }
    Ok(last)
}

/// `($1, …, $cols), ($cols+1, …)`: the VALUES list of a multi-row INSERT of `rows` rows.
fn values_list(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", super::placeholders(r * cols + 1, cols)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// [`append_in`] in a transaction of its own.
pub async fn append(db: &Db, team_id: &str, items: &[Interaction]) -> Result<i64, DbError> {
    if items.is_empty() {
        return Ok(0);
    }
    let mut tx = db.begin_write().await?;
    let last = append_in(&mut tx, team_id, items).await?;
    tx.commit().await?;
    Ok(last)
}

/// Drops the team's snapshots that cover `from_seq` or later (their state counts rows being
/// removed). Run it in the transaction that removes them.
pub async fn invalidate_snapshots_in(
    conn: &mut AnyConnection,
    team_id: &str,
    from_seq: i64,
) -> Result<u64, DbError> {
    lock_log(conn, team_id).await?;
    Ok(
        sqlx::query("DELETE FROM org_snapshots WHERE team_id = $1 AND up_to_seq >= $2")
            .bind(team_id)
            .bind(from_seq)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}

/// Invalidates the snapshots made stale by removing the interactions of one message, or of a
/// whole channel (`ts` None). Called by `db::purge` before it deletes the rows.
pub async fn forget_in(
    conn: &mut AnyConnection,
    team_id: &str,
    channel_id: &str,
    ts: Option<&str>,
) -> Result<u64, DbError> {
    let first: Option<i64> = match ts {
        Some(ts) => sqlx::query(
            "SELECT MIN(seq) AS s FROM org_interactions
             WHERE team_id = $1 AND channel_id = $2 AND message_ts = $3",
        )
        .bind(team_id)
        .bind(channel_id)
        .bind(ts),
        None => sqlx::query(
            "SELECT MIN(seq) AS s FROM org_interactions WHERE team_id = $1 AND channel_id = $2",
        )
        .bind(team_id)
        .bind(channel_id),
    }
    .fetch_one(&mut *conn)
    .await?
    .try_get("s")?;
    match first {
        Some(seq) => invalidate_snapshots_in(conn, team_id, seq).await,
        None => Ok(0),
    }
}

type Key = (InteractionKind, String, String, i64, i64);

fn key(i: &Interaction) -> Key {
    (i.kind, i.actor.clone(), i.target.clone(), i.weight, i.at)
}

/// Makes the log hold exactly `items` for one message (reactions apart: those are only added,
/// and removed by [`remove_reaction`]). Nothing is written when they are already there, so a
/// redelivered event or an unchanged edit leaves the log as it was. Returns whether it changed.
pub async fn replace_for_message(
    db: &Db,
    team_id: &str,
    channel_id: &str,
    ts: &str,
    items: &[Interaction],
) -> Result<bool, DbError> {
    let mut tx = db.begin_write().await?;
    let rows = sqlx::query(
        "SELECT seq, kind, actor, target, channel_id, message_ts, at, weight FROM org_interactions
         WHERE team_id = $1 AND channel_id = $2 AND message_ts = $3 ORDER BY seq",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(ts)
    .fetch_all(&mut *tx)
    .await?;
    let stored: Vec<(i64, Interaction)> = rows.iter().map(logged).collect::<Result<_, _>>()?;
    let (stored_reactions, stored_rest): (Vec<_>, Vec<_>) = stored
        .iter()
        .partition(|(_, i)| i.kind == InteractionKind::Reaction);
    let (new_reactions, new_rest): (Vec<&Interaction>, Vec<&Interaction>) = items
        .iter()
        .partition(|i| i.kind == InteractionKind::Reaction);
    let mut changed = false;
    let same = stored_rest.len() == new_rest.len()
        && stored_rest
            .iter()
            .zip(&new_rest)
            .all(|((_, a), b)| key(a) == key(b));
    if !same {
        if let Some((first, _)) = stored_rest.first() {
            invalidate_snapshots_in(&mut tx, team_id, *first).await?;
            sqlx::query(
                "DELETE FROM org_interactions
                 WHERE team_id = $1 AND channel_id = $2 AND message_ts = $3 AND kind <> 'reaction'",
            )
            .bind(team_id)
            .bind(channel_id)
            .bind(ts)
            .execute(&mut *tx)
            .await?;
        }
        let rest: Vec<Interaction> = new_rest.into_iter().cloned().collect();
        append_in(&mut tx, team_id, &rest).await?;
        changed = true;
    }
    let missing: Vec<Interaction> = new_reactions
        .into_iter()
        .filter(|r| !stored_reactions.iter().any(|(_, s)| s.actor == r.actor))
        .cloned()
        .collect();
    if !missing.is_empty() {
        append_in(&mut tx, team_id, &missing).await?;
        changed = true;
    }
    tx.commit().await?;
    Ok(changed)
}

/// Records that `reaction.actor` reacted to the message, once per person and message.
pub async fn add_reaction(db: &Db, team_id: &str, reaction: &Interaction) -> Result<bool, DbError> {
    let mut tx = db.begin_write().await?;
    let exists = sqlx::query(
        "SELECT 1 AS one FROM org_interactions WHERE team_id = $1 AND channel_id = $2
         AND message_ts = $3 AND kind = 'reaction' AND actor = $4",
    )
    .bind(team_id)
    .bind(reaction.channel_id.clone())
    .bind(reaction.message_ts.clone())
    .bind(&reaction.actor)
    .fetch_optional(&mut *tx)
    .await?
    .is_some();
    if !exists {
        append_in(&mut tx, team_id, std::slice::from_ref(reaction)).await?;
    }
    tx.commit().await?;
    Ok(!exists)
}

/// Removes `user_id`'s reaction interaction on a message (they have no reaction left on it).
pub async fn remove_reaction(
    db: &Db,
    team_id: &str,
    channel_id: &str,
    ts: &str,
    user_id: &str,
) -> Result<u64, DbError> {
    let mut tx = db.begin_write().await?;
    let first: Option<i64> = sqlx::query(
        "SELECT MIN(seq) AS s FROM org_interactions WHERE team_id = $1 AND channel_id = $2
         AND message_ts = $3 AND kind = 'reaction' AND actor = $4",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(ts)
    .bind(user_id)
    .fetch_one(&mut *tx)
    .await?
    .try_get("s")?;
    let Some(first) = first else {
        return Ok(0);
    };
    invalidate_snapshots_in(&mut tx, team_id, first).await?;
    let n = sqlx::query(
        "DELETE FROM org_interactions WHERE team_id = $1 AND channel_id = $2
         AND message_ts = $3 AND kind = 'reaction' AND actor = $4",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(ts)
    .bind(user_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(n)
}

fn logged(row: &AnyRow) -> Result<(i64, Interaction), DbError> {
    let kind: String = row.try_get("kind")?;
    let kind = InteractionKind::parse(&kind)
        .ok_or_else(|| corrupt("org_interactions", format!("unknown kind {kind:?}")))?;
    Ok((
        row.try_get("seq")?,
        Interaction {
            kind,
            actor: row.try_get("actor")?,
            target: row.try_get("target")?,
            channel_id: row.try_get("channel_id")?,
            message_ts: row.try_get("message_ts")?,
            at: row.try_get("at")?,
            weight: row.try_get("weight")?,
        },
    ))
}

/// Up to `limit` interactions of the team after `after_seq`, in log order.
pub async fn load_after(
    db: &Db,
    team_id: &str,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<(i64, Interaction)>, DbError> {
    sqlx::query(
        "SELECT seq, kind, actor, target, channel_id, message_ts, at, weight FROM org_interactions
         WHERE team_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    )
    .bind(team_id)
    .bind(after_seq)
    .bind(limit)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(logged)
    .collect()
}

/// The last seq of the team's log (0 when empty).
pub async fn last_seq(db: &Db, team_id: &str) -> Result<i64, DbError> {
    let s: Option<i64> =
        sqlx::query("SELECT MAX(seq) AS s FROM org_interactions WHERE team_id = $1")
            .bind(team_id)
            .fetch_one(db.pool())
            .await?
            .try_get("s")?;
    Ok(s.unwrap_or(0))
}

/// Interactions in the team's log.
pub async fn count(db: &Db, team_id: &str) -> Result<i64, DbError> {
    Ok(
        sqlx::query("SELECT COUNT(*) AS n FROM org_interactions WHERE team_id = $1")
            .bind(team_id)
            .fetch_one(db.pool())
            .await?
            .try_get("n")?,
    )
}

/// Teams that have a log.
pub async fn teams(db: &Db) -> Result<Vec<String>, DbError> {
    sqlx::query("SELECT DISTINCT team_id FROM org_interactions ORDER BY team_id")
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| r.try_get("team_id").map_err(DbError::from))
        .collect()
}

/// The latest membership each person has in the log for a channel (true: member).
pub async fn logged_members(
    db: &Db,
    team_id: &str,
    channel_id: &str,
) -> Result<BTreeMap<String, bool>, DbError> {
    let rows = sqlx::query(
        "SELECT actor, weight FROM org_interactions
         WHERE team_id = $1 AND channel_id = $2 AND kind = 'membership' ORDER BY seq",
    )
    .bind(team_id)
    .bind(channel_id)
    .fetch_all(db.pool())
    .await?;
    let mut out = BTreeMap::new();
    for r in rows {
        let w: i64 = r.try_get("weight")?;
        out.insert(r.try_get("actor")?, w > 0);
    }
    Ok(out)
}

/// The newest snapshot: (up_to_seq, state JSON).
pub async fn latest_snapshot(db: &Db, team_id: &str) -> Result<Option<(i64, String)>, DbError> {
    let row = sqlx::query(
        "SELECT up_to_seq, state FROM org_snapshots WHERE team_id = $1
         ORDER BY up_to_seq DESC LIMIT 1",
    )
    .bind(team_id)
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| Ok((r.try_get("up_to_seq")?, r.try_get("state")?)))
        .transpose()
}

/// Stores a snapshot of the state folded from the `applied` interactions up to `up_to_seq`, and
/// keeps only the two newest. Nothing is stored when the log no longer holds `applied` rows up to
/// there (some were removed since they were read: the state counts them). Returns whether stored.
pub async fn save_snapshot(
    db: &Db,
    team_id: &str,
    up_to_seq: i64,
    applied: i64,
    state: &str,
) -> Result<bool, DbError> {
    let mut tx = db.begin_write().await?;
    lock_log(&mut tx, team_id).await?;
    let held: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM org_interactions WHERE team_id = $1 AND seq <= $2")
            .bind(team_id)
            .bind(up_to_seq)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
    if held != applied {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO org_snapshots (team_id, up_to_seq, state, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (team_id, up_to_seq) DO NOTHING",
    )
    .bind(team_id)
    .bind(up_to_seq)
    .bind(state)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM org_snapshots WHERE team_id = $1 AND up_to_seq < (
            SELECT MIN(up_to_seq) FROM (
                SELECT up_to_seq FROM org_snapshots WHERE team_id = $1
                ORDER BY up_to_seq DESC LIMIT 2) AS newest)",
    )
    .bind(team_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Snapshots of the team (for tests and tools).
pub async fn snapshot_seqs(db: &Db, team_id: &str) -> Result<Vec<i64>, DbError> {
    sqlx::query("SELECT up_to_seq FROM org_snapshots WHERE team_id = $1 ORDER BY up_to_seq")
        .bind(team_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| r.try_get("up_to_seq").map_err(DbError::from))
        .collect()
}

/// Replaces the team's projection with `rows`, in one transaction.
pub async fn write_projection(
    db: &Db,
    team_id: &str,
    rows: &[ProjectionRow],
) -> Result<(), DbError> {
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM org_projection WHERE team_id = $1")
        .bind(team_id)
        .execute(&mut *tx)
        .await?;
    for chunk in rows.chunks(INSERT_CHUNK) {
        let sql = format!(
            "INSERT INTO org_projection (team_id, user_id, team_name, is_lead, evidence, up_to_seq)
             VALUES {}",
            values_list(chunk.len(), 6)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            q = q
                .bind(team_id)
                .bind(&r.user_id)
                .bind(&r.team_name)
                .bind(i64::from(r.is_lead))
                .bind(&r.evidence)
                .bind(r.up_to_seq);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

fn projection_row(r: &AnyRow) -> Result<ProjectionRow, DbError> {
    Ok(ProjectionRow {
        user_id: r.try_get("user_id")?,
        team_name: r.try_get("team_name")?,
        is_lead: r.try_get::<i64, _>("is_lead")? != 0,
        evidence: r.try_get("evidence")?,
        up_to_seq: r.try_get("up_to_seq")?,
    })
}

/// The team's projection, by user id.
pub async fn projection(db: &Db, team_id: &str) -> Result<Vec<ProjectionRow>, DbError> {
    sqlx::query(
        "SELECT user_id, team_name, is_lead, evidence, up_to_seq FROM org_projection
         WHERE team_id = $1 ORDER BY user_id",
    )
    .bind(team_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(projection_row)
    .collect()
}

/// One person's row and their team's rows (members of the same team, by user id).
pub async fn team_rows_of(
    db: &Db,
    team_id: &str,
    user_id: &str,
) -> Result<Option<(ProjectionRow, Vec<ProjectionRow>)>, DbError> {
    let Some(own) = sqlx::query(
        "SELECT user_id, team_name, is_lead, evidence, up_to_seq FROM org_projection
         WHERE team_id = $1 AND user_id = $2",
    )
    .bind(team_id)
    .bind(user_id)
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(projection_row)
    .transpose()?
    else {
        return Ok(None);
    };
    let mates = if own.team_name.is_empty() {
        Vec::new()
    } else {
        sqlx::query(
            "SELECT user_id, team_name, is_lead, evidence, up_to_seq FROM org_projection
             WHERE team_id = $1 AND team_name = $2 ORDER BY user_id",
        )
        .bind(team_id)
        .bind(&own.team_name)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(projection_row)
        .collect::<Result<_, _>>()?
    };
    Ok(Some((own, mates)))
}

/// The authors of a thread before `before_ts`: the parent's author, and the others who replied
/// (distinct, in order, the parent's author excluded). Deleted messages do not count.
pub async fn thread_authors(
    db: &Db,
    team_id: &str,
    channel_id: &str,
    thread_ts: &str,
    before_ts: &str,
) -> Result<(Option<String>, Vec<String>), DbError> {
    let rows = sqlx::query(
        "SELECT ts, user_id FROM messages
         WHERE team_id = $1 AND channel_id = $2 AND (ts = $3 OR thread_ts = $3) AND ts < $4
           AND removed IS NULL ORDER BY ts",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(thread_ts)
    .bind(before_ts)
    .fetch_all(db.pool())
    .await?;
    let mut parent = None;
    let mut others: Vec<String> = Vec::new();
    for r in rows {
        let ts: String = r.try_get("ts")?;
        let Some(user): Option<String> = r.try_get("user_id")? else {
            continue;
        };
        if ts == thread_ts {
            parent = Some(user);
        } else if !others.contains(&user) {
            others.push(user);
        }
    }
    if let Some(p) = &parent {
        others.retain(|o| o != p);
    }
    Ok((parent, others))
}

/// The live messages of a channel posted in `[from, to]`, oldest first, with their mentions and
/// reactions: what a bulk load (import, backfill) added, read back for the log.
pub async fn channel_messages(
    db: &Db,
    team_id: &str,
    channel_id: &str,
    from: i64,
    to: i64,
) -> Result<Vec<crate::model::events::PostedMessage>, DbError> {
    let rows = sqlx::query(
        "SELECT ts, thread_ts, user_id, bot_id, subtype, text, mentions, posted_at FROM messages
         WHERE team_id = $1 AND channel_id = $2 AND posted_at >= $3 AND posted_at <= $4
           AND removed IS NULL ORDER BY ts",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    let reactions = sqlx::query(
        "SELECT r.message_ts, r.user_id, r.name FROM reactions r
         JOIN messages m ON m.team_id = r.team_id AND m.channel_id = r.channel_id
                        AND m.ts = r.message_ts
         WHERE r.team_id = $1 AND r.channel_id = $2 AND m.posted_at >= $3 AND m.posted_at <= $4
         ORDER BY r.message_ts, r.name, r.user_id",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    let mut by_message: BTreeMap<String, Vec<(String, Vec<String>)>> = BTreeMap::new();
    for r in reactions {
        let ts: String = r.try_get("message_ts")?;
        let user: String = r.try_get("user_id")?;
        let name: String = r.try_get("name")?;
        let list = by_message.entry(ts).or_default();
        match list.iter_mut().find(|(n, _)| *n == name) {
            Some((_, users)) => users.push(user),
            None => list.push((name, vec![user])),
        }
    }
    rows.iter()
        .map(|r| {
            let ts: String = r.try_get("ts")?;
            let mentions: String = r.try_get("mentions")?;
            Ok(crate::model::events::PostedMessage {
                channel_id: channel_id.to_string(),
                thread_ts: r.try_get("thread_ts")?,
                user_id: r.try_get("user_id")?,
                bot_id: r.try_get("bot_id")?,
                subtype: r.try_get("subtype")?,
                text: r.try_get("text")?,
                mentions: serde_json::from_str(&mentions)
                    .map_err(|e| corrupt("messages", e.to_string()))?,
                posted_at: r.try_get("posted_at")?,
                edited_at: None,
                reply_count: None,
                channel_private: None,
                reactions: by_message.remove(&ts).unwrap_or_default(),
                ts,
            })
        })
        .collect()
}

/// Whether `user_id` still has a reaction on the message.
pub async fn has_reaction(
    db: &Db,
    team_id: &str,
    channel_id: &str,
    ts: &str,
    user_id: &str,
) -> Result<bool, DbError> {
    Ok(sqlx::query(
        "SELECT 1 AS one FROM reactions
         WHERE team_id = $1 AND channel_id = $2 AND message_ts = $3 AND user_id = $4",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(ts)
    .bind(user_id)
    .fetch_optional(db.pool())
    .await?
    .is_some())
}
