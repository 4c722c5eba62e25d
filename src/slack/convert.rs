//! Events API envelopes (and the message objects of history pages and exports) → domain events.
//!
//! Slack's payloads vary a lot (legacy fields, numbers sent as strings, blank skeleton values,
//! fields added every year), so they are read through tolerant structs: every field defaults, every
//! scalar accepts what it can and ignores the rest, and unknown fields are ignored. A payload is
//! never rejected for its shape: what cannot be used is skipped with a reason, and unknown event
//! types are logged and skipped.
//!
//! The same [`message_from_json`] reads a message whether it came from an event, a
//! `conversations.history` page or an export file, so the three paths store the same thing.

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use tracing::{debug, info};

use crate::model::domain::ts_to_epoch;
use crate::model::events::{Channel, DomainEvent, PostedMessage, User};
use crate::slack::markup::{self, Names, Refs};

/// chief's own identity in a workspace: its messages are never stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BotIdentity {
    pub user_id: Option<String>,
    pub bot_id: Option<String>,
}

/// How to convert.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options<'a> {
    /// chief's bot in this workspace, when known.
    pub bot: Option<&'a BotIdentity>,
    /// Store other bots' messages too (`CHIEF_INGEST_BOT_MESSAGES`).
    pub ingest_bot_messages: bool,
}

/// Why a message is not stored.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Skip {
    /// A subtype that is not conversation (joins, topic changes, pins…).
    Noise(String),
    /// chief's own message.
    OwnMessage,
    /// Another bot's or integration's message (`CHIEF_INGEST_BOT_MESSAGES` is off).
    BotMessage,
    /// Direct and group-direct messages are never stored.
    DirectMessage,
    /// A required field is missing or blank.
    Incomplete(&'static str),
    /// No text, no file, nothing to read.
    Empty,
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::Noise(subtype) => write!(f, "subtype {subtype}"),
            Skip::OwnMessage => f.write_str("chief's own message"),
            Skip::BotMessage => f.write_str("bot message"),
            Skip::DirectMessage => f.write_str("direct message"),
            Skip::Incomplete(field) => write!(f, "missing {field}"),
            Skip::Empty => f.write_str("no text"),
        }
    }
}

/// Message subtypes that are conversation. Everything else (`channel_join`, `channel_leave`,
/// `channel_topic`, `channel_purpose`, `channel_name`, `channel_archive`, `pinned_item`,
/// `bot_add`, `tombstone`, `message_replied`…) is noise for the store.
pub const CONTENT_SUBTYPES: &[&str] = &[
    "thread_broadcast",
    "reply_broadcast",
    "file_share",
    "file_comment",
    "me_message",
    "bot_message",
];

// ---- tolerant field readers -------------------------------------------------------------------

/// A string, or a number as text; blank and anything else → `None`.
fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) if !s.trim().is_empty() => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// An integer, a float, or either as a string; anything else → `None`.
fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .ok()
            .or_else(|| s.trim().parse::<f64>().ok().map(|f| f as i64)),
        _ => None,
    })
}

/// `true`, `1` or `"true"`; anything else → `false`.
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::Number(n) => n.as_i64().is_some_and(|n| n != 0),
        Value::String(s) => matches!(s.as_str(), "true" | "1"),
        _ => false,
    })
}

/// A message object: the union of what events, history pages and exports carry.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawMessage {
    #[serde(deserialize_with = "opt_string")]
    subtype: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    ts: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    thread_ts: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    user: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    bot_id: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    text: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    channel: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    channel_type: Option<String>,
    #[serde(deserialize_with = "opt_i64")]
    reply_count: Option<i64>,
    blocks: Value,
    attachments: Value,
    files: Value,
    file: Value,
    reactions: Value,
    edited: Value,
    comment: Value,
}

