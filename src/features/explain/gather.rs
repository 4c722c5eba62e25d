//! Gathering the conversation around a clicked message, for one reader.
//!
//! The context is the clicked message, its whole thread (parent and replies) and every message of
//! the same channel posted within [`WINDOW_SECS`] before or after it. It is read from the store
//! through the privacy boundary (`db::messages::visible_*`), so only a member of the channel gets
//! anything, and only from that channel. When the store lacks the clicked message (chief joined
//! recently, the backfill has not reached it) or part of its thread, the window is fetched from
//! Slack (`conversations.history` with `oldest`/`latest` = ±1 h, inclusive; `conversations.replies`
//! for the thread; see `fetch`), stored through ingestion's own conversion and upsert, and read back through the
//! same boundary.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use tracing::{debug, info};

use super::{ExplainError, fetch};
use crate::ai::extractive::lang;
use crate::ai::tasks::{ChannelInfo, ChatMessage, Proposition, Reader};
use crate::features::context::Context;
use crate::model::domain::{Message, ts_to_epoch};
use crate::model::interest::HalfLife;
use crate::platform::db::messages;
use crate::platform::db::{directory as dir, now, profile};

/// How far before and after the clicked message the channel is read.
pub const WINDOW_SECS: i64 = 3600;
/// Most neighbouring messages kept (the closest in time): a very busy hour stays within what a
/// model's context and the extractive engine handle well.
pub const MAX_NEIGHBOURS: usize = 200;
/// Most pages fetched from Slack per call (200 messages a page).
pub(super) const MAX_PAGES: usize = 5;
/// Interests passed to the explainer.
const INTERESTS: usize = 10;

/// What was asked: explain `ts` in `channel_id` for `user_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub team_id: String,
    pub user_id: String,
    pub channel_id: String,
    pub ts: String,
    /// The thread of the clicked message, when the click says it (a reply's parent).
    #[serde(default)]
    pub thread_ts: Option<String>,
}

/// The gathered conversation, ready for the explainer (recorded as the run's `gather` step).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub channel: ChannelInfo,
    pub clicked: ChatMessage,
    /// Parent and replies, oldest first (empty when the message is not in a thread).
    pub thread: Vec<ChatMessage>,
    /// The channel's other messages within the window, oldest first.
    pub neighbours: Vec<ChatMessage>,
    /// Reply ts → its thread's ts, for permalinks into threads.
    pub reply_parents: BTreeMap<String, String>,
    pub reader: Reader,
    pub interests: Vec<String>,
    pub utc_offset_secs: i32,
    /// Names of the channel's members (the guardrail's list of real people).
    pub known_people: Vec<String>,
    /// Part of the context came from Slack rather than the store.
    pub fetched: bool,
    /// The propositions of every message above (stored, or extracted now for those never
    /// extracted): what the explainer and the guardrail read for who asked or decided what.
    #[serde(default)]
    pub propositions: Vec<Proposition>,
}

impl Conversation {
    /// Every message of the context.
    pub fn all_messages(&self) -> Vec<ChatMessage> {
        let mut all = vec![self.clicked.clone()];
        all.extend(self.thread.iter().cloned());
        all.extend(self.neighbours.iter().cloned());
        let mut seen = HashSet::new();
        all.retain(|m| seen.insert(m.id.clone()));
        all
    }
}

/// What gathering found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Gathered {
    /// The reader is not in the channel: nothing of it may be shown.
    Refused {
        channel_name: String,
    },
    Ready(Box<Conversation>),
}

fn to_chat(messages: &[Message]) -> Vec<ChatMessage> {
    messages.iter().map(ChatMessage::from).collect()
}

async fn channel_label(ctx: &Context, team_id: &str, channel_id: &str) -> String {
    dir::get_channel(&ctx.db, team_id, channel_id)
        .await
        .ok()
        .flatten()
        .and_then(|c| c.channel.name)
        .unwrap_or_else(|| channel_id.to_string())
}

