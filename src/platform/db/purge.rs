//! Deleting what chief holds: a message and everything derived from it, a channel, or a whole
//! workspace.
//!
//! One list, [`TEAM_TABLES`], names every table that holds workspace data and how its rows are
//! keyed. Uninstall, message deletion and channel deletion all walk it, so a new table (propositions,
//! summaries, agent state…) is made deletable by adding one line here — and a test fails if a table
//! with a `team_id` column is missing from the list.

use sqlx::AnyConnection;

use super::{Db, DbError};

/// A table that holds workspace data. Every such table has a `team_id` column.
#[derive(Clone, Copy, Debug)]
pub struct TeamTable {
    pub table: &'static str,
    /// The column naming the channel, when each row belongs to one channel (purged with it).
    pub channel_column: Option<&'static str>,
    /// The column holding the message ts, when each row is derived from one message (purged when
    /// that message is deleted or expires). Used together with `channel_column`.
    pub message_column: Option<&'static str>,
}

const fn table(
    table: &'static str,
    channel_column: Option<&'static str>,
    message_column: Option<&'static str>,
) -> TeamTable {
    TeamTable {
        table,
        channel_column,
        message_column,
    }
}

/// Every table with workspace data, in deletion order (`teams` last). Add new tables here.
///
/// `messages` is the source of the derivatives, not one of them: a deleted message is kept as a
/// blank tombstone by `messages::remove` so that a replayed event or an older export cannot bring
/// its text back.
pub const TEAM_TABLES: &[TeamTable] = &[
    // Derived from one message.
    table("reactions", Some("channel_id"), Some("message_ts")),
    // (emptied first by profile::forget_interest_sources_in, which also drops what only they taught)
    table("interest_sources", Some("channel_id"), Some("message_ts")),
    table("propositions", Some("channel_id"), Some("message_ts")),
    table("proposition_marks", Some("channel_id"), Some("message_ts")),
    table("bus_events", Some("channel_id"), Some("message_ts")),
    // (the team's snapshots that counted them are dropped first by org::forget_in)
    table("org_interactions", Some("channel_id"), Some("message_ts")),
    // (deleting these rows deletes their digest too: a trigger, see 0008_briefings.sql)
    table(
        "briefing_digest_messages",
        Some("channel_id"),
        Some("message_ts"),
    ),
    // Per channel.
    table("messages", Some("channel_id"), None),
    table("channel_members", Some("channel_id"), None),
    table("backfill_jobs", Some("channel_id"), None),
    table("channels", Some("channel_id"), None),
    table("briefing_digests", Some("channel_id"), None),
    // Per team.
    table("llm_cache", None, None),
    table("llm_calls", None, None),
    table("jobs", None, None),
    table("job_teams", None, None),
    table("runs", None, None),
    table("user_agents", None, None),
    table("user_settings", None, None),
    table("user_activity", None, None),
    table("interest_scores", None, None),
    table("interest_signals_applied", None, None),
    table("briefings", None, None),
    table("briefing_interest_origins", None, None),
    table("briefing_workspaces", None, None),
    table("org_snapshots", None, None),
    table("org_projection", None, None),
    table("users", None, None),
    table("inbox", None, None),
    table("teams", None, None),
];