impl RawMessage {
    fn read(value: &Value) -> RawMessage {
        // Tolerant by construction; a non-object (or a shape serde still refuses) reads as blank.
        RawMessage::deserialize(value).unwrap_or_default()
    }
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The trimmed, non-empty string at `path`: how every Slack answer and event is read (one
/// reader for the Web API client and the events).
pub fn text_at(value: &Value, path: &[&str]) -> Option<String> {
    str_at(value, path).map(str::to_string)
}

/// The non-empty strings of the array at `path` (user ids of members and reactions).
pub fn strings_at(value: &Value, path: &[&str]) -> Vec<String> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// A Slack timestamp's epoch seconds, if it is a plausible one.
fn epoch(ts: &str) -> Option<i64> {
    ts_to_epoch(ts).filter(|s| (0..100_000_000_000).contains(s))
}

fn is_direct(channel_id: &str, channel_type: Option<&str>) -> bool {
    matches!(channel_type, Some("im" | "mpim" | "app_home")) || channel_id.starts_with('D')
}

/// Reads one message object into a [`PostedMessage`], or says why it is not stored.
///
/// `channel_id` is where it was posted (events and history pages say it beside the message; an
/// export says it by folder).
pub fn message_from_json(
    value: &Value,
    channel_id: &str,
    options: &Options<'_>,
    names: &dyn Names,
) -> Result<PostedMessage, Skip> {
    let raw = RawMessage::read(value);
    if channel_id.trim().is_empty() {
        return Err(Skip::Incomplete("channel"));
    }
    if is_direct(channel_id, raw.channel_type.as_deref()) {
        return Err(Skip::DirectMessage);
    }
    let ts = raw.ts.clone().ok_or(Skip::Incomplete("ts"))?;
    let posted_at = epoch(&ts).ok_or(Skip::Incomplete("ts"))?;
    if let Some(subtype) = raw.subtype.as_deref()
        && !CONTENT_SUBTYPES.contains(&subtype)
    {
        return Err(Skip::Noise(subtype.to_string()));
    }
    // Legacy file comments name their author inside the comment.
    let user_id = raw
        .user
        .clone()
        .or_else(|| text_at(&raw.comment, &["user"]));
    if let Some(bot) = options.bot {
        let own_user = bot.user_id.is_some() && bot.user_id == user_id;
        let own_bot = bot.bot_id.is_some() && bot.bot_id == raw.bot_id;
        if own_user || own_bot {
            return Err(Skip::OwnMessage);
        }
    }
    let is_bot = raw.bot_id.is_some()
        || raw.subtype.as_deref() == Some("bot_message")
        || user_id.as_deref() == Some("USLACKBOT");
    if is_bot && !options.ingest_bot_messages {
        return Err(Skip::BotMessage);
    }

    let mrkdwn = match raw.subtype.as_deref() {
        Some("file_comment") => text_at(&raw.comment, &["comment"]).or_else(|| raw.text.clone()),
        _ => raw.text.clone(),
    }
    .unwrap_or_default();
    let mut text = markup::message_to_plain(&mrkdwn, &raw.blocks, names);
    if text.is_empty() {
        text = attachments_text(&raw.attachments, names);
    }
    let files = file_titles(&raw.files, &raw.file);
    if text.is_empty() && !files.is_empty() {
        text = files
            .iter()
            .map(|f| format!("[file: {f}]"))
            .collect::<Vec<_>>()
            .join("\n");
    }
    if text.is_empty() {
        return Err(Skip::Empty);
    }
    let mentions = markup::message_refs(&mrkdwn, &raw.blocks)
        .users
        .into_iter()
        .collect();
    let edited_at = str_at(&raw.edited, &["ts"]).and_then(epoch);
    let channel_private = match raw.channel_type.as_deref() {
        Some("group" | "private_channel") => Some(true),
        Some("channel" | "public_channel") => Some(false),
        _ => None,
    };
    Ok(PostedMessage {
        channel_id: channel_id.to_string(),
        ts,
        thread_ts: raw.thread_ts,
        user_id,
        bot_id: raw.bot_id,
        subtype: raw.subtype,
        text,
        mentions,
        posted_at,
        edited_at,
        reply_count: raw.reply_count,
        channel_private,
        reactions: reactions(&raw.reactions),
    })
}

/// The ids a message object refers to (author and mentions): what to load before converting it.
pub fn message_refs(value: &Value) -> Refs {
    let raw = RawMessage::read(value);
    let mut refs = markup::message_refs(raw.text.as_deref().unwrap_or(""), &raw.blocks);
    if let Some(user) = raw.user.or_else(|| text_at(&raw.comment, &["user"])) {
        refs.users.insert(user);
    }
    refs
}

fn attachments_text(attachments: &Value, names: &dyn Names) -> String {
    let parts: Vec<String> = attachments
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let pieces: Vec<&str> = ["pretext", "title", "text"]
                .iter()
                .filter_map(|k| str_at(a, &[k]))
                .collect();
            let raw = if pieces.is_empty() {
                str_at(a, &["fallback"])?.to_string()
            } else {
                pieces.join("\n")
            };
            Some(markup::mrkdwn_to_plain(&raw, names))
        })
        .collect();
    parts.join("\n").trim().to_string()
}

