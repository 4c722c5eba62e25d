//! Delivery: exactly one DM per user per day.
//!
//! A prepared briefing is sent by whoever first **claims** it: the conditional update
//! `prepared → delivering` (`db::briefings::claim`) succeeds for one caller however many replicas,
//! job retries, restarts and "the user just showed up" triggers race for it; everyone else stops.
//! The claimant opens the DM (`conversations.open`), posts it (`chat.postMessage` with Block Kit
//! blocks and the plain-text fallback) and records `delivered` with the message's ts.
//!
//! Failures:
//! - Slack answered with a transient failure (rate limited after the client's own retries, 5xx,
//!   network): the claim is given back (`delivering → prepared`) and the job retries with
//!   back-off. A *lost response* (Slack posted, the answer never arrived) is the one way this can
//!   send twice; Slack's Web API has no idempotency key to prevent it.
//! - `invalid_auth`, `account_inactive`, `token_revoked`…: the team is suspended (no more calls)
//!   and the briefing `skipped`.
//! - `channel_not_found`, `not_in_channel`, `user_not_found`, `user_disabled`, `cannot_dm_bot`…:
//!   `skipped` with the reason.
//! - **A crash between posting and recording** leaves the row `delivering`. A later attempt that
//!   finds a claim older than [`STALE_CLAIM_SECS`] marks it `unknown` and does **not** post again:
//!   chief cannot tell whether Slack got the message, and a missing DM (the briefing is still on
//!   the App Home) is better than a second one.

use serde_json::{Value, json};
use tracing::{info, warn};

use super::BriefingError;
use super::agent::{self, PrepareRequest};
use crate::ai::llm::Priority;
use crate::features::context::{Context, TokenError};
use crate::model::activity::{ScheduleRules, UserTz};
use crate::platform::db::briefings::{self, BriefingRow, Status};
use crate::platform::db::{directory, now, profile};
use crate::slack::api::SlackError;
use crate::slack::blocks;
use crate::slack::web::{self, Session};

/// A `delivering` claim older than this belongs to a sender that died.
pub const STALE_CLAIM_SECS: i64 = 300;

/// Slack answers that mean "this DM cannot be sent": the briefing is skipped with the code.
const UNDELIVERABLE: &[&str] = &[
    "channel_not_found",
    "not_in_channel",
    "user_not_found",
    "user_not_visible",
    "user_disabled",
    "users_not_found",
    "cannot_dm_bot",
    "is_archived",
    "restricted_action",
    "missing_scope",
];

/// What an attempt to deliver did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Posted now, as message `ts` in DM `channel`.
    Delivered { channel: String, ts: String },
    /// Nothing to do: it was delivered, skipped or is unknown already.
    AlreadyDone(Status),
    /// Another sender holds the claim right now.
    InProgress,
    /// Not sent, on purpose, with why.
    Skipped(String),
    /// A sender died mid-post earlier; not re-sent.
    Unknown,
}

/// The user's local date now.
pub async fn local_today(
    ctx: &Context,
    team_id: &str,
    user_id: &str,
) -> Result<chrono::NaiveDate, BriefingError> {
    let tz = match profile::get_agent(&ctx.db, team_id, user_id).await? {
        Some(agent) => profile::user_tz(&ctx.db, &agent).await?,
        None => {
            let user = directory::get_user(&ctx.db, team_id, user_id).await?;
            UserTz::resolve(
                user.as_ref().and_then(|u| u.tz.as_deref()),
                user.as_ref().and_then(|u| u.tz_offset),
                profile::team_default_tz(&ctx.db, team_id).await?,
            )
        }
    };
    Ok(tz.local(now()).date())
}

/// Prepares (when needed) and sends the daily briefing of (team, user, date).
pub async fn deliver_daily(
    ctx: &Context,
    team_id: &str,
    user_id: &str,
    date: chrono::NaiveDate,
) -> Result<Outcome, BriefingError> {
    if crate::features::ingest::directory::is_suspended(ctx, team_id).await? {
        return Ok(Outcome::Skipped("team suspended".into()));
    }
    let row =
        agent::prepare_with(ctx, &PrepareRequest::daily(team_id, user_id, date, now())).await?;
    send(ctx, &row).await
}

