//! OAuth `state` values: issued with the install link, taken back (once) by the callback.

use super::{Db, DbError, now};

pub async fn insert_state(db: &Db, state: &str) -> Result<(), DbError> {
    sqlx::query("INSERT INTO oauth_states (state, created_at) VALUES ($1, $2)")
        .bind(state)
        .bind(now())
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Consumes `state`: true when it was issued less than `max_age_secs` ago and not used yet.
pub async fn take_state(db: &Db, state: &str, max_age_secs: i64) -> Result<bool, DbError> {
    // Expired states are swept on the way.
    sqlx::query("DELETE FROM oauth_states WHERE created_at < $1")
        .bind(now() - max_age_secs)
        .execute(db.pool())
        .await?;
    let taken = sqlx::query("DELETE FROM oauth_states WHERE state = $1 RETURNING state")
        .bind(state)
        .fetch_optional(db.pool())
        .await?;
    Ok(taken.is_some())
}