fn file_titles(files: &Value, file: &Value) -> Vec<String> {
    files
        .as_array()
        .into_iter()
        .flatten()
        .chain(std::iter::once(file).filter(|f| f.is_object()))
        .filter_map(|f| str_at(f, &["title"]).or_else(|| str_at(f, &["name"])))
        .map(str::to_string)
        .collect()
}

fn reactions(value: &Value) -> Vec<(String, Vec<String>)> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let name = text_at(r, &["name"])?;
            Some((name, strings_at(r, &["users"])))
        })
        .collect()
}

/// A user object (users.info, user_change, users.json) as a directory entry.
pub fn user_from_json(value: &Value) -> Option<User> {
    #[derive(Default, Deserialize)]
    #[serde(default)]
    struct RawProfile {
        #[serde(deserialize_with = "opt_string")]
        display_name: Option<String>,
        #[serde(deserialize_with = "opt_string")]
        real_name: Option<String>,
    }
    #[derive(Default, Deserialize)]
    #[serde(default)]
    struct RawUser {
        #[serde(deserialize_with = "opt_string")]
        id: Option<String>,
        #[serde(deserialize_with = "opt_string")]
        name: Option<String>,
        #[serde(deserialize_with = "opt_string")]
        real_name: Option<String>,
        #[serde(deserialize_with = "opt_string")]
        tz: Option<String>,
        #[serde(deserialize_with = "opt_i64")]
        tz_offset: Option<i64>,
        #[serde(deserialize_with = "opt_string")]
        locale: Option<String>,
        #[serde(deserialize_with = "flag")]
        is_bot: bool,
        #[serde(deserialize_with = "flag")]
        deleted: bool,
        profile: Option<Value>,
    }
    let raw = RawUser::deserialize(value).ok()?;
    let profile = raw
        .profile
        .as_ref()
        .and_then(|p| RawProfile::deserialize(p).ok())
        .unwrap_or_default();
    let is_slackbot = raw.id.as_deref() == Some("USLACKBOT");
    Some(User {
        user_id: raw.id?,
        name: raw.name,
        display_name: profile.display_name,
        real_name: raw.real_name.or(profile.real_name),
        tz: raw.tz,
        tz_offset: raw.tz_offset,
        locale: raw.locale,
        is_bot: raw.is_bot || is_slackbot,
        deleted: raw.deleted,
    })
}

/// A conversation object (conversations.info, users.conversations, an export's channels.json)
/// as a directory entry, with whether chief's bot is in it.
pub fn channel_from_json(value: &Value) -> Option<(Channel, bool)> {
    #[derive(Default, Deserialize)]
    #[serde(default)]
    struct RawChannel {
        #[serde(deserialize_with = "opt_string")]
        id: Option<String>,
        #[serde(deserialize_with = "opt_string")]
        name: Option<String>,
        #[serde(deserialize_with = "flag")]
        is_private: bool,
        #[serde(deserialize_with = "flag")]
        is_group: bool,
        #[serde(deserialize_with = "flag")]
        is_im: bool,
        #[serde(deserialize_with = "flag")]
        is_mpim: bool,
        #[serde(deserialize_with = "flag")]
        is_archived: bool,
        #[serde(deserialize_with = "flag")]
        is_member: bool,
    }
    let raw = RawChannel::deserialize(value).ok()?;
    let id = raw.id?;
    let channel = Channel {
        is_im: raw.is_im || id.starts_with('D'),
        channel_id: id,
        name: raw.name,
        is_private: raw.is_private || raw.is_group,
        is_mpim: raw.is_mpim,
        is_archived: raw.is_archived,
    };
    Some((channel, raw.is_member))
}

