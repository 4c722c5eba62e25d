//! Stored propositions, linked to their source messages.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, DbError, corrupt, now};
use crate::model::domain::MessageRef;
use crate::model::proposition::Proposition;

/// Replaces the propositions of `messages` (their anchors) with `propositions`, in one
/// transaction: a redelivered batch or an edited message never leaves duplicates.
pub async fn replace_for_messages(
    db: &Db,
    team_id: &str,
    channel_id: &str,
    messages: &[(String, i64)],
    propositions: &[Proposition],
) -> Result<usize, DbError> {
    let mut tx = db.begin_write().await?;
    for (ts, _) in messages {
        sqlx::query(
            "DELETE FROM propositions WHERE team_id = $1 AND channel_id = $2 AND message_ts = $3",
        )
        .bind(team_id)
        .bind(channel_id)
        .bind(ts)
        .execute(&mut *tx)
        .await?;
    }
    let posted: std::collections::HashMap<&str, i64> =
        messages.iter().map(|(ts, at)| (ts.as_str(), *at)).collect();
    let mut stored = 0;
    for p in propositions {
        // Anchor on the first source in this channel; skip what cites nothing here.
        let Some(anchor) = p.sources.iter().find(|s| s.channel_id == channel_id) else {
            continue;
        };
        let unwritable = |e: serde_json::Error| corrupt("propositions", e.to_string());
        let entities = p.entities.all_lower().join("\n");
        sqlx::query(
            "INSERT INTO propositions
                (team_id, channel_id, message_ts, posted_at, statement, body, sources, entities, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(team_id)
        .bind(channel_id)
        .bind(&anchor.ts)
        .bind(posted.get(anchor.ts.as_str()).copied().unwrap_or(0))
        .bind(&p.statement)
        .bind(serde_json::to_string(p).map_err(unwritable)?)
        .bind(serde_json::to_string(&p.sources).map_err(unwritable)?)
        .bind(entities)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        stored += 1;
    }
    tx.commit().await?;
    Ok(stored)
}

/// A proposition is stored whole as JSON (`body`); the other columns only serve the look-ups.
fn proposition_from_row(row: &AnyRow) -> Result<Proposition, DbError> {
    let body: String = row.try_get("body")?;
    serde_json::from_str(&body).map_err(|e| corrupt("propositions", e.to_string()))
}

/// Propositions of a channel whose messages were posted in `[from, to)`, oldest first.
pub async fn in_window(
    db: &Db,
    team_id: &str,
    channel_id: &str,
    from: i64,
    to: i64,
) -> Result<Vec<Proposition>, DbError> {
    let rows = sqlx::query(
        "SELECT body FROM propositions
         WHERE team_id = $1 AND channel_id = $2 AND posted_at >= $3 AND posted_at < $4
         ORDER BY posted_at, id",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(proposition_from_row).collect()
}

/// Propositions citing one message (anchored on it or listing it among their sources).
pub async fn for_message(
    db: &Db,
    team_id: &str,
    message: &MessageRef,
) -> Result<Vec<Proposition>, DbError> {
    let rows = sqlx::query(
        "SELECT body FROM propositions
         WHERE team_id = $1 AND channel_id = $2 AND (message_ts = $3 OR sources LIKE $4)
         ORDER BY id",
    )
    .bind(team_id)
    .bind(&message.channel_id)
    .bind(&message.ts)
    .bind(format!("%\"ts\":\"{}\"%", message.ts))
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(proposition_from_row).collect()
}
