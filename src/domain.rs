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