/// Gathers the conversation for `request`, or refuses.
pub async fn gather(ctx: &Context, request: &Request) -> Result<Gathered, ExplainError> {
    let Request {
        team_id,
        user_id,
        channel_id,
        ts,
        thread_ts: hint,
    } = request;
    let clicked_at = ts_to_epoch(ts).ok_or(ExplainError::NotFound)?;

    // The privacy gate first: a channel never described to chief is looked up once.
    let mut allowed = messages::may_see_channel(&ctx.db, team_id, user_id, channel_id).await?;
    if !allowed {
        let known = dir::get_channel(&ctx.db, team_id, channel_id).await?;
        if known
            .as_ref()
            .is_none_or(|c| c.synced_at.is_none() && c.members_at.is_none())
        {
            match crate::features::ingest::directory::ensure_channel(
                ctx, team_id, channel_id, None, false,
            )
            .await
            {
                Ok(()) => {}
                Err(crate::features::ingest::directory::DirectoryError::Suspended(_)) => {
                    return Err(ExplainError::Suspended);
                }
                Err(e) => return Err(ExplainError::Internal(e.to_string())),
            }
            allowed = messages::may_see_channel(&ctx.db, team_id, user_id, channel_id).await?;
        }
    }
    if !allowed {
        // Say why: chief never reads direct messages, may not know the channel at all, or the
        // reader is not in it.
        let known = dir::get_channel(&ctx.db, team_id, channel_id).await?;
        if channel_id.starts_with('D')
            || known
                .as_ref()
                .is_some_and(|c| c.channel.is_im || c.channel.is_mpim)
        {
            return Err(ExplainError::DirectMessage);
        }
        if known.as_ref().is_none_or(|c| c.members_at.is_none()) {
            return Err(ExplainError::CannotRead {
                channel_id: channel_id.clone(),
            });
        }
        info!(
            team_id,
            user_id, channel_id, "explanation refused: not a member"
        );
        return Ok(Gathered::Refused {
            channel_name: channel_label(ctx, team_id, channel_id).await,
        });
    }

    // The store lacks the clicked message: fetch the window (and its thread) from Slack.
    let mut fetched = false;
    let stored = messages::get(&ctx.db, team_id, channel_id, ts).await?;
    match &stored {
        Some(m) if m.removed.is_some() => return Err(ExplainError::NotFound),
        Some(_) => {}
        None => {
            fetch::fetch_window(ctx, team_id, channel_id, clicked_at, hint.as_deref()).await?;
            fetched = true;
        }
    }
    let clicked = messages::visible_message(&ctx.db, team_id, user_id, channel_id, ts)
        .await?
        .ok_or(ExplainError::NotFound)?;

    // The thread, completed from Slack when replies are missing.
    let thread_ts = clicked.thread_ts.clone().or_else(|| hint.clone());
    let mut thread = Vec::new();
    if let Some(parent) = &thread_ts {
        thread = messages::visible_thread(&ctx.db, team_id, user_id, channel_id, parent).await?;
        let expected = messages::get(&ctx.db, team_id, channel_id, parent)
            .await?
            .map(|p| p.reply_count)
            .unwrap_or(0);
        let have_parent = thread.iter().any(|m| &m.ts == parent);
        let replies = thread.iter().filter(|m| &m.ts != parent).count() as i64;
        if !fetched && (!have_parent || replies < expected) {
            // Best effort: the stored part of a thread is still worth explaining (exports often
            // hold partial threads, and Slack may be unreachable).
            match fetch::fetch_thread(ctx, team_id, channel_id, parent).await {
                Ok(()) => {
                    fetched = true;
                    thread =
                        messages::visible_thread(&ctx.db, team_id, user_id, channel_id, parent)
                            .await?;
                }
                Err(e) => debug!(error = %e, "thread not completed from Slack"),
            }
        }
        if thread.len() <= 1 && thread.iter().all(|m| m.ts == clicked.ts) {
            thread.clear();
        }
    }

    // Every message of the channel within the window (`to` is exclusive: +1 keeps it inclusive).
    let window = messages::visible_in_channel(
        &ctx.db,
        team_id,
        user_id,
        channel_id,
        clicked_at - WINDOW_SECS,
        clicked_at + WINDOW_SECS + 1,
    )
    .await?;
    let in_thread: HashSet<&str> = thread.iter().map(|m| m.ts.as_str()).collect();
    let mut neighbours: Vec<Message> = window
        .into_iter()
        .filter(|m| m.ts != clicked.ts && !in_thread.contains(m.ts.as_str()))
        .collect();
    if neighbours.len() > MAX_NEIGHBOURS {
        neighbours.sort_by_key(|m| (m.posted_at - clicked.posted_at).abs());
        neighbours.truncate(MAX_NEIGHBOURS);
        neighbours.sort_by(|a, b| a.posted_at.cmp(&b.posted_at).then(a.ts.cmp(&b.ts)));
    }

    let mut reply_parents = BTreeMap::new();
    for m in std::iter::once(&clicked).chain(&thread).chain(&neighbours) {
        if let Some(parent) = &m.thread_ts
            && parent != &m.ts
        {
            reply_parents.insert(m.ts.clone(), parent.clone());
        }
    }

    let channel = ChannelInfo {
        id: channel_id.clone(),
        name: channel_label(ctx, team_id, channel_id).await,
    };
    let (reader, utc_offset_secs) = reader(ctx, team_id, user_id, &thread, &neighbours).await?;
    let profile = profile::load_profile(&ctx.db, team_id, user_id, HalfLife::default()).await?;
    let interests = profile
        .top(INTERESTS, now())
        .into_iter()
        .filter(|(_, score)| *score > 0.0)
        .map(|(name, _)| name)
        .collect();
    let members = dir::members(&ctx.db, team_id, channel_id).await?;
    let mut known_people: Vec<String> = dir::user_names(&ctx.db, team_id, &members)
        .await?
        .into_values()
        .collect();
    known_people.sort();

    let mut conversation = Conversation {
        channel,
        clicked: ChatMessage::from(&clicked),
        thread: to_chat(&thread),
        neighbours: to_chat(&neighbours),
        reply_parents,
        reader,
        interests,
        utc_offset_secs,
        known_people,
        fetched,
        propositions: vec![],
    };
    conversation.propositions = crate::features::propositions::of_messages(
        ctx,
        team_id,
        &conversation.channel,
        &conversation.all_messages(),
        &conversation.known_people,
        utc_offset_secs,
    )
    .await?;
    Ok(Gathered::Ready(Box::new(conversation)))
}

