//! The directory: the people and channels of each workspace, and who is in which channel.
//!
//! Channel membership is the source of truth for what a person may see (`messages::visible_to`),
//! so it is kept from every source that knows it: `conversations.members`, member join/leave
//! events, and exports' `channels.json`. Each source says *when* it was true (`source_at`: the fetch
//! time, or the export's last message); an older source never overwrites a newer one, so importing
//! an old export after live events (or two exports in any order) keeps the newest names and members.

use std::collections::{HashMap, HashSet};

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Executor, Row};

use super::{Db, DbError, now, placeholders};
use crate::model::events::{Channel, User};

/// A channel with what chief tracks about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelRow {
    pub channel: Channel,
    /// chief's bot is in the channel.
    pub is_member: bool,
    /// When the member list was last known as a whole.
    pub members_at: Option<i64>,
    /// When `conversations.info` last succeeded (`None`: only known from events or an export).
    pub synced_at: Option<i64>,
}

fn flag(b: bool) -> i32 {
    i32::from(b)
}

/// `sql` with the team as `$1` and `ids` as `$2…` (its `IN` list, from [`placeholders`]): the
/// look-ups of many people or channels at once, one round trip instead of one per id.
fn team_and_ids(sql: String, team_id: &str, ids: &[String]) -> Query<'static, Any, AnyArguments> {
    ids.iter().fold(
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(team_id),
        |query, id| query.bind(id),
    )
}

// ---- users --------------------------------------------------------------------------------------

/// Inserts or updates a person, unless what is stored is newer than `source_at`.
pub async fn upsert_user<'c, E>(
    e: E,
    team_id: &str,
    user: &User,
    source_at: i64,
) -> Result<(), DbError>
where
    E: Executor<'c, Database = Any>,
{
    sqlx::query(
        "INSERT INTO users (team_id, user_id, name, display_name, real_name, tz, tz_offset, locale,
                            is_bot, deleted, source_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (team_id, user_id) DO UPDATE SET
            name = COALESCE(excluded.name, users.name),
            display_name = COALESCE(excluded.display_name, users.display_name),
            real_name = COALESCE(excluded.real_name, users.real_name),
            tz = COALESCE(excluded.tz, users.tz),
            tz_offset = COALESCE(excluded.tz_offset, users.tz_offset),
            locale = COALESCE(excluded.locale, users.locale),
            is_bot = excluded.is_bot,
            deleted = excluded.deleted,
            source_at = excluded.source_at,
            updated_at = excluded.updated_at
         WHERE excluded.source_at >= users.source_at",
    )
    .bind(team_id)
    .bind(&user.user_id)
    .bind(&user.name)
    .bind(&user.display_name)
    .bind(&user.real_name)
    .bind(&user.tz)
    .bind(user.tz_offset)
    .bind(&user.locale)
    .bind(flag(user.is_bot))
    .bind(flag(user.deleted))
    .bind(source_at)
    .bind(now())
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get_user(db: &Db, team_id: &str, user_id: &str) -> Result<Option<User>, DbError> {
    let row = sqlx::query(
        "SELECT user_id, name, display_name, real_name, tz, tz_offset, locale, is_bot, deleted
         FROM users WHERE team_id = $1 AND user_id = $2",
    )
    .bind(team_id)
    .bind(user_id)
    .fetch_optional(db.pool())
    .await?;
    row.map(|row| {
        Ok(User {
            user_id: row.try_get("user_id")?,
            name: row.try_get("name")?,
            display_name: row.try_get("display_name")?,
            real_name: row.try_get("real_name")?,
            tz: row.try_get("tz")?,
            tz_offset: row.try_get("tz_offset")?,
            locale: row.try_get("locale")?,
            is_bot: row.try_get::<i64, _>("is_bot")? != 0,
            deleted: row.try_get::<i64, _>("deleted")? != 0,
        })
    })
    .transpose()
}

/// The shown names (display, else real, else handle) of those of `user_ids` the directory knows.
pub async fn user_names(
    db: &Db,
    team_id: &str,
    user_ids: &[String],
) -> Result<HashMap<String, String>, DbError> {
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT user_id, COALESCE(NULLIF(display_name, ''), NULLIF(real_name, ''), NULLIF(name, '')) AS shown
         FROM users WHERE team_id = $1 AND user_id IN ({})",
        placeholders(2, user_ids.len())
    );
    let query = team_and_ids(sql, team_id, user_ids);
    let rows = query.fetch_all(db.pool()).await?;
    let mut names = HashMap::new();
    for row in rows {
        if let Some(shown) = row.try_get::<Option<String>, _>("shown")? {
            names.insert(row.try_get("user_id")?, shown);
        }
    }
    Ok(names)
}

