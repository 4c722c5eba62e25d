//! Each user's profile: the user agent's identity row (time zone, learned usual time, where
//! today's briefing stands, the next one's schedule), their settings, their daily first activity
//! and their interest scores. The logic is in the pure modules `crate::model::interest`,
//! `crate::model::activity` and `crate::model::settings`; this file stores it.
//!
//! The next briefing's schedule (`next_prepare_at`, `next_deliver_at`) is computed in Rust by
//! [`reschedule`] whenever something it depends on changes (a new day's first activity, settings,
//! time zone, a delivery) and stored, so [`list_due_for_preparation`] is one indexed query however
//! many users there are.
//!
//! Writes that read-modify-write a user's rows (applying a signal, changing settings) start by
//! upserting the user's `user_agents` row: on PostgreSQL that locks the row until commit, and on
//! SQLite it takes the write lock at once, so concurrent writers for one user queue instead of
//! losing updates.

use chrono::{NaiveDate, NaiveTime, Timelike};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{Db, DbError, corrupt, date_str, now};
use crate::model::activity::{
    ActivityDay, ActivitySource, DayPlan, PlanInput, ScheduleRules, UserTz, learn_usual_time,
    next_plan,
};
use crate::model::interest::{
    HalfLife, Interest, InterestKind, InterestProfile, Signal, normalize_key,
};
use crate::model::settings::{DeliveryDays, DeliveryTime, QuietDay, UserSettings};

/// Activity rows read to learn the usual time: enough for 15 delivery days even when a user
/// gets briefings on weekends only.
const ACTIVITY_ROWS_READ: i64 = 60;

/// The next briefing's schedule, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NextBriefing {
    pub local_date: NaiveDate,
    pub prepare_at: i64,
    pub deliver_at_latest: i64,
}

/// A user agent's identity and state row.
#[derive(Clone, Debug, PartialEq)]
pub struct UserAgent {
    pub team_id: String,
    pub user_id: String,
    /// Slack's IANA zone name, when known.
    pub tz: Option<String>,
    /// Slack's `tz_offset`, seconds east of UTC, when known.
    pub tz_offset_secs: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_active_at: Option<i64>,
    /// The usual first-active local time as last learned (`None` before the first schedule).
    pub usual_time: Option<NaiveTime>,
    /// False while `usual_time` is still the default.
    pub usual_learned: bool,
    /// `None` while paused, inactive, or never scheduled.
    pub next: Option<NextBriefing>,
    pub last_prepared_date: Option<NaiveDate>,
    pub last_prepared_at: Option<i64>,
    pub last_briefing_date: Option<NaiveDate>,
    pub last_delivered_at: Option<i64>,
    /// Free-form state owned by the briefing agent.
    pub state: serde_json::Value,
}

const AGENT_COLUMNS: &str = "team_id, user_id, tz, tz_offset_secs, created_at, updated_at,
    last_active_at, usual_minute, usual_learned, next_local_date, next_prepare_at, next_deliver_at,
    last_prepared_date, last_prepared_at, last_briefing_date, last_delivered_at, state";

/// A nullable stored day (see [`super::parse_date`]).
fn parse_date(table: &'static str, s: Option<String>) -> Result<Option<NaiveDate>, DbError> {
    s.map(|s| super::parse_date(table, &s)).transpose()
}

fn minute_to_time(m: i64) -> Option<NaiveTime> {
    let m = u32::try_from(m).ok()?;
    NaiveTime::from_hms_opt(m / 60, m % 60, 0)
}

fn agent_from_row(row: &AnyRow) -> Result<UserAgent, DbError> {
    let next_date = parse_date("user_agents", row.try_get("next_local_date")?)?;
    let prepare: Option<i64> = row.try_get("next_prepare_at")?;
    let deliver: Option<i64> = row.try_get("next_deliver_at")?;
    let next = match (next_date, prepare, deliver) {
        (Some(local_date), Some(prepare_at), Some(deliver_at_latest)) => Some(NextBriefing {
            local_date,
            prepare_at,
            deliver_at_latest,
        }),
        _ => None,
    };
    let state: String = row.try_get("state")?;
    Ok(UserAgent {
        team_id: row.try_get("team_id")?,
        user_id: row.try_get("user_id")?,
        tz: row.try_get("tz")?,
        tz_offset_secs: row.try_get("tz_offset_secs")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        last_active_at: row.try_get("last_active_at")?,
        usual_time: row
            .try_get::<Option<i64>, _>("usual_minute")?
            .and_then(minute_to_time),
        usual_learned: row.try_get::<i64, _>("usual_learned")? != 0,
        next,
        last_prepared_date: parse_date("user_agents", row.try_get("last_prepared_date")?)?,
        last_prepared_at: row.try_get("last_prepared_at")?,
        last_briefing_date: parse_date("user_agents", row.try_get("last_briefing_date")?)?,
        last_delivered_at: row.try_get("last_delivered_at")?,
        state: serde_json::from_str(&state)
            .map_err(|e| corrupt("user_agents", format!("state is not JSON: {e}")))?,
    })
}

