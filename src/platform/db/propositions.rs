//! Stored propositions, linked to their source messages.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, DbError, corrupt, now};
use crate::model::domain::MessageRef;
use crate::model::proposition::Proposition;

/// A message that went through extraction: which one, when it was posted, and the hash of the
/// text its propositions were made from ([`text_hash`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extracted {
    pub ts: String,
    pub posted_at: i64,
    pub text_hash: String,
}

impl Extracted {
    pub fn new(ts: &str, posted_at: i64, text: &str) -> Self {
        Extracted {
            ts: ts.to_string(),
            posted_at,
            text_hash: text_hash(text),
        }
    }
}

/// A short hash of a message's text: an edit changes it, so the message is extracted again.
pub fn text_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

/// Replaces the propositions of `messages` (their anchors) with `propositions`, and marks the
/// messages extracted at their text's hash, in one transaction: a redelivered batch or an edited
/// message never leaves duplicates, and a message that stated nothing is not extracted again.
pub async fn replace_for_messages(
    db: &Db,
    team_id: &str,
    channel_id: &str,
    messages: &[Extracted],
    propositions: &[Proposition],
) -> Result<usize, DbError> {
    let mut tx = db.begin_write().await?;
    let at = now();
    for m in messages {
        sqlx::query(
            "DELETE FROM propositions WHERE team_id = $1 AND channel_id = $2 AND message_ts = $3",
        )
        .bind(team_id)
        .bind(channel_id)
        .bind(&m.ts)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO proposition_marks (team_id, channel_id, message_ts, text_hash, extracted_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (team_id, channel_id, message_ts)
             DO UPDATE SET text_hash = excluded.text_hash, extracted_at = excluded.extracted_at",
        )
        .bind(team_id)
        .bind(channel_id)
        .bind(&m.ts)
        .bind(&m.text_hash)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    }
    let posted: std::collections::HashMap<&str, i64> = messages
        .iter()
        .map(|m| (m.ts.as_str(), m.posted_at))
        .collect();
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
                (team_id, channel_id, message_ts, posted_at, statement, body, sources, entities, created_at, kind)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(team_id)
        .bind(channel_id)
        .bind(&anchor.ts)
        .bind(posted.get(anchor.ts.as_str()).copied().unwrap_or(0))
        .bind(&p.statement)
        .bind(serde_json::to_string(p).map_err(unwritable)?)
        .bind(serde_json::to_string(&p.sources).map_err(unwritable)?)
        .bind(entities)
        .bind(at)
        .bind(p.kind.as_str())
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

/// The text hash each of a channel's messages was extracted at, for the messages in `ts` that
/// have been (an absent one never was).
pub async fn marks(
    db: &Db,
    team_id: &str,
    channel_id: &str,
    from: i64,
    to: i64,
) -> Result<std::collections::HashMap<String, String>, DbError> {
    // Marks carry no time: read the channel's marks for the messages posted in the window.
    let rows = sqlx::query(
        "SELECT k.message_ts, k.text_hash FROM proposition_marks k
         JOIN messages m ON m.team_id = k.team_id AND m.channel_id = k.channel_id AND m.ts = k.message_ts
         WHERE k.team_id = $1 AND k.channel_id = $2 AND m.posted_at >= $3 AND m.posted_at < $4",
    )
    .bind(team_id)
    .bind(channel_id)
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("message_ts")?, r.try_get("text_hash")?)))
        .collect()
}

/// How many propositions of each kind a team has stored (for `chief usage`).
pub async fn count_by_kind(db: &Db, team_id: Option<&str>) -> Result<Vec<(String, i64)>, DbError> {
    let rows = sqlx::query(
        "SELECT kind, COUNT(*) AS n FROM propositions
         WHERE ($1 = '' OR team_id = $1) GROUP BY kind ORDER BY kind",
    )
    .bind(team_id.unwrap_or(""))
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("kind")?, r.try_get("n")?)))
        .collect()
}