/// The Events API envelope, as far as conversion needs it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawEnvelope {
    #[serde(deserialize_with = "opt_i64")]
    event_time: Option<i64>,
    event: Value,
}

/// The team an envelope is about (`team_id`, else the event's `team`).
pub fn envelope_team(envelope: &Value) -> Option<String> {
    text_at(envelope, &["team_id"]).or_else(|| text_at(envelope, &["event", "team"]))
}

/// The ids an envelope refers to: authors, mentions, reacting and joining users, channels.
pub fn envelope_refs(envelope: &Value) -> Refs {
    let event = envelope.get("event").unwrap_or(&Value::Null);
    let mut refs = Refs::default();
    match str_at(event, &["type"]) {
        Some("message") => {
            let message = match str_at(event, &["subtype"]) {
                Some("message_changed") => event.get("message").unwrap_or(&Value::Null),
                _ => event,
            };
            refs.extend(message_refs(message));
        }
        Some("reaction_added" | "reaction_removed" | "member_joined_channel") => {
            if let Some(user) = text_at(event, &["user"]) {
                refs.users.insert(user);
            }
        }
        _ => {}
    }
    if let Some(channel) =
        text_at(event, &["channel"]).or_else(|| text_at(event, &["item", "channel"]))
    {
        refs.channels.insert(channel);
    }
    refs
}

