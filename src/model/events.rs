//! Domain events: what happened in a workspace, in chief's words, with no Slack types.
//!
//! The Slack edge (`slack::convert`) turns Events API envelopes into these; the inbox handler stores
//! their effect and appends them to the internal bus (`bus`), where agents subscribe by
//! [`EventKind`]. Text in them is already plain (see `text`), mentions resolved to names.

use serde::{Deserialize, Serialize};

/// A message as it arrives: plain text, ready to store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostedMessage {
    pub channel_id: String,
    /// Slack's message timestamp, unique within the channel.
    pub ts: String,
    /// The thread parent's ts for a reply (and for a parent that has replies).
    #[serde(default)]
    pub thread_ts: Option<String>,
    /// The author; `None` for some legacy bot/integration messages.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Set for messages posted by an app or integration.
    #[serde(default)]
    pub bot_id: Option<String>,
    /// Slack's subtype when it is content (`thread_broadcast`, `file_share`, `me_message`…).
    #[serde(default)]
    pub subtype: Option<String>,
    /// Plain text: mrkdwn and rich_text flattened, mentions resolved to names, links kept.
    pub text: String,
    /// User ids mentioned in the message.
    #[serde(default)]
    pub mentions: Vec<String>,
    /// Seconds since the epoch, from `ts`.
    pub posted_at: i64,
    /// When it was last edited (epoch seconds), if ever.
    #[serde(default)]
    pub edited_at: Option<i64>,
    /// Replies Slack reports for a thread parent (history and exports carry it).
    #[serde(default)]
    pub reply_count: Option<i64>,
    /// Whether the channel is private, when the event says so (`channel_type`).
    #[serde(default)]
    pub channel_private: Option<bool>,
    /// Reactions carried by the message itself (history and exports): (name, user ids).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<(String, Vec<String>)>,
}

impl PostedMessage {
    /// A reply in a thread (not the parent).
    pub fn is_reply(&self) -> bool {
        self.thread_ts.as_deref().is_some_and(|t| t != self.ts)
    }
}

/// A person of the workspace, as the directory keeps them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub user_id: String,
    /// The handle (`name`).
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub real_name: Option<String>,
    /// IANA zone (`America/New_York`).
    pub tz: Option<String>,
    /// Seconds east of UTC.
    pub tz_offset: Option<i64>,
    pub locale: Option<String>,
    pub is_bot: bool,
    pub deleted: bool,
}

impl User {
    /// The name people see: display name, else real name, else handle.
    pub fn shown_name(&self) -> Option<&str> {
        [&self.display_name, &self.real_name, &self.name]
            .into_iter()
            .flatten()
            .map(|s| s.trim())
            .find(|s| !s.is_empty())
    }
}

/// A conversation, as the directory keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub channel_id: String,
    pub name: Option<String>,
    pub is_private: bool,
    pub is_im: bool,
    pub is_mpim: bool,
    pub is_archived: bool,
}

/// Something that happened in a workspace. Serialised (tagged by `kind`) into the bus.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DomainEvent {
    /// A new message (including thread broadcasts and file shares with their text).
    MessagePosted(PostedMessage),
    /// A message's text changed; carries the whole new message.
    MessageEdited(PostedMessage),
    /// A message was deleted: its text and everything derived from it go.
    MessageDeleted {
        channel_id: String,
        ts: String,
    },
    ReactionAdded {
        channel_id: String,
        message_ts: String,
        user_id: String,
        reaction: String,
        at: i64,
    },
    ReactionRemoved {
        channel_id: String,
        message_ts: String,
        user_id: String,
        reaction: String,
    },
    MemberJoinedChannel {
        channel_id: String,
        user_id: String,
    },
    MemberLeftChannel {
        channel_id: String,
        user_id: String,
    },
    ChannelRenamed {
        channel_id: String,
        name: String,
    },
    ChannelArchived {
        channel_id: String,
    },
    ChannelUnarchived {
        channel_id: String,
    },
    /// The channel no longer exists in Slack: its messages are purged.
    ChannelDeleted {
        channel_id: String,
    },
    /// A person's profile changed or they joined the workspace.
    UserUpdated(User),
    /// A person did something (opened the App Home, posted, reacted) at `at` (epoch seconds).
    UserBecameActive {
        user_id: String,
        at: i64,
    },
    /// History was loaded in bulk (backfill or import) for a channel: agents rescan the window
    /// instead of receiving one event per message.
    HistoryLoaded {
        channel_id: String,
        oldest: i64,
        latest: i64,
        messages: i64,
    },
    /// chief was removed from the workspace: everything of the team is purged.
    AppUninstalled,
    /// Tokens were revoked; `bot` when chief's bot token is among them (then the team is purged).
    TokensRevoked {
        bot: bool,
    },
}

