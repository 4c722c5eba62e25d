//! Workspaces chief is installed in.

use sqlx::Row;

use super::{Db, DbError, now};

/// What chief knows about an installed workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Team {
    pub team_id: String,
    pub name: Option<String>,
    pub bot_user_id: Option<String>,
    pub bot_id: Option<String>,
    /// The bot token, encrypted (see `crate::platform::secrets`); `None` in single-workspace mode.
    pub bot_token_enc: Option<Vec<u8>>,
    pub status: TeamStatus,
}

/// Whether chief may work for a team: Slack's `invalid_auth`/`account_inactive` suspend it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TeamStatus {
    Active,
    Suspended,
}

impl TeamStatus {
    fn as_str(self) -> &'static str {
        match self {
            TeamStatus::Active => "active",
            TeamStatus::Suspended => "suspended",
        }
    }
}

/// Inserts or updates a team; a re-install re-activates it.
pub async fn upsert(db: &Db, team: &Team) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO teams (team_id, name, bot_user_id, bot_id, bot_token_enc, installed_at, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (team_id) DO UPDATE SET
            name = COALESCE(excluded.name, teams.name),
            bot_user_id = COALESCE(excluded.bot_user_id, teams.bot_user_id),
            bot_id = COALESCE(excluded.bot_id, teams.bot_id),
            bot_token_enc = COALESCE(excluded.bot_token_enc, teams.bot_token_enc),
            status = excluded.status",
    )
    .bind(&team.team_id)
    .bind(&team.name)
    .bind(&team.bot_user_id)
    .bind(&team.bot_id)
    .bind(&team.bot_token_enc)
    .bind(now())
    .bind(team.status.as_str())
    .execute(db.pool())
    .await?;
    Ok(())
}

pub async fn get(db: &Db, team_id: &str) -> Result<Option<Team>, DbError> {
    let row = sqlx::query(
        "SELECT team_id, name, bot_user_id, bot_id, bot_token_enc, status FROM teams WHERE team_id = $1",
    )
    .bind(team_id)
    .fetch_optional(db.pool())
    .await?;
    row.map(|row| {
        let status: String = row.try_get("status")?;
        Ok(Team {
            team_id: row.try_get("team_id")?,
            name: row.try_get("name")?,
            bot_user_id: row.try_get("bot_user_id")?,
            bot_id: row.try_get("bot_id")?,
            bot_token_enc: row.try_get("bot_token_enc")?,
            status: if status == "suspended" {
                TeamStatus::Suspended
            } else {
                TeamStatus::Active
            },
        })
    })
    .transpose()
}

pub async fn set_status(db: &Db, team_id: &str, status: TeamStatus) -> Result<(), DbError> {
    sqlx::query("UPDATE teams SET status = $2 WHERE team_id = $1")
        .bind(team_id)
        .bind(status.as_str())
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Ids of the teams chief currently works for.
pub async fn list_active(db: &Db) -> Result<Vec<String>, DbError> {
    let rows = sqlx::query("SELECT team_id FROM teams WHERE status = 'active' ORDER BY team_id")
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| r.try_get("team_id").map_err(DbError::from))
        .collect()
}

/// Removes the team row itself (the last step of an uninstall purge).
pub async fn delete(db: &Db, team_id: &str) -> Result<(), DbError> {
    sqlx::query("DELETE FROM teams WHERE team_id = $1")
        .bind(team_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Every stored (sealed) bot token, for key rotation.
pub async fn sealed_tokens(db: &Db) -> Result<Vec<(String, Vec<u8>)>, DbError> {
    let rows = sqlx::query(
        "SELECT team_id, bot_token_enc FROM teams WHERE bot_token_enc IS NOT NULL ORDER BY team_id",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("team_id")?, r.try_get("bot_token_enc")?)))
        .collect()
}

pub async fn set_sealed_token(db: &Db, team_id: &str, sealed: &[u8]) -> Result<(), DbError> {
    sqlx::query("UPDATE teams SET bot_token_enc = $2 WHERE team_id = $1")
        .bind(team_id)
        .bind(sealed)
        .execute(db.pool())
        .await?;
    Ok(())
}
