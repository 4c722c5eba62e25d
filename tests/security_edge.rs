//! The request URLs against what an attacker can send: oversized bodies on every route (with and
//! without a length), replays from the future as well as the past, and garbage headers. Complements
//! `tests/edge.rs` (forged, unsigned and stale requests, 413 on `/slack/events`).

mod common;

use common::{Backend, count_rows, sign, spawn_app};
use serde_json::json;

const ROUTES: [(&str, &str); 3] = [
    ("/slack/events", "application/json"),
    ("/slack/interactions", "application/x-www-form-urlencoded"),
    ("/slack/commands", "application/x-www-form-urlencoded"),
];

/// Sends `body` with `Transfer-Encoding: chunked` over a raw connection; returns the status, or
/// `None` when the server closed the connection before answering (refused mid-upload).
async fn post_chunked(
    base: &str,
    path: &str,
    content_type: &str,
    ts: i64,
    signature: &str,
    body: &[u8],
) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("chief listens");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\n\
         X-Slack-Request-Timestamp: {ts}\r\nX-Slack-Signature: {signature}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.ok()?;
    for chunk in body.chunks(64 * 1024) {
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend_from_slice(chunk);
        frame.extend_from_slice(b"\r\n");
        if stream.write_all(&frame).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

#[tokio::test]
async fn oversized_bodies_are_refused_on_every_route_with_or_without_a_length() {
    let app = spawn_app(Backend::Sqlite).await;
    let huge = vec![b'a'; chief::http::MAX_BODY_BYTES + 1];
    for (path, content_type) in ROUTES {
        let res = app.post_signed(path, content_type, &huge).await;
        assert_eq!(res.status(), 413, "{path} with a Content-Length");

        // Chunked: no length announced, the limit applies while reading.
        let ts = common::now();
        let status = post_chunked(&app.base, path, content_type, ts, &sign(ts, &huge), &huge).await;
        assert_eq!(status, Some(413), "{path} chunked");
    }
    // Exactly at the limit is not "too large" (it is refused for its content, not its size).
    let at_limit = vec![b' '; chief::http::MAX_BODY_BYTES];
    let res = app
        .post_signed("/slack/events", "application/json", &at_limit)
        .await;
    assert_eq!(res.status(), 400);
    assert_eq!(count_rows(&app.ctx.db, "inbox").await, 0, "nothing stored");
    app.stop().await;
}

#[tokio::test]
async fn replays_from_the_future_and_garbage_headers_are_refused() {
    let app = spawn_app(Backend::Sqlite).await;
    let body = json!({
        "type": "event_callback", "team_id": "T1", "event_id": "EvFuture",
        "event": {"type": "message", "channel": "C1", "user": "U1", "text": "hi",
                  "ts": "1700000000.000100", "channel_type": "channel"}
    })
    .to_string();
    let post = |ts: String, signature: String| {
        app.http
            .post(app.url("/slack/events"))
            .header("content-type", "application/json")
            .header("x-slack-request-timestamp", ts)
            .header("x-slack-signature", signature)
            .body(body.clone())
            .send()
    };
    let now = common::now();
    // Signed correctly, but dated outside ±5 minutes either way.
    for ts in [now + 6 * 60, now - 6 * 60, now + 100 * 365 * 86_400] {
        let res = post(ts.to_string(), sign(ts, body.as_bytes()))
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "timestamp {ts}");
    }
    // Inside the window on either side: accepted.
    let ts = now + 4 * 60;
    let res = post(ts.to_string(), sign(ts, body.as_bytes()))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Garbage timestamps and signatures.
    for (ts, signature) in [
        (i64::MIN.to_string(), sign(now, body.as_bytes())),
        (i64::MAX.to_string(), sign(now, body.as_bytes())),
        ("99999999999999999999999".into(), sign(now, body.as_bytes())),
        (format!(" {now} "), "v0=".into()),
        (now.to_string(), "v0=zz".into()),
        (
            now.to_string(),
            format!("v1={}", &sign(now, body.as_bytes())[3..]),
        ),
        (now.to_string(), "v0=".to_string() + &"0".repeat(10_000)),
    ] {
        let res = post(ts.clone(), signature).await.unwrap();
        assert_eq!(res.status(), 401, "timestamp {ts:?}");
    }
    // Non-UTF-8 header bytes.
    let res = app
        .http
        .post(app.url("/slack/events"))
        .header(
            "x-slack-request-timestamp",
            reqwest::header::HeaderValue::from_bytes(b"17\xff00").unwrap(),
        )
        .header(
            "x-slack-signature",
            reqwest::header::HeaderValue::from_bytes(b"v0=\xfe\xfe").unwrap(),
        )
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        count_rows(&app.ctx.db, "inbox").await,
        1,
        "only the valid one"
    );
    app.stop().await;
}