/// The kind of a [`DomainEvent`], which subscribers filter on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    MessagePosted,
    MessageEdited,
    MessageDeleted,
    ReactionAdded,
    ReactionRemoved,
    MemberJoinedChannel,
    MemberLeftChannel,
    ChannelRenamed,
    ChannelArchived,
    ChannelUnarchived,
    ChannelDeleted,
    UserUpdated,
    UserBecameActive,
    HistoryLoaded,
    AppUninstalled,
    TokensRevoked,
}

impl EventKind {
    pub const ALL: [EventKind; 16] = [
        EventKind::MessagePosted,
        EventKind::MessageEdited,
        EventKind::MessageDeleted,
        EventKind::ReactionAdded,
        EventKind::ReactionRemoved,
        EventKind::MemberJoinedChannel,
        EventKind::MemberLeftChannel,
        EventKind::ChannelRenamed,
        EventKind::ChannelArchived,
        EventKind::ChannelUnarchived,
        EventKind::ChannelDeleted,
        EventKind::UserUpdated,
        EventKind::UserBecameActive,
        EventKind::HistoryLoaded,
        EventKind::AppUninstalled,
        EventKind::TokensRevoked,
    ];

    /// The name stored in the bus (`message_posted`…), the same as the payload's `kind` tag.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::MessagePosted => "message_posted",
            EventKind::MessageEdited => "message_edited",
            EventKind::MessageDeleted => "message_deleted",
            EventKind::ReactionAdded => "reaction_added",
            EventKind::ReactionRemoved => "reaction_removed",
            EventKind::MemberJoinedChannel => "member_joined_channel",
            EventKind::MemberLeftChannel => "member_left_channel",
            EventKind::ChannelRenamed => "channel_renamed",
            EventKind::ChannelArchived => "channel_archived",
            EventKind::ChannelUnarchived => "channel_unarchived",
            EventKind::ChannelDeleted => "channel_deleted",
            EventKind::UserUpdated => "user_updated",
            EventKind::UserBecameActive => "user_became_active",
            EventKind::HistoryLoaded => "history_loaded",
            EventKind::AppUninstalled => "app_uninstalled",
            EventKind::TokensRevoked => "tokens_revoked",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl DomainEvent {
    pub fn kind(&self) -> EventKind {
        match self {
            DomainEvent::MessagePosted(_) => EventKind::MessagePosted,
            DomainEvent::MessageEdited(_) => EventKind::MessageEdited,
            DomainEvent::MessageDeleted { .. } => EventKind::MessageDeleted,
            DomainEvent::ReactionAdded { .. } => EventKind::ReactionAdded,
            DomainEvent::ReactionRemoved { .. } => EventKind::ReactionRemoved,
            DomainEvent::MemberJoinedChannel { .. } => EventKind::MemberJoinedChannel,
            DomainEvent::MemberLeftChannel { .. } => EventKind::MemberLeftChannel,
            DomainEvent::ChannelRenamed { .. } => EventKind::ChannelRenamed,
            DomainEvent::ChannelArchived { .. } => EventKind::ChannelArchived,
            DomainEvent::ChannelUnarchived { .. } => EventKind::ChannelUnarchived,
            DomainEvent::ChannelDeleted { .. } => EventKind::ChannelDeleted,
            DomainEvent::UserUpdated(_) => EventKind::UserUpdated,
            DomainEvent::UserBecameActive { .. } => EventKind::UserBecameActive,
            DomainEvent::HistoryLoaded { .. } => EventKind::HistoryLoaded,
            DomainEvent::AppUninstalled => EventKind::AppUninstalled,
            DomainEvent::TokensRevoked { .. } => EventKind::TokensRevoked,
        }
    }

    /// The message this event is about, if any (its bus rows go when the message is deleted).
    pub fn message_key(&self) -> Option<(&str, &str)> {
        match self {
            DomainEvent::MessagePosted(m) | DomainEvent::MessageEdited(m) => {
                Some((&m.channel_id, &m.ts))
            }
            DomainEvent::ReactionAdded {
                channel_id,
                message_ts,
                ..
            }
            | DomainEvent::ReactionRemoved {
                channel_id,
                message_ts,
                ..
            } => Some((channel_id, message_ts)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_tag_in_the_payload_is_the_stored_kind() {
        let event = DomainEvent::ChannelRenamed {
            channel_id: "C1".into(),
            name: "general".into(),
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["kind"], event.kind().as_str());
        let back: DomainEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
        }
    }

    #[test]
    fn shown_name_prefers_the_display_name() {
        let mut user = User {
            user_id: "U1".into(),
            name: Some("ada".into()),
            display_name: Some(" ".into()),
            real_name: Some("Ada Lovelace".into()),
            ..User::default()
        };
        assert_eq!(user.shown_name(), Some("Ada Lovelace"));
        user.display_name = Some("ada.l".into());
        assert_eq!(user.shown_name(), Some("ada.l"));
    }
}