/// Prepares and sends an on-demand edition of today's briefing (see `briefing::request_now`).
pub async fn deliver_now(
    ctx: &Context,
    team_id: &str,
    user_id: &str,
    priority: Priority,
) -> Result<Outcome, BriefingError> {
    if crate::features::ingest::directory::is_suspended(ctx, team_id).await? {
        return Ok(Outcome::Skipped("team suspended".into()));
    }
    let today = local_today(ctx, team_id, user_id).await?;
    // A retried request resumes its edition if that one never went out.
    let pending = briefings::recent(&ctx.db, team_id, user_id, 5)
        .await?
        .into_iter()
        .find(|r| {
            r.local_date == today && r.edition.starts_with("now:") && r.status == Status::Prepared
        });
    let row = match pending {
        Some(row) => row,
        None => {
            let n = briefings::count_editions(&ctx.db, team_id, user_id, today).await? + 1;
            agent::prepare_with(
                ctx,
                &PrepareRequest::on_demand(team_id, user_id, today, n, now(), priority),
            )
            .await?
        }
    };
    send(ctx, &row).await
}

/// Sends a prepared briefing, once (see the module docs).
pub async fn send(ctx: &Context, row: &BriefingRow) -> Result<Outcome, BriefingError> {
    match row.status {
        Status::Delivered | Status::Skipped | Status::Unknown => {
            return Ok(Outcome::AlreadyDone(row.status));
        }
        Status::Delivering => {
            if briefings::mark_stale_unknown(&ctx.db, row.id, now() - STALE_CLAIM_SECS).await? {
                warn!(
                    briefing = row.id,
                    "a sender died while posting; not re-sent"
                );
                finish_day(ctx, row).await?;
                return Ok(Outcome::Unknown);
            }
            return Ok(Outcome::InProgress);
        }
        Status::Prepared => {}
    }
    let token = match ctx.bot_token(&row.team_id).await {
        Ok(token) => token,
        Err(TokenError::Db(e)) => return Err(e.into()),
        Err(e) => {
            let reason = e.to_string();
            briefings::mark_skipped(&ctx.db, row.id, None, &reason).await?;
            finish_day(ctx, row).await?;
            return Ok(Outcome::Skipped(reason));
        }
    };
    let owner = ctx.instance_id.as_str();
    if !briefings::claim(&ctx.db, row.id, owner).await? {
        let now_row = briefings::get_by_id(&ctx.db, row.id).await?;
        return Ok(match now_row.map(|r| r.status) {
            Some(Status::Delivering) => Outcome::InProgress,
            Some(status) => Outcome::AlreadyDone(status),
            None => Outcome::Skipped("the briefing was deleted".into()),
        });
    }
    let session = ctx.slack.session(&token);
    match post(ctx, &session, row).await {
        Ok((channel, ts)) => {
            briefings::mark_delivered(&ctx.db, row.id, owner, &channel, &ts).await?;
            finish_day(ctx, row).await?;
            metrics::counter!("chief_briefings_delivered_total").increment(1);
            info!(team_id = %row.team_id, user_id = %row.user_id, date = %row.local_date,
                edition = %row.edition, stories = row.briefing.stories.len(), "briefing delivered");
            Ok(Outcome::Delivered { channel, ts })
        }
        Err(PostError::Slack(SlackError::AuthRevoked { code })) => {
            crate::features::ingest::directory::suspend(ctx, &row.team_id, &code).await?;
            let reason = format!("team suspended: Slack answered {code}");
            briefings::mark_skipped(&ctx.db, row.id, Some(owner), &reason).await?;
            Ok(Outcome::Skipped(reason))
        }
        Err(PostError::Slack(e)) if e.is_transient() => {
            briefings::release(&ctx.db, row.id, owner).await?;
            warn!(error = %e, briefing = row.id, "Slack unavailable; the briefing will be sent later");
            Err(BriefingError::SlackTransient(e))
        }
        Err(PostError::Slack(e)) => {
            let code = e.code().unwrap_or("unknown").to_string();
            let reason = if UNDELIVERABLE.contains(&code.as_str()) {
                format!("cannot DM the user: {code}")
            } else {
                warn!(%code, briefing = row.id, "Slack refused the briefing");
                format!("Slack refused the message: {code}")
            };
            briefings::mark_skipped(&ctx.db, row.id, Some(owner), &reason).await?;
            finish_day(ctx, row).await?;
            Ok(Outcome::Skipped(reason))
        }
        Err(PostError::Other(e)) => {
            briefings::release(&ctx.db, row.id, owner).await?;
            Err(e)
        }
    }
}

