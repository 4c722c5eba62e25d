//! The personal daily briefing (the flagship): each morning, each person gets a DM with the three
//! most important, time-sensitive stories for them.
//!
//! How it is made (see `docs/briefing.md` for the user-facing description):
//!
//! - [`interest`] — the interest agent: a bus subscriber that turns what people do (write, reply,
//!   get mentioned, react, show up) into interest signals and activity, per user.
//! - [`digest`] — shared channel digests: a channel's window is segmented into discussions and
//!   each discussion summarised **once**, then reused by every reader of the channel.
//! - [`agent`] — the briefing agent: one user's channels → digests → stories → ranked for them →
//!   top 3 → personal text → guardrail (corrective regeneration, then the extractive text), every
//!   stage a step of a durable run.
//! - [`delivery`] — exactly one DM per user per day, whatever the replicas, retries and restarts.
//! - [`schedule`] — when: prepared an hour before the person's usual start, delivered when they
//!   show up (or at that time at the latest); the jobs that do it.
//! - [`feedback`] — "More like this", "Less like this", "Mute #channel".
//! - [`cli`] — `chief brief --export`: a briefing from a Slack export, without Slack.

pub mod agent;
pub mod cli;
pub mod delivery;
pub mod digest;
pub mod feedback;
pub mod interest;
pub mod schedule;

use std::sync::Arc;

use chrono::NaiveDate;
use tokio_util::sync::CancellationToken;

use crate::ai::llm::Priority;
use crate::features::context::Context;
use crate::model::domain::Briefing;
use crate::platform::db::DbError;
use crate::platform::jobs::EnqueueError;
use crate::platform::retry::Retryable;
use crate::platform::runs::RunError;
use crate::slack::api::SlackError;

pub use agent::{PrepareRequest, WindowRule};

/// The answer to a request for a briefing now (`/chief briefing`, the Home button).
pub const REQUESTED: &str =
    "On it: I'm preparing your briefing now. It arrives as a direct message in a minute or two.";
/// The answer when no briefing can be prepared now.
pub const REQUEST_FAILED: &str =
    "Sorry, I couldn't prepare your briefing just now. Please try again in a few minutes.";

/// How preparing or delivering a briefing failed.
#[derive(Debug, thiserror::Error)]
pub enum BriefingError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Run(#[from] RunError),
    /// A preparation or a delivery could not be queued.
    #[error("cannot queue a briefing job")]
    Enqueue(#[from] EnqueueError),
    /// Slack failed in a way worth retrying later (`retry_after` when Slack said).
    #[error("Slack is unavailable")]
    SlackTransient(#[source] SlackError),
    /// Will not work by retrying (bad data, a bug caught as an error).
    #[error("{0}")]
    Permanent(String),
}

impl BriefingError {
    pub fn is_retryable(&self) -> bool {
        match self {
            BriefingError::Db(_) | BriefingError::SlackTransient(_) => true,
            BriefingError::Run(e) => e.is_retryable(),
            BriefingError::Enqueue(e) => e.is_transient(),
            BriefingError::Permanent(_) => false,
        }
    }
}

/// Read by the briefing jobs (retry after Slack's `Retry-After`, or `dead`) and by the inbox
/// (feedback clicks).
impl Retryable for BriefingError {
    fn is_transient(&self) -> bool {
        self.is_retryable()
    }

    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            BriefingError::SlackTransient(e) => e.retry_after(),
            _ => None,
        }
    }
}

/// Prepares (does not deliver) `user_id`'s briefing for their local `date`: the user's channels →
/// shared channel summaries → stories → ranked for the user → top 3 → personal text → guardrail.
/// Recorded as a durable run; stored so delivery and the App Home can show it. Idempotent per
/// (team, user, date).
pub async fn prepare(
    ctx: &Context,
    team_id: &str,
    user_id: &str,
    date: NaiveDate,
) -> Result<Briefing, BriefingError> {
    let row = agent::prepare_with(
        ctx,
        &PrepareRequest::daily(team_id, user_id, date, crate::platform::db::now()),
    )
    .await?;
    Ok(row.briefing)
}

/// DMs the prepared briefing of (team, user, date), once. Prepares it first when that has not
/// happened yet (the same run, so nothing is done twice).
pub async fn deliver(
    ctx: &Context,
    team_id: &str,
    user_id: &str,
    date: NaiveDate,
) -> Result<(), BriefingError> {
    delivery::deliver_daily(ctx, team_id, user_id, date).await?;
    Ok(())
}

/// `/chief briefing` and the App Home button: prepare today's briefing for `user_id` now and DM it.
///
/// This is a fresh *edition* of the day (`now:1`, `now:2`…, run key
/// `briefing:{team}:{user}:{date}:now:{n}`) covering the last 24 hours up to this minute, with
/// interactive priority; it does not replace the daily briefing. A retried request whose edition
/// was prepared but not sent yet resumes that edition instead of starting another.
pub async fn request_now(ctx: &Context, team_id: &str, user_id: &str) -> Result<(), BriefingError> {
    delivery::deliver_now(ctx, team_id, user_id, Priority::Interactive).await?;
    Ok(())
}

/// The user's most recent briefing, for the App Home.
pub async fn latest(
    ctx: &Context,
    team_id: &str,
    user_id: &str,
) -> Result<Option<Briefing>, BriefingError> {
    Ok(
        crate::platform::db::briefings::latest(&ctx.db, team_id, user_id)
            .await?
            .map(|row| row.briefing),
    )
}

/// Runs the briefing's background agents until `shutdown`: the interest agent (bus subscriber)
/// and the scheduler. `chief serve` starts this.
pub async fn run(ctx: Arc<Context>, shutdown: CancellationToken) {
    let interest = tokio::spawn(interest::run(ctx.clone(), shutdown.clone()));
    let scheduler = tokio::spawn(schedule::run(ctx, shutdown));
    let _ = interest.await;
    let _ = scheduler.await;
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::platform::jobs::JobError;

    #[test]
    fn the_queue_waits_as_long_as_slack_asked_and_records_the_whole_chain() {
        let limited = BriefingError::SlackTransient(SlackError::RateLimited {
            retry_after: Some(Duration::from_secs(30)),
        });
        match JobError::from(limited) {
            JobError::Retryable {
                reason,
                retry_after,
            } => {
                assert_eq!(retry_after, Some(Duration::from_secs(30)));
                assert_eq!(
                    reason,
                    "Slack is unavailable: rate limited by Slack (retry after Some(30s))"
                );
            }
            other => panic!("expected a retry, got {other:?}"),
        }
        assert!(matches!(
            JobError::from(BriefingError::Permanent("bad data".into())),
            JobError::Permanent(reason) if reason == "bad data"
        ));
    }
}