/// Normalises a locale (`fr-FR`, `de_CH`) to a two-letter language code.
fn language_of(locale: &str) -> Option<String> {
    let code: String = locale.split(['-', '_']).next()?.trim().to_ascii_lowercase();
    (code.len() == 2 && code.chars().all(|c| c.is_ascii_lowercase())).then_some(code)
}

/// The reader: their names, their language (their setting, else their Slack locale, else the
/// language they write in, else English) and their UTC offset.
async fn reader(
    ctx: &Context,
    team_id: &str,
    user_id: &str,
    thread: &[Message],
    neighbours: &[Message],
) -> Result<(Reader, i32), ExplainError> {
    let user = dir::get_user(&ctx.db, team_id, user_id).await?;
    let settings = profile::get_settings(&ctx.db, team_id, user_id).await?;
    let mut language = settings
        .language
        .as_deref()
        .and_then(language_of)
        .or_else(|| {
            user.as_ref()
                .and_then(|u| u.locale.as_deref())
                .and_then(language_of)
        });
    if language.is_none() {
        // The language they write in: their own messages in this context, else recently.
        let mut own: Vec<String> = thread
            .iter()
            .chain(neighbours)
            .filter(|m| m.user_id.as_deref() == Some(user_id))
            .map(|m| m.text.clone())
            .collect();
        if own.is_empty() {
            let recent =
                messages::visible_to(&ctx.db, team_id, user_id, now() - 30 * 86_400, now() + 1)
                    .await?;
            own = recent
                .into_iter()
                .rev()
                .filter(|m| m.user_id.as_deref() == Some(user_id))
                .take(50)
                .map(|m| m.text)
                .collect();
        }
        language = lang::detect(&own.join("\n")).map(|l| l.code().to_string());
    }
    let name = user
        .as_ref()
        .and_then(|u| u.shown_name().map(str::to_string))
        .unwrap_or_else(|| user_id.to_string());
    let mut aliases: Vec<String> = Vec::new();
    if let Some(u) = &user {
        for n in [&u.real_name, &u.name, &u.display_name]
            .into_iter()
            .flatten()
        {
            let n = n.trim();
            if !n.is_empty() && n != name && !aliases.iter().any(|a| a == n) {
                aliases.push(n.to_string());
            }
        }
        if let Some(first) = u
            .real_name
            .as_deref()
            .and_then(|r| r.split_whitespace().next())
            && first != name
            && first.chars().count() > 1
            && !aliases.iter().any(|a| a == first)
        {
            aliases.push(first.to_string());
        }
    }
    let offset = user
        .as_ref()
        .and_then(|u| u.tz_offset)
        .and_then(|o| i32::try_from(o).ok())
        .unwrap_or(0);
    Ok((
        Reader {
            id: user_id.to_string(),
            name,
            aliases,
            language: language.unwrap_or_else(|| "en".to_string()),
        },
        offset,
    ))
}

#[cfg(test)]
mod tests {
    use super::language_of;

    #[test]
    fn locales_become_language_codes() {
        assert_eq!(language_of("fr-FR").as_deref(), Some("fr"));
        assert_eq!(language_of("de_CH").as_deref(), Some("de"));
        assert_eq!(language_of("en").as_deref(), Some("en"));
        assert_eq!(language_of("").as_deref(), None);
        assert_eq!(language_of("zzz-1").as_deref(), None);
    }
}
