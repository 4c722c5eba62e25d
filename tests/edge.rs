//! The HTTP edge, as Slack sees it: signed requests are stored and acknowledged, everything else is
//! refused without leaving a trace.

#[macro_use]
mod common;

use std::time::Duration;

use common::{Backend, count_rows, fixtures, sign, spawn_app};
use serde_json::{Value, json};

fn event(event_id: &str, text: &str) -> Value {
    json!({
        "token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
        "event_id": event_id, "event_time": 1700000000,
        "event": {"type": "message", "channel": "C1", "user": "U1", "text": text,
                  "ts": "1700000000.000100", "channel_type": "channel"}
    })
}

#[tokio::test]
async fn url_verification_echoes_the_challenge() {
    let app = spawn_app(Backend::Sqlite).await;
    let body = std::fs::read(
        fixtures()
            .join("payloads/zulip/zerver/webhooks/slack/fixtures/challenge_handshake_payload.json"),
    )
    .expect("fixture");
    let sent: Value = serde_json::from_slice(&body).expect("json");
    let res = app
        .post_signed("/slack/events", "application/json", &body)
        .await;
    assert_eq!(res.status(), 200);
    let answer: Value = res.json().await.expect("json answer");
    assert_eq!(answer["challenge"], sent["challenge"]);
    app.stop().await;
}

async fn refuses_unsigned_forged_and_stale(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = event("EvForged", "hello").to_string();
    let url = app.url("/slack/events");

    let unsigned = app.http.post(&url).body(body.clone()).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);

    let ts = common::now();
    let forged = app
        .http
        .post(&url)
        .header("x-slack-request-timestamp", ts.to_string())
        .header("x-slack-signature", sign(ts, b"another body"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);

    let stale_ts = ts - 6 * 60;
    let stale = app
        .http
        .post(&url)
        .header("x-slack-request-timestamp", stale_ts.to_string())
        .header("x-slack-signature", sign(stale_ts, body.as_bytes()))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 401, "a replay outside ±5 min is refused");

    for path in ["/slack/interactions", "/slack/commands"] {
        let res = app
            .http
            .post(app.url(path))
            .body("payload=%7B%7D")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{path} checks signatures too");
    }
    assert_eq!(count_rows(&app.ctx.db, "inbox").await, 0, "nothing stored");
    app.stop().await;
}

on_both_backends!(backend: refuses_unsigned_forged_and_stale);

async fn concurrent_duplicates_are_stored_once(backend: Backend) {
    let app = std::sync::Arc::new(spawn_app(backend).await);
    // 100 requests: 40 distinct events, many sent two or three times (Slack retries).
    let mut sends = Vec::new();
    for i in 0..100 {
        let app = app.clone();
        sends.push(tokio::spawn(async move {
            let id = format!("Ev{:03}", i % 40);
            app.post_event(&event(&id, &format!("message {i}")))
                .await
                .status()
        }));
    }
    for send in sends {
        assert_eq!(send.await.unwrap(), 200);
    }
    assert_eq!(count_rows(&app.ctx.db, "inbox").await, 40);
    let counts = app.drained(Duration::from_secs(20)).await;
    assert_eq!(counts.done, 40, "every stored event is handled");
    let app = std::sync::Arc::try_unwrap(app).ok().expect("sole owner");
    app.stop().await;
}

on_both_backends!(backend: concurrent_duplicates_are_stored_once);

