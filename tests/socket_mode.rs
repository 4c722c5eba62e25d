//! Socket Mode: with `SLACK_APP_TOKEN` set, chief opens a WebSocket (the URL comes from
//! `apps.connections.open` on the fake Web API), stores what arrives in the same inbox, and acks each
//! envelope only after it is stored.

mod common;

use std::time::Duration;

use chief::testkit::fake_slack::Reply;
use common::{Backend, count_rows, spawn_app_with};
use futures::{SinkExt, StreamExt};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn socket_mode_events_and_commands_are_stored_then_acked() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ws_url = format!("ws://{}/link", listener.local_addr().unwrap());

    // The fake Slack end of the socket: hello, one event, one slash command; collect the acks.
    let (acks_tx, mut acks_rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acks_tx = acks_tx.clone();
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                let send = |v: Value| Message::Text(v.to_string().into());
                let _ = ws
                    .send(send(json!({"type": "hello", "num_connections": 1,
                        "connection_info": {"app_id": "A1"},
                        "debug_info": {"host": "fake", "approximate_connection_time": 3600}})))
                    .await;
                let _ = ws
                    .send(send(json!({
                        "envelope_id": "env-event-1", "type": "events_api",
                        "accepts_response_payload": false, "retry_attempt": 0, "retry_reason": "",
                        "payload": {
                            "token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                            "event_id": "EvSocket1", "event_time": 1700000000,
                            "event": {"type": "message", "channel": "C1", "user": "U1", "text": "over the socket",
                                      "ts": "1700000000.000100", "channel_type": "channel"}
                        }
                    })))
                    .await;
                let _ = ws
                    .send(send(json!({
                        "envelope_id": "env-command-1", "type": "slash_commands",
                        "accepts_response_payload": true,
                        "payload": {
                            "token": "x", "team_id": "T1", "team_domain": "fake", "channel_id": "C1",
                            "channel_name": "general", "user_id": "U1", "user_name": "ana",
                            "command": "/chief", "text": "help", "api_app_id": "A1",
                            "response_url": "https://hooks.slack.com/commands/T1/1/x",
                            "trigger_id": "1.2.socket"
                        }
                    })))
                    .await;
                while let Some(Ok(message)) = ws.next().await {
                    if let Message::Text(text) = message
                        && let Ok(ack) = serde_json::from_str::<Value>(&text)
                    {
                        let _ = acks_tx.send(ack);
                    }
                }
            });
        }
    });

    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.app_token = Some(SecretString::from("xapp-test-app-token"));
    })
    .await;
    app.slack.respond_with("apps.connections.open", move |_| {
        Reply::ok(json!({"url": ws_url}))
    });

    let mut acked = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while acked.len() < 2 {
        let ack = tokio::time::timeout_at(deadline, acks_rx.recv())
            .await
            .expect("chief acks both envelopes")
            .expect("the socket stays up");
        let id = ack["envelope_id"].as_str().unwrap_or_default().to_string();
        if id == "env-event-1" {
            // Persist, then ack: the event is in the inbox by the time its ack arrives.
            assert!(count_rows(&app.ctx.db, "inbox").await >= 1);
        }
        acked.push((id, ack));
    }
    let ids: Vec<&str> = acked.iter().map(|(id, _)| id.as_str()).collect();
    assert!(
        ids.contains(&"env-event-1") && ids.contains(&"env-command-1"),
        "{ids:?}"
    );
    let calls = app.slack.calls("apps.connections.open");
    assert_eq!(
        calls[0].token.as_deref(),
        Some("xapp-test-app-token"),
        "opened with the app token"
    );
    assert_eq!(
        count_rows(&app.ctx.db, "inbox").await,
        2,
        "the event and the command"
    );
    let counts = app.drained(Duration::from_secs(10)).await;
    assert_eq!(counts.pending, 0);
    app.stop().await;
}
