//! A local fake of the Slack Web API, for tests and benchmarks: an axum server on 127.0.0.1 that
//! records every call and answers from scripts or per-method defaults.
//!
//! Point chief at it with `SLACK_API_URL=` [`FakeSlack::api_url`]. It speaks the same wire format as
//! Slack (form, JSON or query parameters in; `{"ok":…}` JSON out; 429 with `Retry-After`), so the real
//! slack-morphism client is exercised end to end. It lives in the library, not under `tests/`,
//! because `chief bench` drives it too.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

/// One call as the fake received it.
#[derive(Clone, Debug)]
pub struct RecordedCall {
    /// `chat.postMessage`, or `response_url` for posts to a response URL.
    pub method: String,
    /// Query, form and JSON body parameters merged into one object.
    pub params: Value,
    /// The bearer token, if any.
    pub token: Option<String>,
    pub at: Instant,
}

impl RecordedCall {
    /// A parameter as a string (JSON strings unquoted; objects and arrays as JSON text).
    pub fn param(&self, name: &str) -> Option<String> {
        match self.params.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// A parameter that is JSON (Slack sends `blocks`/`view` either as JSON or as a JSON string).
    pub fn json_param(&self, name: &str) -> Option<Value> {
        match self.params.get(name)? {
            Value::String(s) => serde_json::from_str(s).ok(),
            other => Some(other.clone()),
        }
    }
}

/// A scripted answer.
#[derive(Clone, Debug)]
pub enum Reply {
    /// `200` with this JSON (add `"ok": true` yourself, or use [`Reply::ok`]).
    Json(Value),
    /// `{"ok": false, "error": code}` with status 200, as Slack reports API errors.
    Error(String),
    /// `429` with `Retry-After: secs` and `{"ok":false,"error":"ratelimited"}`.
    RateLimited { retry_after_secs: u64 },
    /// Any status and body (5xx, garbage).
    Raw { status: u16, body: String },
    /// Wait, then answer.
    Delayed(Duration, Box<Reply>),
}

impl Reply {
    /// `{"ok": true, …fields}`.
    pub fn ok(fields: Value) -> Reply {
        let mut object = match fields {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        object.insert("ok".into(), Value::Bool(true));
        Reply::Json(Value::Object(object))
    }
}

type Responder = Arc<dyn Fn(&RecordedCall) -> Reply + Send + Sync>;

#[derive(Default)]
struct Inner {
    calls: Vec<RecordedCall>,
    scripts: HashMap<String, VecDeque<Reply>>,
    responders: HashMap<String, Responder>,
    next_ts: u64,
}

/// A running fake; stops when dropped.
pub struct FakeSlack {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    stop: CancellationToken,
}

impl FakeSlack {
    /// Starts the fake on a random loopback port.
    pub async fn start() -> std::io::Result<Self> {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route("/api/{method}", any(api))
            .route("/response_url/{*rest}", post(response_url))
            .with_state(inner.clone());
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stopped.cancelled().await })
                .await;
        });
        Ok(FakeSlack { addr, inner, stop })
    }

    /// The Web API base URL to give chief as `SLACK_API_URL`.
    pub fn api_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// A response URL served by this fake (interaction and command payloads carry one).
    pub fn response_url(&self, id: &str) -> String {
        format!("http://{}/response_url/{id}", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues answers for `method`, used in order before its default.
    pub fn script(&self, method: &str, replies: impl IntoIterator<Item = Reply>) {
        self.lock()
            .scripts
            .entry(method.to_string())
            .or_default()
            .extend(replies);
    }

    /// Replaces the default answer of `method`.
    pub fn respond_with(
        &self,
        method: &str,
        responder: impl Fn(&RecordedCall) -> Reply + Send + Sync + 'static,
    ) {
        self.lock()
            .responders
            .insert(method.to_string(), Arc::new(responder));
    }

    /// Every call so far to `method`.
    pub fn calls(&self, method: &str) -> Vec<RecordedCall> {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// Every call so far, in order.
    pub fn all_calls(&self) -> Vec<RecordedCall> {
        self.lock().calls.clone()
    }

    /// Waits (polling) until `method` has been called `n` times, or `timeout` passes; returns the
    /// calls seen either way, so the test's assertion shows what happened.
    pub async fn wait_for(&self, method: &str, n: usize, timeout: Duration) -> Vec<RecordedCall> {
        let deadline = Instant::now() + timeout;
        loop {
            let calls = self.calls(method);
            if calls.len() >= n || Instant::now() >= deadline {
                return calls;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for FakeSlack {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn merge_params(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Value {
    let mut params = Map::new();
    if let Some(q) = query
        && let Ok(pairs) = serde_urlencoded::from_str::<Vec<(String, String)>>(q)
    {
        params.extend(pairs.into_iter().map(|(k, v)| (k, Value::String(v))));
    }
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if is_json {
        if let Ok(Value::Object(map)) = serde_json::from_slice(body) {
            params.extend(map);
        }
    } else if let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) {
        params.extend(pairs.into_iter().map(|(k, v)| (k, Value::String(v))));
    }
    Value::Object(params)
}

fn record(inner: &Mutex<Inner>, call: RecordedCall) -> (Option<Reply>, Option<Responder>, u64) {
    let mut inner = inner.lock().unwrap_or_else(|e| e.into_inner());
    inner.next_ts += 1;
    let seq = inner.next_ts;
    let scripted = inner
        .scripts
        .get_mut(&call.method)
        .and_then(VecDeque::pop_front);
    let responder = inner.responders.get(&call.method).cloned();
    inner.calls.push(call);
    (scripted, responder, seq)
}

async fn api(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let call = RecordedCall {
        method,
        params: merge_params(query.as_deref(), &headers, &body),
        token,
        at: Instant::now(),
    };
    let (scripted, responder, seq) = record(&inner, call.clone());
    let reply = scripted
        .or_else(|| responder.map(|r| r(&call)))
        .unwrap_or_else(|| default_reply(&call, seq));
    render(reply).await
}

async fn response_url(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = RecordedCall {
        method: "response_url".into(),
        params: merge_params(None, &headers, &body),
        token: None,
        at: Instant::now(),
    };
    let (scripted, _, _) = record(&inner, call);
    render(scripted.unwrap_or(Reply::ok(json!({})))).await
}

fn render(reply: Reply) -> futures::future::BoxFuture<'static, Response> {
    Box::pin(async move {
        match reply {
            Reply::Json(value) => axum::Json(value).into_response(),
            Reply::Error(code) => axum::Json(json!({"ok": false, "error": code})).into_response(),
            Reply::RateLimited { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", retry_after_secs.to_string())],
                axum::Json(json!({"ok": false, "error": "ratelimited"})),
            )
                .into_response(),
            Reply::Raw { status, body } => (
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                body,
            )
                .into_response(),
            Reply::Delayed(delay, reply) => {
                tokio::time::sleep(delay).await;
                render(*reply).await
            }
        }
    })
}

/// Plausible answers for the methods chief calls, shaped as slack-morphism expects them.
fn default_reply(call: &RecordedCall, seq: u64) -> Reply {
    let ts = format!("1700000000.{seq:06}");
    match call.method.as_str() {
        "auth.test" => Reply::ok(json!({
            "url": "https://fake.slack.com/", "team": "Fake", "user": "chief",
            "team_id": "T0FAKE", "user_id": "U0CHIEF", "bot_id": "B0CHIEF"
        })),
        "chat.postMessage" => {
            let channel = call.param("channel").unwrap_or_default();
            Reply::ok(json!({
                "channel": channel, "ts": ts,
                "message": {"ts": ts, "text": call.param("text").unwrap_or_default()}
            }))
        }
        "chat.update" => Reply::ok(json!({
            "channel": call.param("channel").unwrap_or_default(),
            "ts": call.param("ts").unwrap_or_default(),
            "text": call.param("text").unwrap_or_default()
        })),
        "chat.postEphemeral" => Reply::ok(json!({"message_ts": ts})),
        "conversations.open" => {
            // Slack takes a comma-separated string; slack-morphism sends a JSON array.
            let first = match call.params.get("users") {
                Some(Value::Array(ids)) => ids.first().and_then(Value::as_str).unwrap_or("U0"),
                Some(Value::String(ids)) => ids.split(',').next().unwrap_or("U0"),
                _ => "U0",
            }
            .to_string();
            Reply::ok(json!({"channel": {"id": format!("D{}", first.trim_start_matches('U'))}}))
        }
        "chat.getPermalink" => {
            let channel = call.param("channel").unwrap_or_default();
            let message_ts = call.param("message_ts").unwrap_or_default();
            Reply::ok(json!({
                "channel": channel,
                "permalink": format!("https://fake.slack.com/archives/{channel}/p{}", message_ts.replace('.', ""))
            }))
        }
        "views.open" | "views.update" | "views.push" | "views.publish" => {
            let mut view = match call.json_param("view") {
                Some(Value::Object(map)) => map,
                _ => Map::new(),
            };
            let id = call
                .param("view_id")
                .unwrap_or_else(|| format!("V{seq:08}"));
            view.insert("id".into(), json!(id));
            view.insert("team_id".into(), json!("T0FAKE"));
            view.insert("hash".into(), json!(format!("h{seq}")));
            Reply::ok(json!({"view": view}))
        }
        "conversations.history" | "conversations.replies" => Reply::ok(json!({
            "messages": [], "has_more": false, "response_metadata": {"next_cursor": ""}
        })),
        "conversations.members" => Reply::ok(json!({
            "members": [], "response_metadata": {"next_cursor": ""}
        })),
        _ => Reply::ok(json!({})),
    }
}