/// Which of `user_ids` the directory has.
pub async fn known_users(
    db: &Db,
    team_id: &str,
    user_ids: &[String],
) -> Result<HashSet<String>, DbError> {
    if user_ids.is_empty() {
        return Ok(HashSet::new());
    }
    let sql = format!(
        "SELECT user_id FROM users WHERE team_id = $1 AND user_id IN ({})",
        placeholders(2, user_ids.len())
    );
    let query = team_and_ids(sql, team_id, user_ids);
    query
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| r.try_get("user_id").map_err(DbError::from))
        .collect()
}

// ---- channels -----------------------------------------------------------------------------------

/// Inserts or updates a channel's name and kind, unless what is stored is newer than `source_at`.
/// Leaves `is_member` (the bot's membership) alone.
pub async fn upsert_channel<'c, E>(
    e: E,
    team_id: &str,
    channel: &Channel,
    source_at: i64,
) -> Result<(), DbError>
where
    E: Executor<'c, Database = Any>,
{
    sqlx::query(
        "INSERT INTO channels (team_id, channel_id, name, is_private, is_im, is_mpim, is_archived,
                               source_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (team_id, channel_id) DO UPDATE SET
            name = COALESCE(excluded.name, channels.name),
            is_private = excluded.is_private,
            is_im = excluded.is_im,
            is_mpim = excluded.is_mpim,
            is_archived = excluded.is_archived,
            source_at = excluded.source_at,
            updated_at = excluded.updated_at
         WHERE excluded.source_at >= channels.source_at",
    )
    .bind(team_id)
    .bind(&channel.channel_id)
    .bind(&channel.name)
    .bind(flag(channel.is_private))
    .bind(flag(channel.is_im))
    .bind(flag(channel.is_mpim))
    .bind(flag(channel.is_archived))
    .bind(source_at)
    .bind(now())
    .execute(e)
    .await?;
    Ok(())
}

/// Records a channel known only by id (from an event), if it is not known yet.
pub async fn ensure_channel_stub<'c, E>(
    e: E,
    team_id: &str,
    channel_id: &str,
    is_private: bool,
) -> Result<(), DbError>
where
    E: Executor<'c, Database = Any>,
{
    sqlx::query(
        "INSERT INTO channels (team_id, channel_id, is_private, source_at, updated_at)
         VALUES ($1, $2, $3, 0, $4)
         ON CONFLICT (team_id, channel_id) DO NOTHING",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(flag(is_private))
    .bind(now())
    .execute(e)
    .await?;
    Ok(())
}

pub async fn rename_channel<'c, E>(
    e: E,
    team_id: &str,
    channel_id: &str,
    name: &str,
) -> Result<(), DbError>
where
    E: Executor<'c, Database = Any>,
{
    let now = now();
    sqlx::query(
        "UPDATE channels SET name = $3, source_at = $4, updated_at = $4
         WHERE team_id = $1 AND channel_id = $2",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(name)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn set_archived<'c, E>(
    e: E,
    team_id: &str,
    channel_id: &str,
    archived: bool,
) -> Result<(), DbError>
where
    E: Executor<'c, Database = Any>,
{
    set_channel_flag(
        e,
        "UPDATE channels SET is_archived = $3, updated_at = $4 WHERE team_id = $1 AND channel_id = $2",
        team_id,
        channel_id,
        archived,
    )
    .await
}

/// Records whether chief's bot is in the channel.
pub async fn set_bot_member<'c, E>(
    e: E,
    team_id: &str,
    channel_id: &str,
    member: bool,
) -> Result<(), DbError>
where
    E: Executor<'c, Database = Any>,
{
    set_channel_flag(
        e,
        "UPDATE channels SET is_member = $3, updated_at = $4 WHERE team_id = $1 AND channel_id = $2",
        team_id,
        channel_id,
        member,
    )
    .await
}

