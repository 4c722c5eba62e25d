//! Handles stored events: Slack envelope → domain events → store + bus.
//!
//! Steps, for one stored envelope:
//! 1. uninstall / token revocation purge the team at once (no Slack call needed or possible);
//! 2. a suspended team's events are ignored;
//! 3. a first, name-less conversion says whether anything is ingested at all (DMs, noise and
//!    unknown event types stop here);
//! 4. the directory learns what it lacks: chief's own identity, the authors and people mentioned,
//!    the channel (fetched from Slack once; best effort);
//! 5. the real conversion, names resolved;
//! 6. each event's effect is stored and the event appended to the bus in one transaction.
//!
//! Everything is idempotent (upserts, tombstones, set membership), so Slack's at-least-once
//! delivery and the inbox's retries are harmless; an event whose effect was already stored is not
//! published again.

use serde_json::Value;
use tracing::{debug, info};

use crate::features::context::Context;
use crate::features::ingest::backfill;
use crate::features::ingest::directory::{self, DirectoryError};
use crate::model::events::DomainEvent;
use crate::platform::bus;
use crate::platform::db::messages::{self, Removal, Source, Upserted};
use crate::platform::db::{DbError, directory as store, now, purge};
use crate::platform::retry::Retryable;
use crate::slack::convert::{self, BotIdentity, Options};
use crate::slack::markup::NoNames;

/// Why a stored event could not be ingested. Events are idempotent, so another try is always
/// safe; whether it can help is the cause's to say.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Db(#[from] DbError),
    /// Learning the people or channels the event names failed (a suspended team's events are
    /// ignored before they get here).
    #[error(transparent)]
    Directory(#[from] DirectoryError),
}

impl Retryable for IngestError {
    fn is_transient(&self) -> bool {
        match self {
            IngestError::Db(e) => e.is_transient(),
            IngestError::Directory(e) => e.is_transient(),
        }
    }
}