/// Converts a stored Events API envelope (`event_callback`) into domain events. Unknown and
/// unusable events give none (logged at debug level); nothing here fails.
pub fn convert(envelope: &Value, options: &Options<'_>, names: &dyn Names) -> Vec<DomainEvent> {
    let raw = RawEnvelope::deserialize(envelope).unwrap_or_default();
    let event = &raw.event;
    let kind = str_at(event, &["type"]).unwrap_or("");
    let event_ts = str_at(event, &["event_ts"]).and_then(epoch);
    let at = raw
        .event_time
        .filter(|t| *t > 0)
        .or(event_ts)
        .unwrap_or_else(crate::platform::db::now);
    let channel = || text_at(event, &["channel"]);
    let user = || text_at(event, &["user"]);
    match kind {
        "message" => message_event(event, options, names),
        "reaction_added" | "reaction_removed" => {
            let item = event.get("item").unwrap_or(&Value::Null);
            match (
                str_at(item, &["type"]),
                text_at(item, &["channel"]),
                text_at(item, &["ts"]),
                user(),
                text_at(event, &["reaction"]),
            ) {
                (
                    Some("message"),
                    Some(channel_id),
                    Some(message_ts),
                    Some(user_id),
                    Some(reaction),
                ) if !is_direct(&channel_id, None) => {
                    if kind == "reaction_added" {
                        vec![
                            DomainEvent::ReactionAdded {
                                channel_id,
                                message_ts,
                                user_id: user_id.clone(),
                                reaction,
                                at,
                            },
                            DomainEvent::UserBecameActive { user_id, at },
                        ]
                    } else {
                        vec![DomainEvent::ReactionRemoved {
                            channel_id,
                            message_ts,
                            user_id,
                            reaction,
                        }]
                    }
                }
                _ => Vec::new(),
            }
        }
        "member_joined_channel" | "member_left_channel" => match (channel(), user()) {
            (Some(channel_id), Some(user_id)) if !is_direct(&channel_id, None) => {
                if kind == "member_joined_channel" {
                    vec![DomainEvent::MemberJoinedChannel {
                        channel_id,
                        user_id,
                    }]
                } else {
                    vec![DomainEvent::MemberLeftChannel {
                        channel_id,
                        user_id,
                    }]
                }
            }
            _ => Vec::new(),
        },
        // Sent to chief itself when it is removed from a channel.
        "channel_left" | "group_left" => {
            match (channel(), options.bot.and_then(|b| b.user_id.clone())) {
                (Some(channel_id), Some(user_id)) => {
                    vec![DomainEvent::MemberLeftChannel {
                        channel_id,
                        user_id,
                    }]
                }
                _ => Vec::new(),
            }
        }
        "channel_rename" | "group_rename" => match (
            text_at(event, &["channel", "id"]),
            text_at(event, &["channel", "name"]),
        ) {
            (Some(channel_id), Some(name)) => {
                vec![DomainEvent::ChannelRenamed { channel_id, name }]
            }
            _ => Vec::new(),
        },
        "channel_archive" | "group_archive" => channel()
            .map(|channel_id| DomainEvent::ChannelArchived { channel_id })
            .into_iter()
            .collect(),
        "channel_unarchive" | "group_unarchive" => channel()
            .map(|channel_id| DomainEvent::ChannelUnarchived { channel_id })
            .into_iter()
            .collect(),
        "channel_deleted" | "group_deleted" => channel()
            .map(|channel_id| DomainEvent::ChannelDeleted { channel_id })
            .into_iter()
            .collect(),
        "user_change" | "team_join" => event
            .get("user")
            .and_then(user_from_json)
            .map(DomainEvent::UserUpdated)
            .into_iter()
            .collect(),
        "app_home_opened" => user()
            .map(|user_id| DomainEvent::UserBecameActive { user_id, at })
            .into_iter()
            .collect(),
        "app_uninstalled" => vec![DomainEvent::AppUninstalled],
        "tokens_revoked" => {
            // `tokens.bot` lists the revoked bot tokens' users; a payload without the list is
            // taken as revoking everything.
            let bot = match event.get("tokens").and_then(|t| t.get("bot")) {
                Some(Value::Array(users)) => !users.is_empty(),
                _ => true,
            };
            vec![DomainEvent::TokensRevoked { bot }]
        }
        // The message event of the same mention carries everything.
        "app_mention" => Vec::new(),
        other => {
            info!(event_type = other, "event type not ingested; skipped");
            Vec::new()
        }
    }
}

fn message_event(event: &Value, options: &Options<'_>, names: &dyn Names) -> Vec<DomainEvent> {
    let Some(channel_id) = text_at(event, &["channel"]) else {
        return Vec::new();
    };
    let channel_type = str_at(event, &["channel_type"]);
    if is_direct(&channel_id, channel_type) {
        debug!("direct message not stored");
        return Vec::new();
    }
    match str_at(event, &["subtype"]) {
        Some("message_deleted") => {
            match text_at(event, &["deleted_ts"])
                .or_else(|| text_at(event, &["previous_message", "ts"]))
            {
                Some(ts) => vec![DomainEvent::MessageDeleted { channel_id, ts }],
                None => Vec::new(),
            }
        }
        Some("message_changed") => {
            let Some(message) = event.get("message") else {
                return Vec::new();
            };
            let Some(ts) = text_at(message, &["ts"]) else {
                return Vec::new();
            };
            // A deleted thread parent stays as a tombstone: for chief it is deleted.
            if str_at(message, &["subtype"]) == Some("tombstone") {
                return vec![DomainEvent::MessageDeleted { channel_id, ts }];
            }
            // Reply counts and unfurls also arrive as message_changed; only a real edit matters.
            let edited = message.get("edited").is_some_and(Value::is_object);
            let previous_text = str_at(event, &["previous_message", "text"]);
            if !edited && previous_text == str_at(message, &["text"]) {
                debug!("message_changed without an edit");
                return Vec::new();
            }
            let mut inner = message.clone();
            if let (Some(obj), Some(kind)) = (inner.as_object_mut(), channel_type) {
                obj.entry("channel_type")
                    .or_insert_with(|| Value::String(kind.to_string()));
            }
            match message_from_json(&inner, &channel_id, options, names) {
                Ok(mut m) => {
                    if m.edited_at.is_none() {
                        m.edited_at = str_at(event, &["ts"]).and_then(epoch);
                    }
                    vec![DomainEvent::MessageEdited(m)]
                }
                Err(skip) => {
                    debug!(%skip, "edit not stored");
                    Vec::new()
                }
            }
        }
        _ => match message_from_json(event, &channel_id, options, names) {
            Ok(m) => {
                let active = m
                    .user_id
                    .clone()
                    .filter(|_| m.bot_id.is_none())
                    .map(|user_id| DomainEvent::UserBecameActive {
                        user_id,
                        at: m.posted_at,
                    });
                std::iter::once(DomainEvent::MessagePosted(m))
                    .chain(active)
                    .collect()
            }
            Err(skip) => {
                debug!(%skip, "message not stored");
                Vec::new()
            }
        },
    }
}