/// Runs `sql`: an update of one INTEGER flag (`$3`) of one channel, with `updated_at` (`$4`).
/// The flags an event sets are bound the same way, so that binding is written once.
async fn set_channel_flag<'c, E>(
    e: E,
    sql: &'static str,
    team_id: &str,
    channel_id: &str,
    value: bool,
) -> Result<(), DbError>
where
    E: Executor<'c, Database = Any>,
{
    sqlx::query(sql)
        .bind(team_id)
        .bind(channel_id)
        .bind(flag(value))
        .bind(now())
        .execute(e)
        .await?;
    Ok(())
}

/// Notes a successful `conversations.info`.
pub async fn mark_synced(db: &Db, team_id: &str, channel_id: &str) -> Result<(), DbError> {
    sqlx::query("UPDATE channels SET synced_at = $3 WHERE team_id = $1 AND channel_id = $2")
        .bind(team_id)
        .bind(channel_id)
        .bind(now())
        .execute(db.pool())
        .await?;
    Ok(())
}

fn channel_row(row: &sqlx::any::AnyRow) -> Result<ChannelRow, DbError> {
    Ok(ChannelRow {
        channel: Channel {
            channel_id: row.try_get("channel_id")?,
            name: row.try_get("name")?,
            is_private: row.try_get::<i64, _>("is_private")? != 0,
            is_im: row.try_get::<i64, _>("is_im")? != 0,
            is_mpim: row.try_get::<i64, _>("is_mpim")? != 0,
            is_archived: row.try_get::<i64, _>("is_archived")? != 0,
        },
        is_member: row.try_get::<i64, _>("is_member")? != 0,
        members_at: row.try_get("members_at")?,
        synced_at: row.try_get("synced_at")?,
    })
}

const CHANNEL_COLUMNS: &str =
    "channel_id, name, is_private, is_im, is_mpim, is_archived, is_member, members_at, synced_at";

pub async fn get_channel(
    db: &Db,
    team_id: &str,
    channel_id: &str,
) -> Result<Option<ChannelRow>, DbError> {
    let sql =
        format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE team_id = $1 AND channel_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team_id)
        .bind(channel_id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(channel_row).transpose()
}

/// Every channel of a team, by name.
pub async fn list_channels(db: &Db, team_id: &str) -> Result<Vec<ChannelRow>, DbError> {
    let sql = format!(
        "SELECT {CHANNEL_COLUMNS} FROM channels WHERE team_id = $1 ORDER BY name, channel_id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team_id)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(channel_row).collect()
}

/// Channels chief's bot is in.
pub async fn bot_channels(db: &Db, team_id: &str) -> Result<Vec<String>, DbError> {
    let rows = sqlx::query(
        "SELECT channel_id FROM channels WHERE team_id = $1 AND is_member = 1 AND is_im = 0 AND is_mpim = 0
         ORDER BY channel_id",
    )
    .bind(team_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| r.try_get("channel_id").map_err(DbError::from))
        .collect()
}

/// Names of those of `channel_ids` the directory knows.
pub async fn channel_names(
    db: &Db,
    team_id: &str,
    channel_ids: &[String],
) -> Result<HashMap<String, String>, DbError> {
    if channel_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT channel_id, name FROM channels
         WHERE team_id = $1 AND name IS NOT NULL AND channel_id IN ({})",
        placeholders(2, channel_ids.len())
    );
    let query = team_and_ids(sql, team_id, channel_ids);
    let mut names = HashMap::new();
    for row in query.fetch_all(db.pool()).await? {
        names.insert(row.try_get("channel_id")?, row.try_get("name")?);
    }
    Ok(names)
}

// ---- membership ---------------------------------------------------------------------------------

/// Adds one member (a join event). The channel must exist (see [`ensure_channel_stub`]).
pub async fn add_member(
    conn: &mut AnyConnection,
    team_id: &str,
    channel_id: &str,
    user_id: &str,
) -> Result<(), DbError> {
    insert_member(&mut *conn, team_id, channel_id, user_id).await?;
    touch_members(conn, team_id, channel_id, now()).await
}

