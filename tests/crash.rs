//! A crash after the ack loses nothing: `chief serve` is killed with SIGKILL right after Slack's
//! requests were acknowledged, restarted, and every acknowledged event is then handled.

#[macro_use]
mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Backend, SIGNING_SECRET, count_rows, sign};
use serde_json::json;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start(database_url: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_chief"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("SLACK_SIGNING_SECRET", SIGNING_SECRET)
        .env("CHIEF_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        // A killed replica's claims lapse after this; on SQLite they are freed at start-up.
        .env("CHIEF_INBOX_LEASE_SECS", "2")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chief starts")
}

async fn wait_healthy(http: &reqwest::Client, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(res) = http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            && res.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("chief did not become ready");
}

async fn killed_after_ack_then_restarted(backend: Backend) {
    common::init();
    let scratch = backend.scratch().await;
    let http = reqwest::Client::new();
    let port = free_port();
    let mut chief = start(&scratch.url, port);
    wait_healthy(&http, port).await;

    const EVENTS: usize = 150;
    let mut acked = 0;
    let mut sends = Vec::new();
    for i in 0..EVENTS {
        let http = http.clone();
        sends.push(tokio::spawn(async move {
            let body = json!({
                "type": "event_callback", "team_id": "T1", "event_id": format!("EvCrash{i}"),
                "event": {"type": "message", "channel": "C1", "user": "U1", "text": format!("m{i}"),
                          "ts": format!("1700000000.{i:06}")}
            })
            .to_string();
            let ts = common::now();
            http.post(format!("http://127.0.0.1:{port}/slack/events"))
                .header("content-type", "application/json")
                .header("x-slack-request-timestamp", ts.to_string())
                .header("x-slack-signature", sign(ts, body.as_bytes()))
                .body(body)
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false)
        }));
    }
    for send in sends {
        if send.await.unwrap_or(false) {
            acked += 1;
        }
    }
    chief.kill().expect("SIGKILL");
    let _ = chief.wait();
    assert_eq!(
        acked, EVENTS,
        "every request was acknowledged before the kill"
    );
    let stored = count_rows(&scratch.db, "inbox").await;
    assert_eq!(
        stored as usize, EVENTS,
        "every acknowledged event was stored before its ack"
    );

    let mut chief = start(&scratch.url, port);
    wait_healthy(&http, port).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let counts = loop {
        let counts = chief::platform::db::inbox::counts(&scratch.db)
            .await
            .expect("counts");
        if counts.pending == 0 || Instant::now() > deadline {
            break counts;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    chief.kill().expect("stop");
    let _ = chief.wait();
    assert_eq!(
        counts.done as usize, EVENTS,
        "every acked event was handled after the restart"
    );
    assert_eq!(counts.dead, 0);
}

on_both_backends!(backend: killed_after_ack_then_restarted);