enum PostError {
    Slack(SlackError),
    Other(BriefingError),
}

impl From<SlackError> for PostError {
    fn from(e: SlackError) -> Self {
        PostError::Slack(e)
    }
}

impl From<crate::platform::db::DbError> for PostError {
    fn from(e: crate::platform::db::DbError) -> Self {
        PostError::Other(e.into())
    }
}

/// The blocks of a briefing with the acknowledgements of feedback in place of those stories'
/// buttons.
pub fn message_blocks(row: &BriefingRow) -> Vec<Value> {
    let mut blocks = blocks::briefing_blocks(&row.briefing);
    for b in blocks.iter_mut() {
        let Some(story) = b
            .get("block_id")
            .and_then(Value::as_str)
            .and_then(|id| id.strip_prefix("story:"))
        else {
            continue;
        };
        if let Some(ack) = row.acks.get(story) {
            *b = json!({"type": "context", "block_id": format!("ack:{story}"),
                "elements": [{"type": "mrkdwn", "text": blocks::escape(ack)}]});
        }
    }
    blocks
}

async fn post(
    ctx: &Context,
    session: &Session<'_>,
    row: &BriefingRow,
) -> Result<(String, String), PostError> {
    let channel = web::open_dm(session, &row.user_id).await?;
    briefings::set_dm_channel(&ctx.db, row.id, &channel).await?;
    let blocks = message_blocks(row);
    // The shape is checked by slack-morphism's types before Slack sees it.
    blocks::to_slack(&blocks).map_err(|e| {
        PostError::Other(BriefingError::Permanent(format!(
            "briefing blocks are invalid: {e}"
        )))
    })?;
    let ts = web::post_message(
        session,
        &channel,
        &blocks::briefing_text(&row.briefing),
        &blocks,
    )
    .await?;
    Ok((channel, ts))
}

/// Updates the posted DM in place (feedback acknowledgements).
pub async fn update_message(ctx: &Context, row: &BriefingRow) -> Result<(), BriefingError> {
    let (Some(channel), Some(ts)) = (&row.dm_channel, &row.message_ts) else {
        return Ok(());
    };
    let token = match ctx.bot_token(&row.team_id).await {
        Ok(token) => token,
        Err(TokenError::Db(e)) => return Err(e.into()),
        Err(e) => return Err(BriefingError::Permanent(e.to_string())),
    };
    let session = ctx.slack.session(&token);
    let result = web::update_message(
        &session,
        channel,
        ts,
        &blocks::briefing_text(&row.briefing),
        &message_blocks(row),
    )
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.is_transient() => Err(BriefingError::SlackTransient(e)),
        Err(SlackError::AuthRevoked { code }) => {
            crate::features::ingest::directory::suspend(ctx, &row.team_id, &code).await?;
            Ok(())
        }
        Err(e) => {
            warn!(error = %e, "the briefing could not be updated in place");
            Ok(())
        }
    }
}

/// A daily briefing reached its end (sent, skipped, unknown): the user's agent plans the next.
async fn finish_day(ctx: &Context, row: &BriefingRow) -> Result<(), BriefingError> {
    if row.edition.is_empty() {
        profile::mark_delivered(
            &ctx.db,
            &row.team_id,
            &row.user_id,
            row.local_date,
            now(),
            &ScheduleRules::default(),
        )
        .await?;
    }
    Ok(())
}