#[tokio::test]
async fn a_slack_retry_is_acknowledged_and_not_stored_again() {
    let app = spawn_app(Backend::Sqlite).await;
    let body = event("EvRetry", "hi").to_string();
    assert_eq!(
        app.post_signed("/slack/events", "application/json", body.as_bytes())
            .await
            .status(),
        200
    );
    let ts = common::now();
    let retry = app
        .http
        .post(app.url("/slack/events"))
        .header("x-slack-request-timestamp", ts.to_string())
        .header("x-slack-signature", sign(ts, body.as_bytes()))
        .header("x-slack-retry-num", "1")
        .header("x-slack-retry-reason", "http_timeout")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), 200);
    assert_eq!(count_rows(&app.ctx.db, "inbox").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn malformed_signed_payloads_get_400_and_oversized_ones_413() {
    let app = spawn_app(Backend::Sqlite).await;
    let res = app
        .post_signed("/slack/events", "application/json", b"{not json")
        .await;
    assert_eq!(res.status(), 400);
    assert!(
        res.text().await.unwrap().contains("not JSON"),
        "the reason is given"
    );

    let res = app
        .post_signed(
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            b"nothing=here",
        )
        .await;
    assert_eq!(res.status(), 400);

    let res = app
        .post_signed(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            b"text=no-command",
        )
        .await;
    assert_eq!(res.status(), 400);

    let huge = vec![b'a'; chief::http::MAX_BODY_BYTES + 1];
    let res = app
        .post_signed("/slack/events", "application/json", &huge)
        .await;
    assert_eq!(res.status(), 413);
    assert_eq!(count_rows(&app.ctx.db, "inbox").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn slash_commands_are_acknowledged_ephemerally() {
    let app = spawn_app(Backend::Sqlite).await;
    let fixture =
        fixtures().join("payloads/omnibot/data/mock/slash_command/user_issues_echo_command.json");
    let fields: serde_json::Map<String, Value> =
        serde_json::from_slice(&std::fs::read(fixture).unwrap()).unwrap();
    let form: Vec<(String, String)> = fields
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string()),
            )
        })
        .collect();
    let res = app.post_command(&form).await;
    assert_eq!(res.status(), 200);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["response_type"], "ephemeral");
    assert_eq!(count_rows(&app.ctx.db, "inbox").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = spawn_app(Backend::Sqlite).await;
    let get = |path: &str| app.http.get(app.url(path)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/readyz").await.unwrap().status(), 200);
    app.post_event(&event("EvMetrics", "x")).await;
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(metrics.contains("chief_intake_accepted_total"), "{metrics}");
    app.ctx.db.close().await;
    assert_eq!(
        get("/readyz").await.unwrap().status(),
        503,
        "readiness follows the database"
    );
    app.stop().await;
}

/// How a captured payload reaches chief: as Slack would post it.
enum Route {
    Event(Vec<u8>),
    Interaction(String),
    Command(Vec<(String, String)>),
}

fn route_for(raw: &[u8]) -> Route {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(raw) else {
        return Route::Event(raw.to_vec());
    };
    if let Some(Value::String(payload)) = map.get("payload") {
        return Route::Interaction(payload.clone());
    }
    let kind = map.get("type").and_then(Value::as_str).unwrap_or("");
    const INTERACTIONS: [&str; 9] = [
        "block_actions",
        "message_action",
        "view_submission",
        "view_closed",
        "shortcut",
        "block_suggestion",
        "interactive_message",
        "dialog_submission",
        "dialog_cancellation",
    ];
    if INTERACTIONS.contains(&kind) {
        return Route::Interaction(Value::Object(map).to_string());
    }
    if map.contains_key("command") && !map.contains_key("type") {
        return Route::Command(
            map.into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect(),
        );
    }
    Route::Event(raw.to_vec())
}

fn payload_files() -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![fixtures().join("payloads")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)
            .expect("fixtures are readable")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                // Web API answers and JSON schemas are not requests.
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if !["api", "slack-api-specs", "schemas", "keys", "blocks"].contains(&name) {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[tokio::test]
async fn every_real_payload_is_accepted_or_refused_with_a_reason() {
    let app = spawn_app(Backend::Sqlite).await;
    let files = payload_files();
    assert!(
        files.len() > 100,
        "the fixtures are there ({} files)",
        files.len()
    );
    let mut accepted = 0;
    for file in &files {
        let raw = std::fs::read(file).unwrap();
        let res = match route_for(&raw) {
            Route::Event(body) => {
                app.post_signed("/slack/events", "application/json", &body)
                    .await
            }
            Route::Interaction(payload) => app.post_interaction(&payload).await,
            Route::Command(fields) => app.post_command(&fields).await,
        };
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        assert!(
            status.is_success() || (status == 400 && !text.is_empty()),
            "{}: {status} {text}",
            file.display()
        );
        if status.is_success() {
            accepted += 1;
        }
    }
    assert!(
        accepted > files.len() / 2,
        "most real payloads are accepted ({accepted})"
    );
    let counts = app.drained(Duration::from_secs(30)).await;
    assert_eq!(counts.pending, 0, "the worker handled everything it stored");
    app.stop().await;
}

#[tokio::test]
async fn slacks_documented_request_verifies_with_a_frozen_clock() {
    common::init();
    let dir = fixtures().join("payloads/signing-vector");
    let vector: Value =
        serde_json::from_slice(&std::fs::read(dir.join("vector.json")).unwrap()).unwrap();
    let body = std::fs::read(dir.join(vector["body_file"].as_str().unwrap())).unwrap();
    fn slack_doc_time() -> i64 {
        1531420618 + 30
    }
    let secret = vector["signing_secret"].as_str().unwrap().to_string();
    let app = common::spawn_app_at(common::Backend::Sqlite, slack_doc_time, |config| {
        config.signing_secret = Some(secret.into());
    })
    .await;
    let res = reqwest::Client::new()
        .post(app.url("/slack/commands"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "x-slack-request-timestamp",
            vector["x_slack_request_timestamp"].as_str().unwrap(),
        )
        .header(
            "x-slack-signature",
            vector["x_slack_signature"].as_str().unwrap(),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(count_rows(&app.ctx.db, "inbox").await, 1);
    app.stop().await;
}

/// Group commit writes a batch in one statement and still tells each request whether it was new:
/// a key already stored, or repeated within the batch, is new at most once.
async fn a_batch_reports_each_request_new_or_duplicate(backend: Backend) {
    use chief::platform::db::inbox::{self, NewItem, Source};
    let scratch = backend.scratch().await;
    let item = |key: &'static str| NewItem {
        dedupe_key: key,
        source: Source::Event,
        team_id: Some("T1"),
        kind: "message",
        payload: "{}",
    };
    assert_eq!(
        inbox::insert_many(&scratch.db, &[item("old")])
            .await
            .unwrap(),
        [true]
    );
    let flags = inbox::insert_many(
        &scratch.db,
        &[item("a"), item("old"), item("b"), item("a"), item("a")],
    )
    .await
    .unwrap();
    assert_eq!(flags, [true, false, true, false, false]);
    assert_eq!(count_rows(&scratch.db, "inbox").await, 3);
}

on_both_backends!(backend: a_batch_reports_each_request_new_or_duplicate);
