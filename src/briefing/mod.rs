//! The personal daily briefing (the flagship): each morning, each person gets a DM with the three
//! most important, time-sensitive stories for them.
//!
//! (Interface fixed by the lead; the briefing agent fills it in.)

pub mod feedback;

use crate::context::Context;
use crate::domain::Briefing;
use crate::handlers::HandlerError;

/// Prepares (does not deliver) `user_id`'s briefing for their local `date`: the user's channels →
/// shared channel summaries → stories → ranked for the user → top 3 → personal text → guardrail.
/// Recorded as a durable run; stored so delivery and the App Home can show it. Idempotent per
/// (team, user, date).
pub async fn prepare(
    _ctx: &Context,
    _team_id: &str,
    _user_id: &str,
    _date: chrono::NaiveDate,
) -> Result<Briefing, HandlerError> {
    Err(HandlerError::Permanent(
        "briefings are not available yet".into(),
    ))
}

/// DMs the prepared briefing of (team, user, date), once.
pub async fn deliver(
    _ctx: &Context,
    _team_id: &str,
    _user_id: &str,
    _date: chrono::NaiveDate,
) -> Result<(), HandlerError> {
    Err(HandlerError::Permanent(
        "briefings are not available yet".into(),
    ))
}

/// `/chief briefing` and the App Home button: prepare today's briefing for `user_id` now and DM it.
pub async fn request_now(
    _ctx: &Context,
    _team_id: &str,
    _user_id: &str,
) -> Result<(), HandlerError> {
    Err(HandlerError::Permanent(
        "briefings are not available yet".into(),
    ))
}

/// The user's most recent briefing, for the App Home.
pub async fn latest(
    _ctx: &Context,
    _team_id: &str,
    _user_id: &str,
) -> Result<Option<Briefing>, HandlerError> {
    Ok(None)
}