/// Handles one Events API envelope for `team_id`.
pub async fn handle_envelope(
    ctx: &Context,
    team_id: &str,
    payload: &Value,
) -> Result<(), IngestError> {
    let draft = convert::convert(payload, &Options::default(), &NoNames);
    if let Some(lifecycle) = draft.iter().find(|e| {
        matches!(
            e,
            DomainEvent::AppUninstalled | DomainEvent::TokensRevoked { .. }
        )
    }) {
        return apply_lifecycle(ctx, team_id, lifecycle).await;
    }
    if draft.is_empty() {
        return Ok(());
    }
    if directory::is_suspended(ctx, team_id).await? {
        debug!(team_id, "team suspended: event ignored");
        return Ok(());
    }

    let identity = match directory::bot_identity(ctx, team_id).await {
        Ok(identity) => identity,
        Err(DirectoryError::Suspended(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let refs = convert::envelope_refs(payload);
    let prepared = async {
        directory::ensure_users(ctx, team_id, &refs.users).await?;
        for (channel_id, private) in channels_of(&draft) {
            directory::ensure_channel(ctx, team_id, &channel_id, private, false).await?;
        }
        Ok::<_, DirectoryError>(())
    }
    .await;
    match prepared {
        Ok(()) => {}
        Err(DirectoryError::Suspended(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    let names = directory::names(ctx, team_id, &refs).await?;
    let options = Options {
        bot: identity.as_ref(),
        ingest_bot_messages: ctx.config.ingest_bot_messages,
    };
    for event in convert::convert(payload, &options, &names) {
        apply(ctx, team_id, identity.as_ref(), &event).await?;
    }
    Ok(())
}

/// The channels the events happen in, with a privacy hint when the event gives one.
fn channels_of(events: &[DomainEvent]) -> Vec<(String, Option<bool>)> {
    let mut out: Vec<(String, Option<bool>)> = Vec::new();
    for event in events {
        let (channel, private) = match event {
            DomainEvent::MessagePosted(m) | DomainEvent::MessageEdited(m) => {
                (&m.channel_id, m.channel_private)
            }
            DomainEvent::ReactionAdded { channel_id, .. }
            | DomainEvent::MemberJoinedChannel { channel_id, .. }
            | DomainEvent::ChannelRenamed { channel_id, .. }
            | DomainEvent::ChannelArchived { channel_id }
            | DomainEvent::ChannelUnarchived { channel_id } => (channel_id, None),
            _ => continue,
        };
        if !out.iter().any(|(c, _)| c == channel) {
            out.push((channel.clone(), private));
        }
    }
    out
}

async fn apply_lifecycle(
    ctx: &Context,
    team_id: &str,
    event: &DomainEvent,
) -> Result<(), IngestError> {
    match event {
        DomainEvent::TokensRevoked { bot: false } => {
            info!(
                team_id,
                "user tokens revoked; chief's bot token is not among them"
            );
            Ok(())
        }
        _ => {
            let rows = purge::purge_team(&ctx.db, team_id).await?;
            info!(team_id, rows, event = event.kind().as_str(), "team purged");
            Ok(())
        }
    }
}

fn is_bot(identity: Option<&BotIdentity>, user_id: &str) -> bool {
    identity.is_some_and(|b| b.user_id.as_deref() == Some(user_id))
}

/// Stores one event's effect and publishes it, in one transaction.
async fn apply(
    ctx: &Context,
    team_id: &str,
    identity: Option<&BotIdentity>,
    event: &DomainEvent,
) -> Result<(), IngestError> {
    let mut tx = ctx.db.begin_write().await?;
    let publish = match event {
        DomainEvent::MessagePosted(m) | DomainEvent::MessageEdited(m) => {
            let outcome = messages::upsert(&mut tx, team_id, m, Source::Event).await?;
            matches!(outcome, Upserted::Inserted | Upserted::Updated)
        }
        DomainEvent::MessageDeleted { channel_id, ts } => {
            messages::remove(&mut tx, team_id, channel_id, ts, Removal::Deleted).await?;
            true
        }
        DomainEvent::ReactionAdded {
            channel_id,
            message_ts,
            user_id,
            reaction,
            at,
        } => {
            messages::add_reaction(
                &mut *tx, team_id, channel_id, message_ts, user_id, reaction, *at,
            )
            .await?;
            true
        }
        DomainEvent::ReactionRemoved {
            channel_id,
            message_ts,
            user_id,
            reaction,
        } => {
            messages::remove_reaction(&mut *tx, team_id, channel_id, message_ts, user_id, reaction)
                .await?;
            true
        }
        DomainEvent::MemberJoinedChannel {
            channel_id,
            user_id,
        } => {
            store::ensure_channel_stub(&mut *tx, team_id, channel_id, !channel_id.starts_with('C'))
                .await?;
            store::add_member(&mut tx, team_id, channel_id, user_id).await?;
            if is_bot(identity, user_id) {
                store::set_bot_member(&mut *tx, team_id, channel_id, true).await?;
            }
            true
        }
        DomainEvent::MemberLeftChannel {
            channel_id,
            user_id,
        } => {
            store::remove_member(&mut tx, team_id, channel_id, user_id).await?;
            if is_bot(identity, user_id) {
                store::set_bot_member(&mut *tx, team_id, channel_id, false).await?;
            }
            true
        }
        DomainEvent::ChannelRenamed { channel_id, name } => {
            store::rename_channel(&mut *tx, team_id, channel_id, name).await?;
            true
        }
        DomainEvent::ChannelArchived { channel_id } => {
            store::set_archived(&mut *tx, team_id, channel_id, true).await?;
            true
        }
        DomainEvent::ChannelUnarchived { channel_id } => {
            store::set_archived(&mut *tx, team_id, channel_id, false).await?;
            true
        }
        DomainEvent::ChannelDeleted { channel_id } => {
            purge::purge_channel_in(&mut tx, team_id, channel_id).await?;
            true
        }
        DomainEvent::UserUpdated(user) => {
            store::upsert_user(&mut *tx, team_id, user, now()).await?;
            true
        }
        DomainEvent::UserBecameActive { .. } | DomainEvent::HistoryLoaded { .. } => true,
        DomainEvent::AppUninstalled | DomainEvent::TokensRevoked { .. } => false,
    };
    if publish {
        bus::publish(&mut *tx, team_id, event).await?;
    }
    tx.commit().await.map_err(DbError::from)?;

    // After the commit: work that calls Slack or runs long.
    if let DomainEvent::MemberJoinedChannel {
        channel_id,
        user_id,
    } = event
        && is_bot(identity, user_id)
    {
        info!(team_id, channel_id, "chief joined a channel");
        match directory::ensure_channel(ctx, team_id, channel_id, None, true).await {
            Ok(()) | Err(DirectoryError::Suspended(_)) => {}
            Err(e) => return Err(e.into()),
        }
        backfill::request(ctx, team_id, channel_id, ctx.config.backfill_days).await?;
    }
    Ok(())
}