/// One membership row; already there is fine (a join event seen twice, a list with repeats).
async fn insert_member(
    conn: &mut AnyConnection,
    team_id: &str,
    channel_id: &str,
    user_id: &str,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO channel_members (team_id, channel_id, user_id) VALUES ($1, $2, $3)
         ON CONFLICT (team_id, channel_id, user_id) DO NOTHING",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes one member (a leave event).
pub async fn remove_member(
    conn: &mut AnyConnection,
    team_id: &str,
    channel_id: &str,
    user_id: &str,
) -> Result<(), DbError> {
    sqlx::query(
        "DELETE FROM channel_members WHERE team_id = $1 AND channel_id = $2 AND user_id = $3",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    touch_members(conn, team_id, channel_id, now()).await
}

async fn touch_members(
    conn: &mut AnyConnection,
    team_id: &str,
    channel_id: &str,
    at: i64,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE channels SET members_at = $3
         WHERE team_id = $1 AND channel_id = $2 AND (members_at IS NULL OR members_at < $3)",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces a channel's whole member list with one known as of `source_at`, unless the stored list
/// is newer. Returns whether it replaced. Run it in a transaction.
pub async fn replace_members(
    conn: &mut AnyConnection,
    team_id: &str,
    channel_id: &str,
    user_ids: &[String],
    source_at: i64,
) -> Result<bool, DbError> {
    let claimed = sqlx::query(
        "UPDATE channels SET members_at = $3
         WHERE team_id = $1 AND channel_id = $2 AND (members_at IS NULL OR members_at <= $3)",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(source_at)
    .execute(&mut *conn)
    .await?;
    if claimed.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM channel_members WHERE team_id = $1 AND channel_id = $2")
        .bind(team_id)
        .bind(channel_id)
        .execute(&mut *conn)
        .await?;
    for user_id in user_ids {
        insert_member(&mut *conn, team_id, channel_id, user_id).await?;
    }
    Ok(true)
}

pub async fn members(db: &Db, team_id: &str, channel_id: &str) -> Result<Vec<String>, DbError> {
    let rows = sqlx::query(
        "SELECT user_id FROM channel_members WHERE team_id = $1 AND channel_id = $2 ORDER BY user_id",
    )
    .bind(team_id)
    .bind(channel_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| r.try_get("user_id").map_err(DbError::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(id: &str, name: &str) -> Channel {
        Channel {
            channel_id: id.into(),
            name: Some(name.into()),
            ..Channel::default()
        }
    }

    async fn older_sources_never_overwrite_newer(db: &Db) {
        upsert_channel(db.pool(), "T1", &channel("C1", "new-name"), 200)
            .await
            .unwrap();
        upsert_channel(db.pool(), "T1", &channel("C1", "old-name"), 100)
            .await
            .unwrap();
        let row = get_channel(db, "T1", "C1").await.unwrap().unwrap();
        assert_eq!(row.channel.name.as_deref(), Some("new-name"));
        upsert_channel(db.pool(), "T1", &channel("C1", "newest"), 300)
            .await
            .unwrap();
        let row = get_channel(db, "T1", "C1").await.unwrap().unwrap();
        assert_eq!(row.channel.name.as_deref(), Some("newest"));

        let mut conn = db.pool().acquire().await.unwrap();
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(
            replace_members(&mut conn, "T1", "C1", &ids(&["U1", "U2"]), 200)
                .await
                .unwrap()
        );
        assert!(
            !replace_members(&mut conn, "T1", "C1", &ids(&["U9"]), 100)
                .await
                .unwrap()
        );
        assert_eq!(members(db, "T1", "C1").await.unwrap(), ids(&["U1", "U2"]));
        remove_member(&mut conn, "T1", "C1", "U1").await.unwrap();
        add_member(&mut conn, "T1", "C1", "U3").await.unwrap();
        add_member(&mut conn, "T1", "C1", "U3").await.unwrap();
        assert_eq!(members(db, "T1", "C1").await.unwrap(), ids(&["U2", "U3"]));

        let user = User {
            user_id: "U2".into(),
            name: Some("bea".into()),
            real_name: Some("Bea Ramirez".into()),
            tz: Some("Europe/Paris".into()),
            tz_offset: Some(3600),
            ..User::default()
        };
        upsert_user(db.pool(), "T1", &user, 10).await.unwrap();
        assert_eq!(get_user(db, "T1", "U2").await.unwrap(), Some(user));
        let names = user_names(db, "T1", &ids(&["U2", "U404"])).await.unwrap();
        assert_eq!(names.get("U2").map(String::as_str), Some("Bea Ramirez"));
        assert_eq!(names.len(), 1);
        assert_eq!(
            channel_names(db, "T1", &ids(&["C1"])).await.unwrap()["C1"],
            "newest"
        );
    }

    on_both_backends!(older_sources_never_overwrite_newer => directory_on_sqlite, directory_on_postgres);
}
