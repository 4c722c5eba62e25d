//! Plain domain structs shared across chief. No Slack types here: the edge converts to these.

use serde::{Deserialize, Serialize};

/// Points at one Slack message: what every summary, story and sentence cites as its source.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct MessageRef {
    pub channel_id: String,
    /// Slack's message timestamp (`1700000000.000100`), unique within a channel.
    pub ts: String,
}

/// A message as chief stores it: normalised plain text, resolved mentions, no Slack markup.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub team_id: String,
    pub channel_id: String,
    pub ts: String,
    /// The thread's parent ts when this is a reply (or the parent itself when it has replies).
    pub thread_ts: Option<String>,
    pub user_id: Option<String>,
    /// Display name of the author when known (resolved from the directory).
    pub user_name: Option<String>,
    /// Plain text: mrkdwn and rich_text flattened, mentions resolved to names, links kept.
    pub text: String,
    /// Seconds since the epoch, from `ts`.
    pub posted_at: i64,
}

impl Message {
    pub fn reference(&self) -> MessageRef {
        MessageRef {
            channel_id: self.channel_id.clone(),
            ts: self.ts.clone(),
        }
    }
}

/// Seconds since the epoch of a Slack timestamp (`"1700000000.000100"` → `1700000000`).
pub fn ts_to_epoch(ts: &str) -> Option<i64> {
    ts.split('.').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::ts_to_epoch;

    #[test]
    fn slack_timestamps_are_epoch_seconds_with_a_sequence() {
        assert_eq!(ts_to_epoch("1607375532.000200"), Some(1607375532));
        assert_eq!(ts_to_epoch("1607375532"), Some(1607375532));
        assert_eq!(ts_to_epoch("garbage"), None);
    }
}

/// A link to one source message, as shown to a reader.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceLink {
    /// Channel id.
    pub channel: String,
    /// Channel name without `#`, when known.
    pub channel_name: Option<String>,
    pub ts: String,
    pub permalink: String,
}

/// One story of a briefing, ready to show.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BriefingStory {
    /// Stable within the briefing; buttons refer to it.
    pub id: String,
    pub title: String,
    /// Two or three sentences, in the second person, in the reader's language.
    pub summary: String,
    /// One line: why the reader sees this ("you reacted to this topic").
    pub why: String,
    /// The topics and entities the story is about (feedback buttons adjust these interests).
    pub topics: Vec<String>,
    pub sources: Vec<SourceLink>,
}

/// A personal briefing for one reader and one day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Briefing {
    pub team_id: String,
    pub user_id: String,
    /// Local date of the reader, `YYYY-MM-DD`.
    pub date: String,
    pub stories: Vec<BriefingStory>,
}

/// An explanation of the conversation around a message, for one reader.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub title: String,
    /// Paragraphs in the reader's language, second person.
    pub paragraphs: Vec<String>,
    /// The key messages, linked.
    pub sources: Vec<SourceLink>,
}

/// The canonical Slack permalink of a message (no API call needed).
pub fn permalink(workspace_url: &str, channel: &str, ts: &str, thread_ts: Option<&str>) -> String {
    let base = workspace_url.trim_end_matches('/');
    let mut link = format!("{base}/archives/{channel}/p{}", ts.replace('.', ""));
    if let Some(thread) = thread_ts.filter(|t| *t != ts) {
        link.push_str(&format!("?thread_ts={thread}&cid={channel}"));
    }
    link
}