/// The user's agent row, if chief has ever seen the user.
pub async fn get_agent(
    db: &Db,
    team_id: &str,
    user_id: &str,
) -> Result<Option<UserAgent>, DbError> {
    let sql =
        format!("SELECT {AGENT_COLUMNS} FROM user_agents WHERE team_id = $1 AND user_id = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team_id)
        .bind(user_id)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(agent_from_row)
        .transpose()
}

/// The user's agent row, created on first sight.
pub async fn ensure_agent(db: &Db, team_id: &str, user_id: &str) -> Result<UserAgent, DbError> {
    let now = now();
    sqlx::query(
        "INSERT INTO user_agents (team_id, user_id, created_at, updated_at) VALUES ($1, $2, $3, $3)
         ON CONFLICT (team_id, user_id) DO NOTHING",
    )
    .bind(team_id)
    .bind(user_id)
    .bind(now)
    .execute(db.pool())
    .await?;
    get_agent(db, team_id, user_id)
        .await?
        .ok_or_else(|| corrupt("user_agents", "row vanished after insert"))
}

/// Creates the agent row if needed and locks it for the rest of `tx` (see the module docs).
async fn lock_agent(
    tx: &mut Transaction<'static, Any>,
    team_id: &str,
    user_id: &str,
) -> Result<(), DbError> {
    let now = now();
    sqlx::query(
        "INSERT INTO user_agents (team_id, user_id, created_at, updated_at) VALUES ($1, $2, $3, $3)
         ON CONFLICT (team_id, user_id) DO UPDATE SET updated_at = excluded.updated_at",
    )
    .bind(team_id)
    .bind(user_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Free-form state the briefing agent keeps on its row.
pub async fn set_agent_state(
    db: &Db,
    team_id: &str,
    user_id: &str,
    state: &serde_json::Value,
) -> Result<(), DbError> {
    ensure_agent(db, team_id, user_id).await?;
    sqlx::query(
        "UPDATE user_agents SET state = $3, updated_at = $4 WHERE team_id = $1 AND user_id = $2",
    )
    .bind(team_id)
    .bind(user_id)
    .bind(state.to_string())
    .bind(now())
    .execute(db.pool())
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Time zones

/// Stores the user's zone as Slack reports it (`users.info`: `tz`, `tz_offset`) and replans.
pub async fn set_timezone(
    db: &Db,
    team_id: &str,
    user_id: &str,
    tz: Option<&str>,
    tz_offset_secs: Option<i64>,
    now: i64,
    rules: &ScheduleRules,
) -> Result<Option<DayPlan>, DbError> {
    ensure_agent(db, team_id, user_id).await?;
    sqlx::query(
        "UPDATE user_agents SET tz = $3, tz_offset_secs = $4, updated_at = $5
         WHERE team_id = $1 AND user_id = $2",
    )
    .bind(team_id)
    .bind(user_id)
    .bind(tz)
    .bind(tz_offset_secs)
    .bind(now)
    .execute(db.pool())
    .await?;
    reschedule(db, team_id, user_id, now, rules).await
}

/// The zone most of the team's known users are in: the fallback for a user Slack gave no zone.
pub async fn team_default_tz(db: &Db, team_id: &str) -> Result<Option<UserTz>, DbError> {
    let row = sqlx::query(
        "SELECT tz, COUNT(*) AS n FROM user_agents WHERE team_id = $1 AND tz IS NOT NULL
         GROUP BY tz ORDER BY n DESC, tz LIMIT 1",
    )
    .bind(team_id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let tz: String = row.try_get("tz")?;
    Ok(tz.parse().ok().map(UserTz::Named))
}

/// The zone to use for a user (see [`UserTz::resolve`]; the fallback is [`team_default_tz`]).
pub async fn user_tz(db: &Db, agent: &UserAgent) -> Result<UserTz, DbError> {
    let own = UserTz::resolve(agent.tz.as_deref(), agent.tz_offset_secs, None);
    let has_own = agent
        .tz
        .as_deref()
        .and_then(|n| n.parse::<chrono_tz::Tz>().ok())
        .is_some()
        || agent.tz_offset_secs.is_some();
    if has_own {
        return Ok(own);
    }
    Ok(team_default_tz(db, &agent.team_id).await?.unwrap_or(own))
}

// ---------------------------------------------------------------------------------------------
// Activity

/// What recording one activity changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// The first activity of the user's local day: the cue to deliver a prepared briefing.
    FirstOfDay,
    /// Earlier than the day's known first activity (a late, out-of-order event): replaces it.
    Earlier,
    /// The day already had an earlier activity.
    Later,
}

/// Records that the user was active at `at` (first message, reaction or App Home visit of the
/// day matter; any activity may be passed). Keeps the earliest per local day, refreshes
/// `last_active_at`, and replans on a new day (`now` is the current time).
#[tracing::instrument(level = "debug", skip(db, rules), err)]
pub async fn record_activity(
    db: &Db,
    team_id: &str,
    user_id: &str,
    at: i64,
    source: ActivitySource,
    now: i64,
    rules: &ScheduleRules,
) -> Result<Recorded, DbError> {
    let agent = ensure_agent(db, team_id, user_id).await?;
    let tz = user_tz(db, &agent).await?;
    let day = ActivityDay::of(&tz, at);
    sqlx::query(
        "UPDATE user_agents SET last_active_at = $3
         WHERE team_id = $1 AND user_id = $2 AND (last_active_at IS NULL OR last_active_at < $3)",
    )
    .bind(team_id)
    .bind(user_id)
    .bind(at)
    .execute(db.pool())
    .await?;
    // Both statements write the same values: the day's first activity as seen now.
    let day_row = |sql: &'static str| {
        sqlx::query(sql)
            .bind(team_id)
            .bind(user_id)
            .bind(date_str(day.local_date))
            .bind(at)
            .bind(i64::from(day.local_minute))
            .bind(source.as_str())
    };
    let inserted = day_row(
        "INSERT INTO user_activity (team_id, user_id, local_date, first_active_at, local_minute, source)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (team_id, user_id, local_date) DO NOTHING
         RETURNING local_date",
    )
    .fetch_optional(db.pool())
    .await?;
    let recorded = if inserted.is_some() {
        Recorded::FirstOfDay
    } else {
        let done = day_row(
            "UPDATE user_activity SET first_active_at = $4, local_minute = $5, source = $6
             WHERE team_id = $1 AND user_id = $2 AND local_date = $3 AND first_active_at > $4",
        )
        .execute(db.pool())
        .await?;
        if done.rows_affected() > 0 {
            Recorded::Earlier
        } else {
            Recorded::Later
        }
    };
    // A new day changes the learned time, and brings back a user who was away (unplanned).
    if recorded != Recorded::Later {
        reschedule(db, team_id, user_id, now, rules).await?;
    }
    Ok(recorded)
}

/// The user's most recent days with activity, newest first.
pub async fn recent_activity(
    db: &Db,
    team_id: &str,
    user_id: &str,
    limit: i64,
) -> Result<Vec<ActivityDay>, DbError> {
    let rows = sqlx::query(
        "SELECT local_date, first_active_at, local_minute FROM user_activity
         WHERE team_id = $1 AND user_id = $2 ORDER BY local_date DESC LIMIT $3",
    )
    .bind(team_id)
    .bind(user_id)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let minute: i64 = row.try_get("local_minute")?;
            Ok(ActivityDay {
                local_date: super::parse_date(
                    "user_activity",
                    &row.try_get::<String, _>("local_date")?,
                )?,
                first_active_at: row.try_get("first_active_at")?,
                local_minute: u32::try_from(minute)
                    .map_err(|_| corrupt("user_activity", format!("bad minute {minute}")))?,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Settings

/// The user's settings; the defaults when they never changed any.
pub async fn get_settings(db: &Db, team_id: &str, user_id: &str) -> Result<UserSettings, DbError> {
    read_settings(db.pool(), team_id, user_id).await
}

async fn read_settings<'e, E>(
    exec: E,
    team_id: &str,
    user_id: &str,
) -> Result<UserSettings, DbError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT delivery_time, delivery_days, muted_channels, paused, quiet_day, language
         FROM user_settings WHERE team_id = $1 AND user_id = $2",
    )
    .bind(team_id)
    .bind(user_id)
    .fetch_optional(exec)
    .await?;
    let Some(row) = row else {
        return Ok(UserSettings::default());
    };
    let time: String = row.try_get("delivery_time")?;
    let muted: String = row.try_get("muted_channels")?;
    Ok(UserSettings {
        delivery_time: DeliveryTime::parse(&time)
            .map_err(|e| corrupt("user_settings", format!("delivery_time {time:?}: {e}")))?,
        delivery_days: DeliveryDays::from_mask(row.try_get("delivery_days")?),
        muted_channels: serde_json::from_str(&muted)
            .map_err(|e| corrupt("user_settings", format!("muted_channels: {e}")))?,
        paused: row.try_get::<i64, _>("paused")? != 0,
        quiet_day: QuietDay::from_storage(&row.try_get::<String, _>("quiet_day")?),
        language: row.try_get("language")?,
    })
}

/// Changes the user's settings with `change` (atomically: concurrent changes both apply), then
/// replans. Returns the new settings and the next briefing's plan (`None` when paused/inactive).
#[tracing::instrument(level = "debug", skip(db, rules, change), err)]
pub async fn update_settings<F>(
    db: &Db,
    team_id: &str,
    user_id: &str,
    now: i64,
    rules: &ScheduleRules,
    change: F,
) -> Result<(UserSettings, Option<DayPlan>), DbError>
where
    F: FnOnce(&mut UserSettings) + Send,
{
    let mut tx = db.pool().begin().await?;
    lock_agent(&mut tx, team_id, user_id).await?;
    let mut settings = read_settings(&mut *tx, team_id, user_id).await?;
    change(&mut settings);
    let muted = serde_json::to_string(&settings.muted_channels)
        .map_err(|e| corrupt("user_settings", e.to_string()))?;
    sqlx::query(
        "INSERT INTO user_settings
            (team_id, user_id, delivery_time, delivery_days, muted_channels, paused, quiet_day,
             language, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (team_id, user_id) DO UPDATE SET
            delivery_time = excluded.delivery_time, delivery_days = excluded.delivery_days,
            muted_channels = excluded.muted_channels, paused = excluded.paused,
            quiet_day = excluded.quiet_day, language = excluded.language,
            updated_at = excluded.updated_at",
    )
    .bind(team_id)
    .bind(user_id)
    .bind(settings.delivery_time.to_storage())
    .bind(settings.delivery_days.mask())
    .bind(muted)
    .bind(i64::from(settings.paused))
    .bind(settings.quiet_day.as_str())
    .bind(settings.language.clone())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let plan = reschedule(db, team_id, user_id, now, rules).await?;
    Ok((settings, plan))
}

// ---------------------------------------------------------------------------------------------
// Interests

/// The stored interests of one user; callers may narrow it with more `AND` conditions.
const INTERESTS_OF_USER: &str =
    "SELECT kind, key, display, score, updated_at, pinned, suppressed FROM interest_scores
     WHERE team_id = $1 AND user_id = $2";

fn interest_from_row(row: &AnyRow) -> Result<Interest, DbError> {
    let kind: String = row.try_get("kind")?;
    Ok(Interest {
        kind: InterestKind::parse(&kind)
            .ok_or_else(|| corrupt("interest_scores", format!("unknown kind {kind:?}")))?,
        key: row.try_get("key")?,
        display: row.try_get("display")?,
        score: row.try_get("score")?,
        updated_at: row.try_get("updated_at")?,
        pinned: row.try_get::<i64, _>("pinned")? != 0,
        suppressed: row.try_get::<i64, _>("suppressed")? != 0,
    })
}

/// The user's whole interest profile (empty for a new user).
pub async fn load_profile(
    db: &Db,
    team_id: &str,
    user_id: &str,
    half_life: HalfLife,
) -> Result<InterestProfile, DbError> {
    let rows = sqlx::query(INTERESTS_OF_USER)
        .bind(team_id)
        .bind(user_id)
        .fetch_all(db.pool())
        .await?;
    profile_from_rows(user_id, half_life, &rows)
}

/// A profile holding exactly the interest rows read (the whole profile, or the rows a signal
/// touches).
fn profile_from_rows(
    user_id: &str,
    half_life: HalfLife,
    rows: &[AnyRow],
) -> Result<InterestProfile, DbError> {
    let entries = rows
        .iter()
        .map(interest_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(InterestProfile::from_entries(user_id, half_life, entries))
}

/// Applies one signal to its user's profile, once: a signal id already applied for that user is
/// ignored (returns false), so the at-least-once event bus may redeliver freely. Only the rows
/// the signal touches are read and written, in one transaction.
#[tracing::instrument(
    level = "debug",
    skip_all,
    fields(%team_id, signal_id = %signal.id, user_id = %signal.user_id),
    err
)]
pub async fn apply_signal(
    db: &Db,
    team_id: &str,
    signal: &Signal,
    half_life: HalfLife,
) -> Result<bool, DbError> {
    let user_id = signal.user_id.as_str();
    let mut tx = db.pool().begin().await?;
    lock_agent(&mut tx, team_id, user_id).await?;
    let fresh = sqlx::query(
        "INSERT INTO interest_signals_applied (team_id, user_id, signal_id, applied_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (team_id, user_id, signal_id) DO NOTHING
         RETURNING signal_id",
    )
    .bind(team_id)
    .bind(user_id)
    .bind(&signal.id)
    .bind(now())
    .fetch_optional(&mut *tx)
    .await?;
    if fresh.is_none() {
        tx.rollback().await?;
        return Ok(false);
    }

    let mut keys: Vec<String> = signal
        .topics
        .iter()
        .chain(&signal.entities)
        .filter_map(|t| normalize_key(t))
        .chain(signal.people.iter().map(|p| p.trim().to_string()))
        .collect();
    keys.sort();
    keys.dedup();
    let mut profile = InterestProfile::new(user_id, half_life);
    if !keys.is_empty() {
        let sql = format!(
            "{INTERESTS_OF_USER} AND key IN ({})",
            super::placeholders(3, keys.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(team_id)
            .bind(user_id);
        for k in &keys {
            query = query.bind(k.clone());
        }
        let rows = query.fetch_all(&mut *tx).await?;
        profile = profile_from_rows(user_id, half_life, &rows)?;
    }
    for e in profile.apply(signal) {
        sqlx::query(
            "INSERT INTO interest_scores
                (team_id, user_id, kind, key, display, score, updated_at, pinned, suppressed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (team_id, user_id, kind, key) DO UPDATE SET
                display = excluded.display, score = excluded.score,
                updated_at = excluded.updated_at, pinned = excluded.pinned,
                suppressed = excluded.suppressed",
        )
        .bind(team_id)
        .bind(user_id)
        .bind(e.kind.as_str())
        .bind(&e.key)
        .bind(&e.display)
        .bind(e.score)
        .bind(e.updated_at)
        .bind(i64::from(e.pinned))
        .bind(i64::from(e.suppressed))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// One message an interest key was learned from (see [`record_interest_sources`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterestSource {
    /// The normalised key (`interest::normalize_key`).
    pub key: String,
    /// The form the message gave it.
    pub display: String,
    pub channel_id: String,
    pub message_ts: String,
}

/// Remembers which messages the user's interest keys came from, so that deleting a message can
/// delete what only it taught ([`forget_interest_sources_in`]). Idempotent; record the sources
/// before applying the signal, so a retried signal never leaves a key without them.
pub async fn record_interest_sources(
    db: &Db,
    team_id: &str,
    user_id: &str,
    sources: &[InterestSource],
    at: i64,
) -> Result<(), DbError> {
    if sources.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin_write().await?;
    for s in sources {
        sqlx::query(
            "INSERT INTO interest_sources
                (team_id, user_id, key, channel_id, message_ts, display, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (team_id, user_id, key, channel_id, message_ts) DO NOTHING",
        )
        .bind(team_id)
        .bind(user_id)
        .bind(&s.key)
        .bind(&s.channel_id)
        .bind(&s.message_ts)
        .bind(&s.display)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A message (`ts`), or every message of a channel (`None`), is gone: its interest sources go,
/// and so does every learned topic or entity they alone supported — its score, and the origin
/// "why you see this" quotes. A key other messages also taught stays, shown as one of those
/// gave it. Interests the person typed (`/chief interests add|remove`: pinned or suppressed)
/// are theirs, not the message's, and stay. Returns the rows deleted or rewritten.
pub async fn forget_interest_sources_in(
    conn: &mut sqlx::AnyConnection,
    team_id: &str,
    channel_id: &str,
    ts: Option<&str>,
) -> Result<u64, DbError> {
    let rows = sqlx::query(
        "SELECT DISTINCT user_id, key FROM interest_sources
         WHERE team_id = $1 AND channel_id = $2 AND ($3 = '' OR message_ts = $3)",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(ts.unwrap_or(""))
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut changed = sqlx::query(
        "DELETE FROM interest_sources
         WHERE team_id = $1 AND channel_id = $2 AND ($3 = '' OR message_ts = $3)",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(ts.unwrap_or(""))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    for row in &rows {
        let (user_id, key): (String, String) = (row.try_get("user_id")?, row.try_get("key")?);
        let other = sqlx::query(
            "SELECT display FROM interest_sources
             WHERE team_id = $1 AND user_id = $2 AND key = $3
             ORDER BY at DESC, channel_id, message_ts LIMIT 1",
        )
        .bind(team_id)
        .bind(&user_id)
        .bind(&key)
        .fetch_optional(&mut *conn)
        .await?;
        let learned = "team_id = $1 AND user_id = $2 AND key = $3
             AND kind IN ('topic', 'entity') AND pinned = 0 AND suppressed = 0";
        match other {
            Some(other) => {
                let display: String = other.try_get("display")?;
                let sql = format!("UPDATE interest_scores SET display = $4 WHERE {learned}");
                changed += sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(team_id)
                    .bind(&user_id)
                    .bind(&key)
                    .bind(display)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
            }
            None => {
                let sql = format!("DELETE FROM interest_scores WHERE {learned}");
                changed += sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(team_id)
                    .bind(&user_id)
                    .bind(&key)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                // The origin goes unless the person's own interest in the key remains.
                changed += sqlx::query(
                    "DELETE FROM briefing_interest_origins
                     WHERE team_id = $1 AND user_id = $2 AND key = $3
                       AND NOT EXISTS (SELECT 1 FROM interest_scores s
                                       WHERE s.team_id = $1 AND s.user_id = $2 AND s.key = $3)",
                )
                .bind(team_id)
                .bind(&user_id)
                .bind(&key)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            }
        }
    }
    Ok(changed)
}

// ---------------------------------------------------------------------------------------------
// Scheduling

/// Recomputes and stores the user's learned usual time and next briefing (see
/// [`crate::model::activity::next_plan`]); returns the plan, `None` when paused or inactive.
#[tracing::instrument(level = "debug", skip(db, rules), err)]
pub async fn reschedule(
    db: &Db,
    team_id: &str,
    user_id: &str,
    now: i64,
    rules: &ScheduleRules,
) -> Result<Option<DayPlan>, DbError> {
    let agent = ensure_agent(db, team_id, user_id).await?;
    let settings = get_settings(db, team_id, user_id).await?;
    let tz = user_tz(db, &agent).await?;
    let days = recent_activity(db, team_id, user_id, ACTIVITY_ROWS_READ).await?;
    let today = tz.local(now).date();
    let usual = learn_usual_time(&days, settings.delivery_days, today, rules);
    let input = PlanInput {
        tz,
        settings: &settings,
        usual,
        last_active_at: agent.last_active_at,
        known_since: agent.created_at,
    };
    let plan = next_plan(now, &input, agent.last_briefing_date, rules);
    let minute = i64::from(usual.time.hour() * 60 + usual.time.minute());
    sqlx::query(
        "UPDATE user_agents SET usual_minute = $3, usual_learned = $4, next_local_date = $5,
                next_prepare_at = $6, next_deliver_at = $7, updated_at = $8
         WHERE team_id = $1 AND user_id = $2",
    )
    .bind(team_id)
    .bind(user_id)
    .bind(minute)
    .bind(i64::from(usual.learned))
    .bind(plan.map(|p| date_str(p.local_date)))
    .bind(plan.map(|p| p.prepare_at))
    .bind(plan.map(|p| p.deliver_at_latest))
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(plan)
}

/// Records that the briefing for `local_date` is prepared: the user leaves the preparation
/// queue and enters the delivery one.
pub async fn mark_prepared(
    db: &Db,
    team_id: &str,
    user_id: &str,
    local_date: NaiveDate,
    at: i64,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE user_agents SET last_prepared_date = $3, last_prepared_at = $4, updated_at = $4
         WHERE team_id = $1 AND user_id = $2",
    )
    .bind(team_id)
    .bind(user_id)
    .bind(date_str(local_date))
    .bind(at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Records that the briefing for `local_date` went out at `at`, and plans the next one.
pub async fn mark_delivered(
    db: &Db,
    team_id: &str,
    user_id: &str,
    local_date: NaiveDate,
    at: i64,
    rules: &ScheduleRules,
) -> Result<Option<DayPlan>, DbError> {
    sqlx::query(
        "UPDATE user_agents SET last_briefing_date = $3, last_delivered_at = $4, updated_at = $4
         WHERE team_id = $1 AND user_id = $2
           AND (last_briefing_date IS NULL OR last_briefing_date < $3)",
    )
    .bind(team_id)
    .bind(user_id)
    .bind(date_str(local_date))
    .bind(at)
    .execute(db.pool())
    .await?;
    reschedule(db, team_id, user_id, at, rules).await
}

/// Replans every user whose planned briefing was missed (its latest delivery time plus the grace
/// is past and it was never delivered: downtime, a user gone inactive since the plan): otherwise
/// their stale `next_prepare_at` would keep them out of every future preparation range. Called
/// by the scheduler on each tick; returns how many were replanned (at most `limit`).
#[tracing::instrument(level = "debug", skip(db, rules), err)]
pub async fn reschedule_overdue(
    db: &Db,
    now: i64,
    limit: i64,
    rules: &ScheduleRules,
) -> Result<usize, DbError> {
    let rows = sqlx::query(
        "SELECT team_id, user_id FROM user_agents
         WHERE next_deliver_at < $1
           AND (last_briefing_date IS NULL OR last_briefing_date < next_local_date)
         ORDER BY next_deliver_at LIMIT $2",
    )
    .bind(now - rules.late_grace_secs)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    for row in &rows {
        let team_id: String = row.try_get("team_id")?;
        let user_id: String = row.try_get("user_id")?;
        reschedule(db, &team_id, &user_id, now, rules).await?;
    }
    Ok(rows.len())
}

/// A user whose briefing is due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueUser {
    pub team_id: String,
    pub user_id: String,
    pub local_date: NaiveDate,
    pub prepare_at: i64,
    pub deliver_at_latest: i64,
    pub last_active_at: Option<i64>,
}

fn due_from_row(row: &AnyRow) -> Result<DueUser, DbError> {
    Ok(DueUser {
        team_id: row.try_get("team_id")?,
        user_id: row.try_get("user_id")?,
        local_date: parse_date("user_agents", row.try_get("next_local_date")?)?
            .ok_or_else(|| corrupt("user_agents", "due without a date"))?,
        prepare_at: row.try_get("next_prepare_at")?,
        deliver_at_latest: row.try_get("next_deliver_at")?,
        last_active_at: row.try_get("last_active_at")?,
    })
}

/// Users whose next briefing should be prepared at a time in `[from, to)` and is not prepared
/// yet, most recently active first (they are the likeliest to read it soon), at most `limit`.
/// Users gone quiet for [`ScheduleRules::inactive_after_secs`] and paused users are left out.
/// Rows carry `team_id`; [`fair_order`] interleaves teams.
#[tracing::instrument(level = "debug", skip(db, rules), err)]
pub async fn list_due_for_preparation(
    db: &Db,
    from: i64,
    to: i64,
    limit: i64,
    rules: &ScheduleRules,
) -> Result<Vec<DueUser>, DbError> {
    let rows = sqlx::query(
        "SELECT a.team_id, a.user_id, a.next_local_date, a.next_prepare_at, a.next_deliver_at,
                a.last_active_at
         FROM user_agents a
         LEFT JOIN user_settings s ON s.team_id = a.team_id AND s.user_id = a.user_id
         WHERE a.next_prepare_at >= $1 AND a.next_prepare_at < $2
           AND a.next_local_date IS NOT NULL
           AND (a.last_prepared_date IS NULL OR a.last_prepared_date <> a.next_local_date)
           AND a.next_deliver_at - COALESCE(a.last_active_at, a.created_at) <= $3
           AND COALESCE(s.paused, 0) = 0
         ORDER BY COALESCE(a.last_active_at, a.created_at) DESC, a.next_prepare_at,
                  a.team_id, a.user_id
         LIMIT $4",
    )
    .bind(from)
    .bind(to)
    .bind(rules.inactive_after_secs)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(due_from_row).collect()
}

/// Users with a prepared, undelivered briefing whose latest delivery time has come by `now`
/// (the user has not shown up: deliver anyway), oldest deadline first.
pub async fn list_due_for_delivery(db: &Db, now: i64, limit: i64) -> Result<Vec<DueUser>, DbError> {
    let rows = sqlx::query(
        "SELECT team_id, user_id, next_local_date, next_prepare_at, next_deliver_at, last_active_at
         FROM user_agents
         WHERE next_deliver_at <= $1 AND last_prepared_date = next_local_date
           AND (last_briefing_date IS NULL OR last_briefing_date < next_local_date)
         ORDER BY next_deliver_at, team_id, user_id
         LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(due_from_row).collect()
}

/// Interleaves teams round-robin (keeping each team's own order), so one large workspace cannot
/// starve the others when there is more work than capacity.
pub fn fair_order(due: Vec<DueUser>) -> Vec<DueUser> {
    let mut queues: Vec<(String, std::collections::VecDeque<DueUser>)> = Vec::new();
    for d in due {
        match queues.iter_mut().find(|(t, _)| *t == d.team_id) {
            Some((_, q)) => q.push_back(d),
            None => queues.push((d.team_id.clone(), std::collections::VecDeque::from([d]))),
        }
    }
    let mut out = Vec::new();
    loop {
        let mut any = false;
        for (_, q) in queues.iter_mut() {
            if let Some(d) = q.pop_front() {
                out.push(d);
                any = true;
            }
        }
        if !any {
            return out;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Housekeeping

/// Deletes what no longer matters: applied-signal ids older than `signal_ids_before` (the bus
/// does not redeliver that late), activity older than `activity_before`, and interest rows
/// (neither pinned nor suppressed) that decayed below 0.01 by `now`. Returns rows deleted.
pub async fn prune(
    db: &Db,
    now: i64,
    signal_ids_before: i64,
    activity_before: i64,
    half_life: HalfLife,
) -> Result<u64, DbError> {
    let mut deleted = sqlx::query("DELETE FROM interest_signals_applied WHERE applied_at < $1")
        .bind(signal_ids_before)
        .execute(db.pool())
        .await?
        .rows_affected();
    deleted += sqlx::query("DELETE FROM user_activity WHERE first_active_at < $1")
        .bind(activity_before)
        .execute(db.pool())
        .await?
        .rows_affected();
    // A score under MAX_SCORE needs more than ~11 half-lives to fall below 0.01: only rows
    // untouched for one half-life are even looked at.
    let rows = sqlx::query(
        "SELECT team_id, user_id, kind, key, score, updated_at FROM interest_scores
         WHERE pinned = 0 AND suppressed = 0 AND updated_at < $1",
    )
    .bind(now - half_life.secs())
    .fetch_all(db.pool())
    .await?;
    for row in rows {
        let score: f64 = row.try_get("score")?;
        let updated_at: i64 = row.try_get("updated_at")?;
        if (score * half_life.factor(now - updated_at)).abs() >= 0.01 {
            continue;
        }
        deleted += sqlx::query(
            "DELETE FROM interest_scores
             WHERE team_id = $1 AND user_id = $2 AND kind = $3 AND key = $4 AND updated_at = $5",
        )
        .bind(row.try_get::<String, _>("team_id")?)
        .bind(row.try_get::<String, _>("user_id")?)
        .bind(row.try_get::<String, _>("kind")?)
        .bind(row.try_get::<String, _>("key")?)
        .bind(updated_at)
        .execute(db.pool())
        .await?
        .rows_affected();
    }
    Ok(deleted)
}

/// Forgets every profile of a team (uninstall).
pub async fn delete_team(db: &Db, team_id: &str) -> Result<(), DbError> {
    for sql in [
        "DELETE FROM interest_signals_applied WHERE team_id = $1",
        "DELETE FROM interest_scores WHERE team_id = $1",
        "DELETE FROM user_activity WHERE team_id = $1",
        "DELETE FROM user_settings WHERE team_id = $1",
        "DELETE FROM user_agents WHERE team_id = $1",
    ] {
        sqlx::query(sql).bind(team_id).execute(db.pool()).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::{Datelike, Duration, Utc};

    use super::*;
    use crate::model::interest::SignalKind;

    const KOLKATA: &str = "Asia/Kolkata";

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    /// A Monday three weeks or more after the real today: `ensure_agent` stamps rows with the
    /// real clock, so the scenarios play out in the future, after the users were first seen.
    fn monday() -> NaiveDate {
        let today = Utc::now().date_naive() + Duration::days(21);
        today + Duration::days(i64::from(7 - today.weekday().num_days_from_monday()) % 7)
    }

    fn ist(date: NaiveDate, h: u32, m: u32) -> i64 {
        UserTz::resolve(Some(KOLKATA), None, None).instant(date, hm(h, m))
    }

    fn signal(id: &str, user: &str, kind: SignalKind, topics: &[&str], at: i64) -> Signal {
        Signal {
            id: id.into(),
            user_id: user.into(),
            kind,
            topics: topics.iter().map(|s| s.to_string()).collect(),
            entities: vec![],
            people: vec![],
            at,
        }
    }

    async fn settings_round_trip(db: &Db) {
        let rules = ScheduleRules::default();
        assert_eq!(
            get_settings(db, "T1", "U1").await.unwrap(),
            UserSettings::default()
        );
        let now = ist(monday(), 7, 0);
        // Someone who has never been active is skipped as inactive: show up first.
        record_activity(db, "T1", "U1", now, ActivitySource::Message, now, &rules)
            .await
            .unwrap();
        let (saved, plan) = update_settings(db, "T1", "U1", now, &rules, |s| {
            s.delivery_time = DeliveryTime::parse("8:15am").unwrap();
            s.delivery_days = DeliveryDays::parse("mon,wed,fri").unwrap();
            s.muted_channels.insert("C0RANDOM1".into());
            s.quiet_day = QuietDay::Nothing;
            s.language = Some("fr".into());
        })
        .await
        .unwrap();
        assert_eq!(get_settings(db, "T1", "U1").await.unwrap(), saved);
        assert!(saved.is_muted("C0RANDOM1"));
        let plan = plan.expect("a fixed time plans at once");
        assert_eq!(plan.deliver_local, hm(8, 15));

        // Two concurrent changes both land.
        let (a, b) = tokio::join!(
            update_settings(db, "T1", "U1", now, &rules, |s| {
                s.muted_channels.insert("C0AAAAAAA".into());
            }),
            update_settings(db, "T1", "U1", now, &rules, |s| {
                s.muted_channels.insert("C0BBBBBBB".into());
            }),
        );
        a.unwrap();
        b.unwrap();
        let muted = get_settings(db, "T1", "U1").await.unwrap().muted_channels;
        let want: BTreeSet<String> = ["C0RANDOM1", "C0AAAAAAA", "C0BBBBBBB"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(muted, want);

        let (_, plan) = update_settings(db, "T1", "U1", now, &rules, |s| s.paused = true)
            .await
            .unwrap();
        assert_eq!(plan, None, "paused: nothing planned");
        assert_eq!(get_agent(db, "T1", "U1").await.unwrap().unwrap().next, None);
        assert_eq!(
            get_settings(db, "T1", "U2").await.unwrap(),
            UserSettings::default()
        );
    }

    on_both_backends!(settings_round_trip => settings_on_sqlite, settings_on_postgres);

    async fn signals_apply_once(db: &Db) {
        let hl = HalfLife::default();
        let t0 = ist(monday(), 10, 0);
        let s = signal("ev-1", "U1", SignalKind::MoreLikeThis, &["Payments"], t0);
        assert!(apply_signal(db, "T1", &s, hl).await.unwrap());
        assert!(
            !apply_signal(db, "T1", &s, hl).await.unwrap(),
            "redelivery is a no-op"
        );
        assert!(
            apply_signal(db, "T2", &s, hl).await.unwrap(),
            "ids are per team and user"
        );
        let p = load_profile(db, "T1", "U1", hl).await.unwrap();
        assert!((p.score_of("payments", t0) - 3.0).abs() < 1e-9);
        assert!((p.score_of("payments", t0 + hl.secs()) - 1.5).abs() < 1e-9);
        assert_eq!(p.top(5, t0), vec![("Payments".to_string(), 3.0)]);

        // Concurrent signals for one user all count: no lost update.
        let mut handles = Vec::new();
        for i in 0..8 {
            let db = db.clone();
            let mut s = signal(
                &format!("w-{i}"),
                "U1",
                SignalKind::Wrote,
                &["rust", "Payments"],
                t0,
            );
            s.people = vec!["U2".into()];
            handles.push(tokio::spawn(async move {
                apply_signal(&db, "T1", &s, hl).await
            }));
        }
        for h in handles {
            assert!(h.await.unwrap().unwrap());
        }
        let p = load_profile(db, "T1", "U1", hl).await.unwrap();
        assert!((p.score_of("rust", t0) - 8.0).abs() < 1e-9);
        assert!((p.score_of("payments", t0) - 11.0).abs() < 1e-9);
        assert_eq!(p.close_people(3, t0), vec![("U2".to_string(), 8.0)]);

        // Removal survives the round trip and later signals.
        let rm = signal("rm-1", "U1", SignalKind::ManualRemove, &["Rust"], t0 + 60);
        assert!(apply_signal(db, "T1", &rm, hl).await.unwrap());
        let again = signal("w-9", "U1", SignalKind::Replied, &["rust"], t0 + 120);
        assert!(apply_signal(db, "T1", &again, hl).await.unwrap());
        let p = load_profile(db, "T1", "U1", hl).await.unwrap();
        assert_eq!(
            p.score_of("rust", t0 + 120),
            -crate::model::interest::MAX_SCORE
        );
        assert_eq!(p.suppressed(), vec!["Rust".to_string()]);
        assert_eq!(p.top(5, t0 + 120)[0].0, "Payments");

        // An empty signal is recorded as applied and changes nothing.
        let empty = signal("e-1", "U1", SignalKind::Wrote, &[], t0);
        assert!(apply_signal(db, "T1", &empty, hl).await.unwrap());
        assert_eq!(load_profile(db, "T1", "U1", hl).await.unwrap(), p);

        // Pruning forgets what faded, keeps removals and pins.
        let add = signal("add-1", "U1", SignalKind::ManualAdd, &["hiring"], t0);
        assert!(apply_signal(db, "T1", &add, hl).await.unwrap());
        let much_later = t0 + 40 * hl.secs();
        let deleted = prune(db, much_later, much_later, much_later, hl)
            .await
            .unwrap();
        assert!(deleted >= 3, "{deleted}");
        let p = load_profile(db, "T1", "U1", hl).await.unwrap();
        let left: BTreeSet<&str> = p.entries().map(|e| e.key.as_str()).collect();
        assert_eq!(left, BTreeSet::from(["hiring", "rust"]));
        assert!(
            apply_signal(db, "T1", &s, hl).await.unwrap(),
            "pruned ids are forgotten"
        );
    }

    on_both_backends!(signals_apply_once => signals_on_sqlite, signals_on_postgres);

    async fn activity_is_learned(db: &Db) {
        let rules = ScheduleRules::default();
        let mon = monday();
        let (tue, wed) = (mon + Duration::days(1), mon + Duration::days(2));
        set_timezone(
            db,
            "T1",
            "U1",
            Some(KOLKATA),
            Some(19_800),
            ist(mon, 0, 0),
            &rules,
        )
        .await
        .unwrap();
        let record = |at: i64, source| record_activity(db, "T1", "U1", at, source, at, &rules);
        assert_eq!(
            record(ist(mon, 9, 40), ActivitySource::Message)
                .await
                .unwrap(),
            Recorded::FirstOfDay
        );
        assert_eq!(
            record(ist(mon, 12, 0), ActivitySource::Reaction)
                .await
                .unwrap(),
            Recorded::Later
        );
        assert_eq!(
            record(ist(mon, 8, 50), ActivitySource::AppHomeOpened)
                .await
                .unwrap(),
            Recorded::Earlier,
            "a late event that happened earlier replaces the day's first"
        );
        let days = recent_activity(db, "T1", "U1", 10).await.unwrap();
        assert_eq!(days.len(), 1);
        assert_eq!(
            (days[0].local_date, days[0].local_minute),
            (mon, 8 * 60 + 50)
        );
        let agent = get_agent(db, "T1", "U1").await.unwrap().unwrap();
        assert_eq!(agent.last_active_at, Some(ist(mon, 12, 0)));
        assert!(!agent.usual_learned);
        assert_eq!(
            agent.usual_time,
            Some(hm(9, 0)),
            "the default until three days are known"
        );

        record(ist(tue, 8, 45), ActivitySource::Message)
            .await
            .unwrap();
        record(ist(wed, 8, 55), ActivitySource::Message)
            .await
            .unwrap();
        let agent = get_agent(db, "T1", "U1").await.unwrap().unwrap();
        assert!(agent.usual_learned);
        assert_eq!(agent.usual_time, Some(hm(8, 50)));
        assert_eq!(agent.tz.as_deref(), Some(KOLKATA));
        let next = agent.next.unwrap();
        assert_eq!(
            next.local_date, wed,
            "08:50 passed five minutes ago: still today"
        );
        assert_eq!(next.deliver_at_latest, ist(wed, 8, 50));
        assert_eq!(next.prepare_at, ist(wed, 7, 50));

        // A teammate Slack gave no zone gets the team's usual one.
        let other = ensure_agent(db, "T1", "U9").await.unwrap();
        assert_eq!(user_tz(db, &other).await.unwrap().name(), KOLKATA);
        let elsewhere = ensure_agent(db, "T2", "U9").await.unwrap();
        assert_eq!(user_tz(db, &elsewhere).await.unwrap().name(), "UTC");

        set_agent_state(db, "T1", "U1", &serde_json::json!({"streak": 3}))
            .await
            .unwrap();
        let agent = get_agent(db, "T1", "U1").await.unwrap().unwrap();
        assert_eq!(agent.state["streak"], 3);
    }

    on_both_backends!(activity_is_learned => activity_on_sqlite, activity_on_postgres);

    async fn due_users_are_listed_by_priority(db: &Db) {
        let rules = ScheduleRules::default();
        let mon = monday();
        let tue = mon + Duration::days(1);
        // Team A dominates the most-recently-active end; team B has one user.
        for (team, user, minute) in [
            ("TA", "a1", 3),
            ("TA", "a2", 2),
            ("TA", "a3", 1),
            ("TB", "b1", 0),
        ] {
            let at = ist(mon, 12, minute);
            set_timezone(db, team, user, Some(KOLKATA), None, at, &rules)
                .await
                .unwrap();
            record_activity(db, team, user, at, ActivitySource::Message, at, &rules)
                .await
                .unwrap();
        }
        let names = |due: &[DueUser]| due.iter().map(|d| d.user_id.clone()).collect::<Vec<_>>();
        // Monday's 09:00 (+2 h grace) had passed at noon: everyone is planned for Tuesday 09:00.
        let (from, to) = (ist(tue, 0, 0), ist(tue, 8, 30));
        let due = list_due_for_preparation(db, from, to, 10, &rules)
            .await
            .unwrap();
        assert_eq!(
            names(&due),
            ["a1", "a2", "a3", "b1"],
            "most recently active first"
        );
        assert!(due.iter().all(|d| d.local_date == tue
            && d.prepare_at == ist(tue, 8, 0)
            && d.deliver_at_latest == ist(tue, 9, 0)));
        assert_eq!(due[3].team_id, "TB");
        assert_eq!(
            names(&fair_order(due)),
            ["a1", "b1", "a2", "a3"],
            "teams take turns"
        );
        assert_eq!(
            names(
                &list_due_for_preparation(db, from, to, 2, &rules)
                    .await
                    .unwrap()
            ),
            ["a1", "a2"]
        );
        assert!(
            list_due_for_preparation(db, from, ist(tue, 8, 0), 10, &rules)
                .await
                .unwrap()
                .is_empty(),
            "the range's end is exclusive"
        );

        update_settings(db, "TA", "a2", ist(mon, 13, 0), &rules, |s| s.paused = true)
            .await
            .unwrap();
        mark_prepared(db, "TA", "a1", tue, ist(tue, 8, 1))
            .await
            .unwrap();
        let due = list_due_for_preparation(db, from, to, 10, &rules)
            .await
            .unwrap();
        assert_eq!(
            names(&due),
            ["a3", "b1"],
            "prepared and paused users leave the queue"
        );

        assert!(
            list_due_for_delivery(db, ist(tue, 8, 59), 10)
                .await
                .unwrap()
                .is_empty()
        );
        let deliver = list_due_for_delivery(db, ist(tue, 9, 0), 10).await.unwrap();
        assert_eq!(names(&deliver), ["a1"]);
        let next = mark_delivered(db, "TA", "a1", tue, ist(tue, 9, 0), &rules)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(next.local_date, tue + Duration::days(1));
        assert!(
            list_due_for_delivery(db, ist(tue, 9, 0), 10)
                .await
                .unwrap()
                .is_empty()
        );
        let agent = get_agent(db, "TA", "a1").await.unwrap().unwrap();
        assert_eq!(agent.last_briefing_date, Some(tue));
        assert_eq!(agent.last_prepared_date, Some(tue));

        // A user last seen long ago had a plan that was never carried out: the sweep drops it.
        let long_ago = ist(mon - Duration::days(20), 12, 0);
        record_activity(
            db,
            "TB",
            "c1",
            long_ago,
            ActivitySource::Message,
            long_ago,
            &rules,
        )
        .await
        .unwrap();
        assert!(
            get_agent(db, "TB", "c1")
                .await
                .unwrap()
                .unwrap()
                .next
                .is_some()
        );
        // By Wednesday 10:30, b1 and a3 missed Tuesday (no one prepared them); a1 was delivered
        // and Wednesday 09:00 is still within the grace; a2 is paused.
        let swept = reschedule_overdue(db, ist(tue + Duration::days(1), 10, 30), 100, &rules)
            .await
            .unwrap();
        assert_eq!(swept, 3);
        assert_eq!(
            get_agent(db, "TB", "c1").await.unwrap().unwrap().next,
            None,
            "inactive"
        );
        let b1 = get_agent(db, "TB", "b1")
            .await
            .unwrap()
            .unwrap()
            .next
            .unwrap();
        assert_eq!(
            b1.local_date,
            tue + Duration::days(1),
            "late, but still today's"
        );
        // c1 comes back: planned again.
        let back = ist(tue, 10, 0);
        record_activity(db, "TB", "c1", back, ActivitySource::Message, back, &rules)
            .await
            .unwrap();
        assert!(
            get_agent(db, "TB", "c1")
                .await
                .unwrap()
                .unwrap()
                .next
                .is_some()
        );

        delete_team(db, "TA").await.unwrap();
        assert_eq!(get_agent(db, "TA", "a1").await.unwrap(), None);
        assert_eq!(
            get_settings(db, "TA", "a2").await.unwrap(),
            UserSettings::default()
        );
        assert!(get_agent(db, "TB", "b1").await.unwrap().is_some());
    }

    on_both_backends!(due_users_are_listed_by_priority => due_users_on_sqlite, due_users_on_postgres);
}
