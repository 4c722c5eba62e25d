//! What arrives at the edge, parsed just enough to store it and answer Slack: the envelope type, the
//! ids used for de-duplication, the team. The full payload is kept as JSON text in the inbox and read
//! by the handlers later, so a parser gap here never loses a request.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::platform::db::inbox::Source;

/// Why a signed request cannot be used; answered with 400 and logged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PayloadError {
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error("body is not a form: {0}")]
    NotForm(String),
    #[error("missing field {0}")]
    MissingField(&'static str),
}

/// An Events API request, as far as the edge needs to know.
#[derive(Debug, PartialEq)]
pub enum Envelope {
    /// Slack checking the request URL: echo the challenge.
    UrlVerification { challenge: String },
    /// A workspace event to store and handle.
    EventCallback(Inbound),
    /// Slack telling us it dropped events for a team (we were too slow); logged.
    AppRateLimited { team_id: Option<String> },
    /// Any other envelope type: acknowledged and logged, not stored.
    Other { kind: String },
}

/// A request ready for the inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    pub dedupe_key: String,
    pub source: Source,
    pub team_id: Option<String>,
    /// The person who acted, when the payload names one (for logs and traces only).
    pub user_id: Option<String>,
    pub kind: String,
    pub payload: String,
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn digest(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// Parses an Events API body (JSON).
pub fn parse_event(body: &[u8]) -> Result<Envelope, PayloadError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| PayloadError::NotJson(e.to_string()))?;
    let kind = str_at(&value, &["type"]).ok_or(PayloadError::MissingField("type"))?;
    match kind {
        "url_verification" => Ok(Envelope::UrlVerification {
            challenge: str_at(&value, &["challenge"])
                .ok_or(PayloadError::MissingField("challenge"))?
                .to_string(),
        }),
        "event_callback" => {
            let event_type = str_at(&value, &["event", "type"])
                .ok_or(PayloadError::MissingField("event.type"))?;
            // Slack's retries carry the same event_id; without one, the body itself identifies it.
            let dedupe_key = match str_at(&value, &["event_id"]) {
                Some(id) => format!("event:{id}"),
                None => format!("event-body:{}", digest(body)),
            };
            let team_id = str_at(&value, &["team_id"])
                .or_else(|| str_at(&value, &["event", "team"]))
                .map(str::to_string);
            Ok(Envelope::EventCallback(Inbound {
                dedupe_key,
                source: Source::Event,
                team_id,
                user_id: str_at(&value, &["event", "user"]).map(str::to_string),
                kind: event_type.to_string(),
                payload: value.to_string(),
            }))
        }
        "app_rate_limited" => Ok(Envelope::AppRateLimited {
            team_id: str_at(&value, &["team_id"]).map(str::to_string),
        }),
        other => Ok(Envelope::Other {
            kind: other.to_string(),
        }),
    }
}

/// Parses an interactivity body: a form whose `payload` field holds JSON.
pub fn parse_interaction(body: &[u8]) -> Result<Inbound, PayloadError> {
    let fields: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|e| PayloadError::NotForm(e.to_string()))?;
    let payload = fields
        .into_iter()
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v)
        .ok_or(PayloadError::MissingField("payload"))?;
    interaction_from_json(&payload)
}

/// An interaction payload as JSON (Socket Mode delivers it without the form wrapper).
pub fn interaction_from_json(payload: &str) -> Result<Inbound, PayloadError> {
    let value: Value =
        serde_json::from_str(payload).map_err(|e| PayloadError::NotJson(e.to_string()))?;
    let kind = str_at(&value, &["type"]).ok_or(PayloadError::MissingField("type"))?;
    let team_id = str_at(&value, &["team", "id"])
        .or_else(|| str_at(&value, &["user", "team_id"]))
        .map(str::to_string);
    Ok(Inbound {
        // Slack does not retry interactions; an identical body is a replay and is stored once.
        dedupe_key: format!("interaction:{}", digest(payload.as_bytes())),
        source: Source::Interaction,
        team_id,
        user_id: str_at(&value, &["user", "id"]).map(str::to_string),
        kind: kind.to_string(),
        payload: value.to_string(),
    })
}

/// Parses a slash command body (a form) into a JSON object of its fields.
pub fn parse_command(body: &[u8]) -> Result<Inbound, PayloadError> {
    let fields: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|e| PayloadError::NotForm(e.to_string()))?;
    let object: Map<String, Value> = fields
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    command_from_json(Value::Object(object))
}

/// A slash command's fields as a JSON object (Socket Mode delivers it that way).
pub fn command_from_json(value: Value) -> Result<Inbound, PayloadError> {
    let command = str_at(&value, &["command"]).ok_or(PayloadError::MissingField("command"))?;
    let team_id = str_at(&value, &["team_id"]).map(str::to_string);
    let user_id = str_at(&value, &["user_id"]).map(str::to_string);
    let payload = value.to_string();
    let dedupe_key = match str_at(&value, &["trigger_id"]) {
        Some(trigger) => format!("command:{trigger}"),
        None => format!("command-body:{}", digest(payload.as_bytes())),
    };
    Ok(Inbound {
        dedupe_key,
        source: Source::Command,
        team_id,
        user_id,
        kind: command.to_string(),
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_verification_yields_the_challenge() {
        let body = br#"{"token":"t","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
        assert_eq!(
            parse_event(body).unwrap(),
            Envelope::UrlVerification {
                challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P".into()
            }
        );
    }

    #[test]
    fn event_callbacks_are_keyed_by_event_id() {
        let body = br#"{"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{"type":"message","text":"hi"}}"#;
        let Envelope::EventCallback(inbound) = parse_event(body).unwrap() else {
            panic!("expected an event callback");
        };
        assert_eq!(inbound.dedupe_key, "event:Ev1");
        assert_eq!(inbound.team_id.as_deref(), Some("T1"));
        assert_eq!(inbound.kind, "message");
    }

    #[test]
    fn garbage_is_a_reason_not_a_panic() {
        assert!(matches!(
            parse_event(b"not json"),
            Err(PayloadError::NotJson(_))
        ));
        assert_eq!(
            parse_event(br#"{"type":"event_callback","event":{}}"#),
            Err(PayloadError::MissingField("event.type"))
        );
        assert_eq!(
            parse_interaction(b"foo=bar"),
            Err(PayloadError::MissingField("payload"))
        );
        assert_eq!(
            parse_command(b"text=hello"),
            Err(PayloadError::MissingField("command"))
        );
    }

    #[test]
    fn commands_become_json_objects() {
        let inbound =
            parse_command(b"command=%2Fchief&text=help&team_id=T1&trigger_id=1.2.3").unwrap();
        assert_eq!(inbound.kind, "/chief");
        assert_eq!(inbound.dedupe_key, "command:1.2.3");
        let v: Value = serde_json::from_str(&inbound.payload).unwrap();
        assert_eq!(v["text"], "help");
    }
}