/// The user whose Home tab was just opened, when the envelope is an `app_home_opened` for the Home
/// tab (not the Messages tab).
pub fn home_opened(payload: &Value) -> Option<String> {
    let event = payload.get("event")?;
    let text = |k: &str| event.get(k).and_then(Value::as_str);
    if text("type") != Some("app_home_opened") || text("tab").is_some_and(|t| t != "home") {
        return None;
    }
    text("user").map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slack::markup::{NameMap, NoNames};
    use serde_json::json;

    const SERIALIZATION: &str =
        "/work/shared/fixtures/payloads/abbot/tests/Abbot.Web.Library.Tests/Serialization";

    fn abbot(name: &str) -> Value {
        serde_json::from_str(&std::fs::read_to_string(format!("{SERIALIZATION}/{name}")).unwrap())
            .unwrap()
    }

    fn convert_plain(envelope: &Value) -> Vec<DomainEvent> {
        convert(envelope, &Options::default(), &NoNames)
    }

    #[test]
    fn a_user_message_is_posted_and_marks_the_user_active() {
        let events = convert_plain(&abbot("message.json"));
        let [
            DomainEvent::MessagePosted(m),
            DomainEvent::UserBecameActive { user_id, at },
        ] = events.as_slice()
        else {
            panic!("unexpected {events:?}");
        };
        assert_eq!(m.channel_id, "C01A3DGTSP9");
        assert_eq!(m.ts, "1640027021.060900");
        assert_eq!(m.user_id.as_deref(), Some("U012LKJFG0P"));
        assert_eq!(m.posted_at, 1640027021);
        assert_eq!(m.channel_private, Some(false));
        assert!(m.text.starts_with(".ping testing\n1. rich"));
        assert_eq!(user_id, "U012LKJFG0P");
        assert_eq!(*at, 1640027021);
    }

    #[test]
    fn edits_carry_the_new_text() {
        let events = convert_plain(&abbot("message.message_changed.json"));
        let [DomainEvent::MessageEdited(m)] = events.as_slice() else {
            panic!("unexpected {events:?}");
        };
        assert_eq!(m.ts, "1656728353.239749");
        assert_eq!(m.channel_id, "C50000000");
        assert!(m.text.contains("you all are wonderful people"));
        assert_eq!(m.edited_at, Some(1657199914));
    }

    #[test]
    fn deletions_and_tombstones_delete() {
        assert_eq!(
            convert_plain(&abbot("message.message_deleted.json")),
            vec![DomainEvent::MessageDeleted {
                channel_id: "C50000000".into(),
                ts: "1656696554.844419".into()
            }]
        );
        assert_eq!(
            convert_plain(&abbot("message.message_changed.deleted.json")),
            vec![DomainEvent::MessageDeleted {
                channel_id: "C50000000".into(),
                ts: "1652889358.377929".into()
            }]
        );
    }

    #[test]
    fn broadcasts_and_file_shares_are_content() {
        let events = convert_plain(&abbot("message.thread_broadcast.json"));
        assert!(
            matches!(&events[0], DomainEvent::MessagePosted(m) if m.subtype.as_deref() == Some("thread_broadcast"))
        );
        let events = convert_plain(&abbot("message.file_share.json"));
        let DomainEvent::MessagePosted(m) = &events[0] else {
            panic!("unexpected {events:?}");
        };
        assert_eq!(m.text, "Or this?");
        assert_eq!(m.thread_ts.as_deref(), Some("1662478672.153039"));
        assert!(m.is_reply());
    }

    #[test]
    fn bots_are_skipped_unless_asked_and_chief_always() {
        let envelope = abbot("message.bot_message.json");
        assert!(convert_plain(&envelope).is_empty());
        let with_bots = Options {
            bot: None,
            ingest_bot_messages: true,
        };
        let events = convert(&envelope, &with_bots, &NoNames);
        assert!(
            matches!(&events[..], [DomainEvent::MessagePosted(m)] if m.bot_id.as_deref() == Some("B01U63BS0EL")),
            "a bot message marks no user active: {events:?}"
        );
        let me = BotIdentity {
            user_id: None,
            bot_id: Some("B01U63BS0EL".into()),
        };
        let own = Options {
            bot: Some(&me),
            ingest_bot_messages: true,
        };
        assert!(convert(&envelope, &own, &NoNames).is_empty());
    }

    #[test]
    fn noise_subtypes_become_no_message() {
        let skip = message_from_json(
            &abbot("message.channel_name.json")["event"],
            "C03FA1UBU20",
            &Options::default(),
            &NoNames,
        );
        assert_eq!(skip, Err(Skip::Noise("channel_name".into())));
        assert!(convert_plain(&abbot("message.channel_name.json")).is_empty());
    }

    #[test]
    fn reactions_members_and_lifecycle() {
        let events = convert_plain(&abbot("reaction_added.json"));
        assert!(
            matches!(&events[0], DomainEvent::ReactionAdded { reaction, message_ts, .. } if reaction == "eyes" && message_ts == "1644779732.750289")
        );
        assert!(matches!(
            &convert_plain(&abbot("reaction_removed.json"))[..],
            [DomainEvent::ReactionRemoved { .. }]
        ));
        assert_eq!(
            convert_plain(&abbot("member_joined_channel.json")),
            vec![DomainEvent::MemberJoinedChannel {
                channel_id: "C0343M2HF5J".into(),
                user_id: "U02NU2HM11B".into()
            }]
        );
        assert_eq!(
            convert_plain(&abbot("member_left_channel.json")),
            vec![DomainEvent::MemberLeftChannel {
                channel_id: "C0343M2HF5J".into(),
                user_id: "U02NU2HM11B".into()
            }]
        );
        assert_eq!(
            convert_plain(&abbot("channel_rename.json")),
            vec![DomainEvent::ChannelRenamed {
                channel_id: "C02MEN6N1EW".into(),
                name: "anurse-playground-2".into()
            }]
        );
        assert_eq!(
            convert_plain(&abbot("app_uninstalled.json")),
            vec![DomainEvent::AppUninstalled]
        );
        assert_eq!(
            convert_plain(&abbot("tokens_revoked.json")),
            vec![DomainEvent::TokensRevoked { bot: true }]
        );
        assert!(matches!(
            &convert_plain(&abbot("app_home_opened.json"))[..],
            [DomainEvent::UserBecameActive { user_id, .. }] if user_id == "U061F7AUR"
        ));
        assert!(matches!(
            &convert_plain(&abbot("user_change.json"))[..],
            [DomainEvent::UserUpdated(u)] if !u.user_id.is_empty()
        ));
        assert!(convert_plain(&abbot("unknown_event.json")).is_empty());
        assert!(convert_plain(&abbot("channel_lifecycle_event.json")).is_empty());
    }

    #[test]
    fn direct_messages_are_never_converted() {
        let im = json!({"type": "event_callback", "team_id": "T1", "event": {
            "type": "message", "channel": "D123", "channel_type": "im", "user": "U1",
            "text": "secret", "ts": "1700000000.000100"}});
        assert!(convert_plain(&im).is_empty());
        let mpim = json!({"type": "event_callback", "team_id": "T1", "event": {
            "type": "message", "channel": "G123", "channel_type": "mpim", "user": "U1",
            "text": "secret", "ts": "1700000000.000100"}});
        assert!(convert_plain(&mpim).is_empty());
    }

    #[test]
    fn mentions_are_resolved_with_the_given_names() {
        let mut names = NameMap::default();
        names.users.insert("U074VRHQ11T".into(), "Ada".into());
        let envelope: Value = serde_json::from_str(
            &std::fs::read_to_string(
                "/work/shared/fixtures/payloads/zulip/zerver/webhooks/slack/fixtures/message_with_user_mentions.json",
            )
            .unwrap(),
        )
        .unwrap();
        let refs = envelope_refs(&envelope);
        assert!(refs.users.contains("U074VRHQ11T") && refs.users.contains("U06NU4E26M9"));
        assert!(refs.channels.contains("C06NRA6JLER"));
        let events = convert(&envelope, &Options::default(), &names);
        let DomainEvent::MessagePosted(m) = &events[0] else {
            panic!("unexpected {events:?}");
        };
        assert!(m.text.starts_with("@Ada @U074G5E1ANR"));
        assert_eq!(m.mentions.len(), 3);
    }

    #[test]
    fn strings_for_numbers_and_blank_skeletons_are_tolerated() {
        // abbot's "invalid-json" sends event_time as a string.
        assert_eq!(convert_plain(&abbot("message.invalid-json.json")).len(), 2);
        let skeleton = json!({"type": "event_callback", "event": {
            "type": "message", "channel": "", "user": "", "ts": "", "text": 123,
            "reply_count": "7", "blocks": "not blocks", "edited": 5}});
        assert!(convert_plain(&skeleton).is_empty());
        let history = json!({"type": "message", "user": "U1", "text": "hi", "ts": 1700000000.5,
            "reply_count": "3", "blocks": {"odd": true}});
        let m = message_from_json(&history, "C1", &Options::default(), &NoNames).unwrap();
        assert_eq!(m.reply_count, Some(3));
        assert_eq!(m.posted_at, 1700000000);
    }

    /// Every real payload in the fixtures converts without a panic, whatever its type.
    #[test]
    fn every_fixture_payload_converts_without_panicking() {
        fn walk(dir: &std::path::Path, files: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, files);
                } else if path.extension().is_some_and(|e| e == "json") {
                    files.push(path);
                }
            }
        }
        let mut files = Vec::new();
        for dir in [
            "abbot",
            "omnibot",
            "zulip",
            "squarebot",
            "slack-morphism",
            "java-slack-sdk-skeletons",
        ] {
            walk(
                &std::path::Path::new("/work/shared/fixtures/payloads").join(dir),
                &mut files,
            );
        }
        assert!(files.len() > 150, "fixtures found: {}", files.len());
        let me = BotIdentity {
            user_id: Some("U01TG976JSW".into()),
            bot_id: Some("B0".into()),
        };
        let mut converted = 0;
        for path in &files {
            let Ok(value) = serde_json::from_str::<Value>(&std::fs::read_to_string(path).unwrap())
            else {
                continue;
            };
            for ingest_bot_messages in [false, true] {
                let options = Options {
                    bot: Some(&me),
                    ingest_bot_messages,
                };
                converted += convert(&value, &options, &NoNames).len();
                let _ = envelope_refs(&value);
                let _ = envelope_team(&value);
                // History pages hold message arrays: read them as messages too.
                for message in value
                    .get("messages")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let _ = message_from_json(message, "C1", &options, &NoNames);
                }
                if let Some(user) = value.get("user") {
                    let _ = user_from_json(user);
                }
            }
        }
        assert!(converted > 20, "only {converted} events from the fixtures");
    }
}