/// Deletes every row derived from one message (not the message itself). Run it in the transaction
/// that removes the message.
pub async fn delete_message_derivatives_in(
    conn: &mut AnyConnection,
    team_id: &str,
    channel_id: &str,
    ts: &str,
) -> Result<u64, DbError> {
    // Interests the message alone taught its readers and author.
    let mut deleted =
        super::profile::forget_interest_sources_in(&mut *conn, team_id, channel_id, Some(ts))
            .await?;
    deleted += super::org::forget_in(&mut *conn, team_id, channel_id, Some(ts)).await?;
    for t in TEAM_TABLES {
        let (Some(channel), Some(message)) = (t.channel_column, t.message_column) else {
            continue;
        };
        let sql = format!(
            "DELETE FROM {} WHERE team_id = $1 AND {channel} = $2 AND {message} = $3",
            t.table
        );
        deleted += sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(team_id)
            .bind(channel_id)
            .bind(ts)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    // A proposition may cite several messages; it goes when any of them does.
    deleted += sqlx::query(
        "DELETE FROM propositions WHERE team_id = $1 AND channel_id = $2 AND sources LIKE $3",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(format!("%\"ts\":\"{ts}\"%"))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    // Parked (dead) requests keep their raw payload for inspection: those about this message go.
    // (Handled ones kept no payload; pending ones are handled against the tombstone.)
    deleted +=
        sqlx::query("DELETE FROM inbox WHERE team_id = $1 AND status = 'dead' AND payload LIKE $2")
            .bind(team_id)
            .bind(format!("%\"{ts}\"%"))
            .execute(&mut *conn)
            .await?
            .rows_affected();
    // Cached model answers do not say which messages they read; any written since the message was
    // posted may hold its text, so those go (they are recomputed on demand).
    if let Some(posted_at) = crate::model::domain::ts_to_epoch(ts) {
        deleted += sqlx::query("DELETE FROM llm_cache WHERE team_id = $1 AND created_at >= $2")
            .bind(team_id)
            .bind(posted_at)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    Ok(deleted)
}

/// What people were told about a message deleted in Slack: the durable runs that read it (their
/// steps hold summaries, rankings and texts quoting it) and the stored briefings made from it
/// (see `runs::forget_message_in` and `briefings::forget_message_in`). Run it before
/// [`delete_message_derivatives_in`], while the message's digests are still linked to it.
///
/// Retention does not call this: expiry happens to every message, and searching every run for
/// each would cost more than the text it finds (runs are pruned as a whole instead).
pub async fn forget_message_readers_in(
    conn: &mut AnyConnection,
    team_id: &str,
    channel_id: &str,
    ts: &str,
) -> Result<u64, DbError> {
    use sqlx::Row;
    let Some(posted_at) = crate::model::domain::ts_to_epoch(ts) else {
        return Ok(0);
    };
    let digests: Vec<i64> = sqlx::query(
        "SELECT digest_id FROM briefing_digest_messages
         WHERE team_id = $1 AND channel_id = $2 AND message_ts = $3",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(ts)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| r.try_get("digest_id"))
    .collect::<Result<_, _>>()?;
    // An hour of margin: Slack's clock (the ts) and this server's (created_at) may differ.
    let runs = super::runs::forget_message_in(
        &mut *conn,
        team_id,
        channel_id,
        ts,
        &digests,
        posted_at - 3_600,
    )
    .await?;
    let briefings =
        super::briefings::forget_message_in(&mut *conn, team_id, channel_id, posted_at, &runs)
            .await?;
    Ok(runs.len() as u64 + briefings)
}

/// [`delete_message_derivatives_in`] in a transaction of its own.
pub async fn delete_message_derivatives(
    db: &Db,
    team_id: &str,
    channel_id: &str,
    ts: &str,
) -> Result<u64, DbError> {
    let mut tx = db.begin_write().await?;
    let n = delete_message_derivatives_in(&mut tx, team_id, channel_id, ts).await?;
    tx.commit().await?;
    Ok(n)
}

/// Deletes every row of one channel in every table (the channel was deleted in Slack).
pub async fn purge_channel_in(
    conn: &mut AnyConnection,
    team_id: &str,
    channel_id: &str,
) -> Result<u64, DbError> {
    let mut deleted =
        super::profile::forget_interest_sources_in(&mut *conn, team_id, channel_id, None).await?;
    deleted += super::org::forget_in(&mut *conn, team_id, channel_id, None).await?;
    for t in TEAM_TABLES {
        let Some(channel) = t.channel_column else {
            continue;
        };
        let sql = format!(
            "DELETE FROM {} WHERE team_id = $1 AND {channel} = $2",
            t.table
        );
        deleted += sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(team_id)
            .bind(channel_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    Ok(deleted)
}

/// Deletes every row of a team in every table, `inbox` and `teams` included (uninstall, revoked
/// tokens). One transaction: either all of it goes or nothing does.
pub async fn purge_team(db: &Db, team_id: &str) -> Result<u64, DbError> {
    let mut tx = db.begin_write().await?;
    // Run steps hang off runs (no team column of their own).
    let mut deleted = sqlx::query(
        "DELETE FROM run_steps WHERE run_id IN (SELECT id FROM runs WHERE team_id = $1)",
    )
    .bind(team_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    for t in TEAM_TABLES {
        let sql = format!("DELETE FROM {} WHERE team_id = $1", t.table);
        deleted += sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(team_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    tx.commit().await?;
    Ok(deleted)
}

/// Tables of the live schema that have a `team_id` column (for the completeness check and tests).
pub async fn tables_with_team_column(db: &Db) -> Result<Vec<String>, DbError> {
    use sqlx::Row;
    let sql = match db.backend() {
        super::Backend::Sqlite => {
            "SELECT m.name AS table_name FROM sqlite_master m, pragma_table_info(m.name) p
             WHERE m.type = 'table' AND p.name = 'team_id' ORDER BY m.name"
        }
        super::Backend::Postgres => {
            "SELECT table_name::text AS table_name FROM information_schema.columns
             WHERE table_schema = current_schema() AND column_name = 'team_id' ORDER BY table_name"
        }
    };
    sqlx::query(sql)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| r.try_get("table_name").map_err(DbError::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn every_team_table_is_listed(db: &Db) {
        let listed: Vec<&str> = TEAM_TABLES.iter().map(|t| t.table).collect();
        for table in tables_with_team_column(db).await.unwrap() {
            assert!(
                listed.contains(&table.as_str()),
                "table {table} has a team_id column but is not in db::purge::TEAM_TABLES: \
                 uninstall would leave its rows behind"
            );
        }
        assert_eq!(TEAM_TABLES.last().map(|t| t.table), Some("teams"));
        // Every listed column exists (a typo would only fail at uninstall time otherwise).
        for t in TEAM_TABLES {
            let cols: Vec<&str> = ["team_id"]
                .into_iter()
                .chain(t.channel_column)
                .chain(t.message_column)
                .collect();
            let sql = format!("SELECT {} FROM {} WHERE 1 = 0", cols.join(", "), t.table);
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(db.pool())
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", t.table));
        }
    }

    on_both_backends!(every_team_table_is_listed => team_tables_on_sqlite, team_tables_on_postgres);
}
