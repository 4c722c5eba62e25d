//! Keeping the directory (people, channels, membership) in step with Slack.
//!
//! Events keep it current (joins and leaves update membership directly); anything unknown — a new
//! author, a mentioned person, a channel seen for the first time — is fetched once with
//! `users.info`, `conversations.info` and `conversations.members`. Fetching is best effort: if
//! Slack is unreachable, the message is stored anyway and the channel stays a stub (invisible to
//! everyone until its members are known, which is the safe side). A token Slack rejects
//! (`invalid_auth`, `account_inactive`…) suspends the team: chief stops calling Slack for it.

use std::collections::BTreeSet;

use tracing::{debug, info, warn};

use crate::features::context::Context;
use crate::platform::db::teams::{self, Team, TeamStatus};
use crate::platform::db::{DbError, directory, now};
use crate::platform::retry::Retryable;
use crate::slack::api::SlackError;
use crate::slack::convert::BotIdentity;
use crate::slack::markup::{NameMap, Refs};
use crate::slack::web;

/// At most this many unknown people are fetched for one event (a message mentioning a crowd).
const MAX_USER_FETCHES: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// Slack rejected the team's token; the team is now suspended.
    #[error("team {0} is suspended: Slack rejected its token")]
    Suspended(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// A suspended team stays suspended until someone reinstalls chief: retrying cannot help.
impl Retryable for DirectoryError {
    fn is_transient(&self) -> bool {
        match self {
            DirectoryError::Suspended(_) => false,
            DirectoryError::Db(e) => e.is_transient(),
        }
    }
}

/// Whether chief has stopped working for a team.
pub async fn is_suspended(ctx: &Context, team_id: &str) -> Result<bool, DbError> {
    Ok(teams::get(&ctx.db, team_id)
        .await?
        .is_some_and(|t| t.status == TeamStatus::Suspended))
}

/// Suspends a team after Slack rejected its token (creating its row if needed).
pub async fn suspend(ctx: &Context, team_id: &str, code: &str) -> Result<(), DbError> {
    warn!(
        team_id,
        code, "Slack rejected the token: suspending the team"
    );
    if teams::get(&ctx.db, team_id).await?.is_none() {
        teams::upsert(
            &ctx.db,
            &Team {
                team_id: team_id.to_string(),
                name: None,
                bot_user_id: None,
                bot_id: None,
                bot_token_enc: None,
                status: TeamStatus::Suspended,
            },
        )
        .await?;
    }
    teams::set_status(&ctx.db, team_id, TeamStatus::Suspended).await
}

/// Turns a Slack failure into "suspend and stop" (token rejected) or a logged, ignored miss.
async fn on_slack_error(
    ctx: &Context,
    team_id: &str,
    what: &str,
    err: SlackError,
) -> Result<(), DirectoryError> {
    match err {
        SlackError::AuthRevoked { code } => {
            suspend(ctx, team_id, &code).await?;
            Err(DirectoryError::Suspended(team_id.to_string()))
        }
        other => {
            warn!(team_id, what, error = %other, "directory fetch failed; continuing without it");
            Ok(())
        }
    }
}

/// chief's own user and bot ids in a team: from the `teams` row, else from `auth.test` (then
/// remembered in a new `teams` row). `None` when neither is available.
pub async fn bot_identity(
    ctx: &Context,
    team_id: &str,
) -> Result<Option<BotIdentity>, DirectoryError> {
    let stored = teams::get(&ctx.db, team_id).await?;
    if let Some(team) = &stored
        && (team.bot_user_id.is_some() || team.bot_id.is_some())
    {
        return Ok(Some(BotIdentity {
            user_id: team.bot_user_id.clone(),
            bot_id: team.bot_id.clone(),
        }));
    }
    let Ok(token) = ctx.bot_token(team_id).await else {
        return Ok(None);
    };
    match web::auth_test(&ctx.slack.session(&token)).await {
        Ok(auth) => {
            let identity = BotIdentity {
                user_id: auth.user_id.clone(),
                bot_id: auth.bot_id.clone(),
            };
            // Single-workspace mode has no install step: remember the team here.
            teams::upsert(
                &ctx.db,
                &Team {
                    team_id: team_id.to_string(),
                    name: auth.team_name,
                    bot_user_id: auth.user_id,
                    bot_id: auth.bot_id,
                    bot_token_enc: None,
                    status: stored.map_or(TeamStatus::Active, |t| t.status),
                },
            )
            .await?;
            Ok(Some(identity))
        }
        Err(e) => on_slack_error(ctx, team_id, "auth.test", e)
            .await
            .map(|()| None),
    }
}

/// Fetches the people of `user_ids` the directory does not know yet.
pub async fn ensure_users(
    ctx: &Context,
    team_id: &str,
    user_ids: &BTreeSet<String>,
) -> Result<(), DirectoryError> {
    let ids: Vec<String> = user_ids.iter().cloned().collect();
    let known = directory::known_users(&ctx.db, team_id, &ids).await?;
    let unknown: Vec<&String> = ids.iter().filter(|id| !known.contains(*id)).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let Ok(token) = ctx.bot_token(team_id).await else {
        debug!(team_id, "no token: unknown users stay unknown");
        return Ok(());
    };
    let session = ctx.slack.session(&token);
    for user_id in unknown.into_iter().take(MAX_USER_FETCHES) {
        match web::user_info(&session, user_id).await {
            Ok(Some(user)) => directory::upsert_user(ctx.db.pool(), team_id, &user, now()).await?,
            Ok(None) => debug!(team_id, user_id, "users.info gave no user"),
            Err(e) => on_slack_error(ctx, team_id, "users.info", e).await?,
        }
    }
    Ok(())
}

/// Makes sure a channel is known: a stub at once, then `conversations.info` and its members
/// (unless both were fetched already, or `refresh` asks to fetch again).
pub async fn ensure_channel(
    ctx: &Context,
    team_id: &str,
    channel_id: &str,
    private_hint: Option<bool>,
    refresh: bool,
) -> Result<(), DirectoryError> {
    let existing = directory::get_channel(&ctx.db, team_id, channel_id).await?;
    // Described *and* its members known: nothing to fetch. A member list that failed to load
    // (5xx, `not_in_channel`…) is fetched again on the next event, or the channel would stay
    // invisible to its members.
    if existing
        .as_ref()
        .is_some_and(|c| c.synced_at.is_some() && c.members_at.is_some())
        && !refresh
    {
        return Ok(());
    }
    if existing.is_none() {
        directory::ensure_channel_stub(
            ctx.db.pool(),
            team_id,
            channel_id,
            private_hint.unwrap_or(!channel_id.starts_with('C')),
        )
        .await?;
    }
    let Ok(token) = ctx.bot_token(team_id).await else {
        debug!(team_id, channel_id, "no token: channel stays a stub");
        return Ok(());
    };
    let session = ctx.slack.session(&token);
    match web::conversation_info(&session, channel_id).await {
        Ok(Some((channel, bot_is_member))) if channel.channel_id == channel_id => {
            directory::upsert_channel(ctx.db.pool(), team_id, &channel, now()).await?;
            directory::set_bot_member(ctx.db.pool(), team_id, channel_id, bot_is_member).await?;
            directory::mark_synced(&ctx.db, team_id, channel_id).await?;
        }
        Ok(_) => debug!(team_id, channel_id, "conversations.info gave no channel"),
        Err(e) => return on_slack_error(ctx, team_id, "conversations.info", e).await,
    }
    sync_members(ctx, team_id, channel_id).await
}

/// Replaces a channel's member list with `conversations.members` (all pages).
pub async fn sync_members(
    ctx: &Context,
    team_id: &str,
    channel_id: &str,
) -> Result<(), DirectoryError> {
    let Ok(token) = ctx.bot_token(team_id).await else {
        return Ok(());
    };
    let fetched_at = now();
    match web::all_conversation_members(&ctx.slack.session(&token), channel_id).await {
        Ok(members) => {
            let mut tx = ctx.db.begin_write().await?;
            let replaced =
                directory::replace_members(&mut tx, team_id, channel_id, &members, fetched_at)
                    .await?;
            tx.commit().await.map_err(DbError::from)?;
            info!(
                team_id,
                channel_id,
                members = members.len(),
                replaced,
                "channel members synced"
            );
            Ok(())
        }
        Err(e) => on_slack_error(ctx, team_id, "conversations.members", e).await,
    }
}

/// The names of everything `refs` mentions that the directory knows.
pub async fn names(ctx: &Context, team_id: &str, refs: &Refs) -> Result<NameMap, DbError> {
    let users: Vec<String> = refs.users.iter().cloned().collect();
    let channels: Vec<String> = refs.channels.iter().cloned().collect();
    Ok(NameMap {
        users: directory::user_names(&ctx.db, team_id, &users).await?,
        channels: directory::channel_names(&ctx.db, team_id, &channels).await?,
        usergroups: Default::default(),
    })
}
