//! Interactivity payloads (shortcuts, button clicks) read into plain structs, so the features that
//! answer them never see Slack's JSON.

use serde_json::Value;

/// The `callback_id` of the "Explain in context" message shortcut (see `manifest.yml`).
pub const EXPLAIN_CALLBACK_ID: &str = "explain_in_context";

/// Someone used the "Explain in context" shortcut on a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shortcut {
    pub team_id: String,
    pub user_id: String,
    pub channel_id: String,
    pub message_ts: String,
    /// The clicked message's thread, when it is in one.
    pub thread_ts: Option<String>,
    /// Valid for three seconds: open the modal with it at once.
    pub trigger_id: String,
    /// For an ephemeral answer when no modal can be opened.
    pub response_url: Option<String>,
}

/// Someone clicked one of chief's buttons or menus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionClick {
    pub team_id: String,
    pub user_id: String,
    pub action_id: String,
    /// The button's `value`, or the chosen option's value (overflow and static selects).
    pub value: Option<String>,
    /// Values chosen in multi-selects (e.g. channel ids) or the picked time (`HH:MM`).
    pub selected: Vec<String>,
    /// Where the clicked element is: a message (channel + ts) or a view (modal, App Home).
    pub channel_id: Option<String>,
    pub message_ts: Option<String>,
    pub view_id: Option<String>,
    pub view_hash: Option<String>,
    pub trigger_id: Option<String>,
    pub response_url: Option<String>,
}

/// What an interaction payload asks of chief.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Interaction {
    Explain(Shortcut),
    Actions(Vec<ActionClick>),
    /// Anything else (other shortcuts, view submissions, closed views): acknowledged and logged.
    Other {
        kind: String,
    },
}

fn s(value: &Value, path: &[&str]) -> Option<String> {
    path.iter()
        .try_fold(value, |v, k| v.get(k))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Reads a stored interaction payload. `Err` carries the reason it cannot be used.
pub fn parse(payload: &Value) -> Result<Interaction, String> {
    let kind = s(payload, &["type"]).ok_or("no type")?;
    let team_id = s(payload, &["team", "id"])
        .or_else(|| s(payload, &["user", "team_id"]))
        .ok_or("no team id")?;
    let user_id = s(payload, &["user", "id"]).ok_or("no user id")?;
    match kind.as_str() {
        "message_action"
            if s(payload, &["callback_id"]).as_deref() == Some(EXPLAIN_CALLBACK_ID) =>
        {
            let message_ts = s(payload, &["message", "ts"])
                .or_else(|| s(payload, &["message_ts"]))
                .ok_or("no message ts")?;
            Ok(Interaction::Explain(Shortcut {
                team_id,
                user_id,
                channel_id: s(payload, &["channel", "id"]).ok_or("no channel id")?,
                thread_ts: s(payload, &["message", "thread_ts"]),
                message_ts,
                trigger_id: s(payload, &["trigger_id"]).ok_or("no trigger id")?,
                response_url: s(payload, &["response_url"]),
            }))
        }
        "block_actions" => {
            let actions = payload
                .get("actions")
                .and_then(Value::as_array)
                .ok_or("no actions")?;
            let clicks = actions
                .iter()
                .filter_map(|action| {
                    let value =
                        s(action, &["value"]).or_else(|| s(action, &["selected_option", "value"]));
                    let mut selected: Vec<String> = [
                        "selected_channels",
                        "selected_conversations",
                        "selected_users",
                    ]
                    .iter()
                    .filter_map(|k| action.get(*k).and_then(Value::as_array))
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect();
                    if let Some(options) = action.get("selected_options").and_then(Value::as_array)
                    {
                        selected.extend(options.iter().filter_map(|o| s(o, &["value"])));
                    }
                    selected.extend(s(action, &["selected_time"]));
                    selected.extend(s(action, &["selected_channel"]));
                    Some(ActionClick {
                        team_id: team_id.clone(),
                        user_id: user_id.clone(),
                        action_id: s(action, &["action_id"])?,
                        value,
                        selected,
                        channel_id: s(payload, &["container", "channel_id"])
                            .or_else(|| s(payload, &["channel", "id"])),
                        message_ts: s(payload, &["container", "message_ts"])
                            .or_else(|| s(payload, &["message", "ts"])),
                        view_id: s(payload, &["view", "id"])
                            .or_else(|| s(payload, &["container", "view_id"])),
                        view_hash: s(payload, &["view", "hash"]),
                        trigger_id: s(payload, &["trigger_id"]),
                        response_url: s(payload, &["response_url"]),
                    })
                })
                .collect();
            Ok(Interaction::Actions(clicks))
        }
        other => Ok(Interaction::Other {
            kind: other.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(path: &str) -> Value {
        let root = std::env::var("CHIEF_FIXTURES")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures")
            })
            .join("payloads");
        serde_json::from_slice(&std::fs::read(root.join(path)).expect("fixture")).expect("json")
    }

    #[test]
    fn a_real_message_shortcut_is_read() {
        let mut payload =
            fixture("abbot/tests/Abbot.Web.Library.Tests/Serialization/message_action.json");
        payload["callback_id"] = Value::String(EXPLAIN_CALLBACK_ID.into());
        let Interaction::Explain(shortcut) = parse(&payload).unwrap() else {
            panic!("expected the explain shortcut");
        };
        assert_eq!(shortcut.team_id, "T013108BYLS");
        assert!(!shortcut.trigger_id.is_empty());
        assert!(!shortcut.message_ts.is_empty());
    }

    #[test]
    fn real_button_clicks_are_read() {
        let payload = fixture(
            "abbot/tests/Abbot.Web.Library.Tests/Serialization/block_actions.button_click.json",
        );
        let Interaction::Actions(clicks) = parse(&payload).unwrap() else {
            panic!("expected actions");
        };
        assert!(!clicks.is_empty());
        assert!(!clicks[0].action_id.is_empty());
    }

    #[test]
    fn other_shortcuts_and_garbage() {
        let payload =
            fixture("abbot/tests/Abbot.Web.Library.Tests/Serialization/message_action.json");
        assert!(
            matches!(parse(&payload), Ok(Interaction::Other { .. })),
            "another app's callback id"
        );
        assert!(parse(&serde_json::json!({"type": "block_actions"})).is_err());
    }
}
