//! A local OpenAI-compatible Chat Completions server on 127.0.0.1, for tests and `chief bench`.
//!
//! It speaks the wire format for real (HTTP, JSON, `usage`, `Retry-After`), so the gateway is
//! exercised end to end without a model. What it answers is scripted: a queue of [`Reply`]s is
//! served first, in order; after that a responder closure decides (by default: the smallest JSON
//! value matching the schema in `response_format`). It can add latency, refuse over a concurrency
//! limit or a tokens-per-minute limit with 429, and counts calls and tokens.
//!
//! It can also behave like a model on a laptop ([`LocalLlmBuilder::serial`]): one request at a
//! time, each taking a fixed time, the rest waiting inside the server; refuse `response_format`
//! types it does not know with a 500, as llama-cpp-python does
//! ([`LocalLlmBuilder::response_formats`]); count tokens with a model's tokenizer and report the
//! most sent in any window ([`LocalLlm::max_tokens_in_window`]); and notice clients that hang up
//! ([`Counters::abandoned`]).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use chief::testkit::model_server::{LocalLlm, Reply};
//! let server = LocalLlm::builder().tpm(10_000).start().await?;
//! server.enqueue(Reply::status(429).retry_after(1));
//! server.enqueue(Reply::json(serde_json::json!({"summary": "ok"})));
//! let base_url = server.base_url(); // http://127.0.0.1:PORT/v1
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::ai::llm::prompt::{DATA_END, DATA_START};
use crate::ai::llm::tokens::Tokenizer;
use crate::ai::tasks::PromptMessage;

/// Decides the answer to a request once the script is empty.
pub type Responder = Arc<dyn Fn(&SeenRequest) -> Reply + Send + Sync>;

/// What the server answers to one request.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub body: ReplyBody,
    pub headers: Vec<(String, String)>,
    /// Extra time before answering (on top of the server's latency).
    pub delay: Duration,
    /// Include the `usage` object (real servers do; some proxies drop it).
    pub usage: bool,
}

#[derive(Clone, Debug)]
pub enum ReplyBody {
    /// A chat completion whose message content is this text.
    Content(String),
    /// An OpenAI-style error body with this message.
    Error(String),
    /// This exact body, whatever it is.
    Raw(String),
    /// Never answer (until the client gives up or the server stops).
    Hang,
}

impl Reply {
    /// A completion whose content is this JSON value.
    pub fn json(value: Value) -> Self {
        Self::content(value.to_string())
    }

    /// A completion whose content is this text (not necessarily JSON).
    pub fn content(text: impl Into<String>) -> Self {
        Reply {
            status: 200,
            body: ReplyBody::Content(text.into()),
            headers: Vec::new(),
            delay: Duration::ZERO,
            usage: true,
        }
    }

    /// An error status with an OpenAI-style error body.
    pub fn status(status: u16) -> Self {
        Reply {
            status,
            body: ReplyBody::Error(format!("simulated HTTP {status}")),
            ..Self::content("")
        }
    }

    /// A literal body (e.g. a proxy's HTML error page or truncated JSON).
    pub fn raw(status: u16, body: impl Into<String>) -> Self {
        Reply {
            status,
            body: ReplyBody::Raw(body.into()),
            ..Self::content("")
        }
    }

    /// No answer at all.
    pub fn hang() -> Self {
        Reply {
            body: ReplyBody::Hang,
            ..Self::content("")
        }
    }

    pub fn retry_after(self, secs: u64) -> Self {
        self.header("retry-after", &secs.to_string())
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn without_usage(mut self) -> Self {
        self.usage = false;
        self
    }
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct SeenRequest {
    pub path: String,
    pub query: Option<String>,
    /// The Azure deployment name from the path, when the Azure route was used.
    pub azure_deployment: Option<String>,
    pub authorization: Option<String>,
    pub api_key: Option<String>,
    pub model: String,
    pub messages: Vec<PromptMessage>,
    pub body: Value,
    pub received: Instant,
    /// The task (`x-chief-task`) and the hash of its input (`x-chief-input`) chief sends along.
    pub task: Option<String>,
    pub input_key: Option<String>,
}

impl SeenRequest {
    /// The JSON Schema asked for in `response_format` (OpenAI's `json_schema` form or the
    /// `json_object` + `schema` form), if any.
    pub fn schema(&self) -> Option<&Value> {
        let format = self.body.get("response_format")?;
        format
            .get("json_schema")
            .and_then(|s| s.get("schema"))
            .or_else(|| format.get("schema"))
    }

    /// The text between the data markers of the first user message that has them.
    pub fn data(&self) -> Option<&str> {
        self.messages
            .iter()
            .filter(|m| m.role == "user")
            .find_map(|m| {
                let start = m.content.find(DATA_START)? + DATA_START.len();
                let end = m.content.rfind(DATA_END)?;
                (start <= end).then(|| m.content[start..end].trim())
            })
    }

    /// The content of the last message (for a repair round, the reason the answer was rejected).
    pub fn last_message(&self) -> &str {
        self.messages.last().map_or("", |m| m.content.as_str())
    }
}

/// Server settings.
#[derive(Clone)]
pub struct LocalLlmBuilder {
    latency: Duration,
    max_concurrency: Option<usize>,
    tpm: Option<u64>,
    tpm_window: Duration,
    serial: bool,
    response_formats: Option<Vec<String>>,
    tokenizer: Tokenizer,
    model: String,
    responder: Responder,
}

impl Default for LocalLlmBuilder {
    fn default() -> Self {
        LocalLlmBuilder {
            latency: Duration::ZERO,
            max_concurrency: None,
            tpm: None,
            tpm_window: Duration::from_secs(60),
            serial: false,
            response_formats: None,
            tokenizer: Tokenizer::Estimate,
            model: "local-model".into(),
            responder: Arc::new(schema_responder),
        }
    }
}

impl LocalLlmBuilder {
    /// Added to every answer.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// More requests in flight than this are refused with 429.
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = Some(n);
        self
    }

    /// More tokens per rolling minute than this are refused with 429 and a `Retry-After`.
    pub fn tpm(mut self, tpm: u64) -> Self {
        self.tpm = Some(tpm);
        self
    }

    /// The TPM limit's window (a minute unless a test shortens it).
    pub fn tpm_window(mut self, window: Duration) -> Self {
        self.tpm_window = window;
        self
    }

    /// Serves one request at a time, like llama.cpp on a laptop: the others wait inside the
    /// server, each served `latency` after its turn comes.
    pub fn serial(mut self) -> Self {
        self.serial = true;
        self
    }

    /// Accepts only these `response_format.type`s (e.g. `["text", "json_object"]`, as
    /// llama-cpp-python's server) and answers any other with a 500 naming `response_format`.
    pub fn response_formats(mut self, types: &[&str]) -> Self {
        self.response_formats = Some(types.iter().map(|t| t.to_string()).collect());
        self
    }

    /// Counts tokens with `model`'s tokenizer ([`Tokenizer::for_model`]) instead of estimating.
    pub fn count_tokens_as(mut self, model: &str) -> Self {
        self.tokenizer = Tokenizer::for_model(model);
        self
    }

    /// The model name reported in answers.
    pub fn model(mut self, model: &str) -> Self {
        self.model = model.to_string();
        self
    }

    pub fn responder(mut self, f: impl Fn(&SeenRequest) -> Reply + Send + Sync + 'static) -> Self {
        self.responder = Arc::new(f);
        self
    }

    /// Binds 127.0.0.1 on a free port and serves until the [`LocalLlm`] is dropped.
    pub async fn start(self) -> std::io::Result<LocalLlm> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let cancel = CancellationToken::new();
        let state = Arc::new(ServerState {
            script: Mutex::new(VecDeque::new()),
            responder: Mutex::new(self.responder),
            latency: self.latency,
            max_concurrency: self.max_concurrency,
            tpm: self.tpm,
            tpm_window: self.tpm_window,
            serial: self.serial.then(|| tokio::sync::Semaphore::new(1)),
            response_formats: self.response_formats,
            tokenizer: self.tokenizer,
            sent: Mutex::new(Vec::new()),
            abandoned: AtomicU64::new(0),
            max_in_flight: AtomicUsize::new(0),
            model: self.model,
            in_flight: AtomicUsize::new(0),
            window: Mutex::new(VecDeque::new()),
            calls: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            prompt_tokens: AtomicU64::new(0),
            completion_tokens: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
            cancel: cancel.clone(),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/chat/completions", post(chat))
            .route(
                "/openai/deployments/{name}/chat/completions",
                post(azure_chat),
            )
            .route("/v1/models", get(models))
            .with_state(state.clone());
        let stop = cancel.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
        });
        Ok(LocalLlm {
            addr,
            state,
            cancel,
        })
    }
}

/// A running local server. Dropping it stops it.
pub struct LocalLlm {
    addr: SocketAddr,
    state: Arc<ServerState>,
    cancel: CancellationToken,
}

impl Drop for LocalLlm {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// How much the server answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Requests received (answered, refused or failed).
    pub calls: u64,
    /// Completions returned with status 200.
    pub answered: u64,
    /// Refused by the concurrency or TPM limit.
    pub rejected: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Requests whose client hung up before the answer (the connection closed).
    pub abandoned: u64,
    /// The most requests that were in the server at once.
    pub max_in_flight: u64,
}

impl LocalLlm {
    /// A server with the defaults: no latency, no limits, schema-shaped answers.
    pub async fn start() -> std::io::Result<Self> {
        Self::builder().start().await
    }

    pub fn builder() -> LocalLlmBuilder {
        LocalLlmBuilder::default()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The OpenAI-style base URL (`http://127.0.0.1:PORT/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The Azure-style deployment URL (`http://127.0.0.1:PORT/openai/deployments/NAME`).
    pub fn azure_url(&self, deployment: &str) -> String {
        format!("http://{}/openai/deployments/{deployment}", self.addr)
    }

    /// Queues a reply; queued replies are served in order before the responder is asked.
    pub fn enqueue(&self, reply: Reply) {
        lock(&self.state.script).push_back(reply);
    }

    /// Replaces the responder.
    pub fn set_responder(&self, f: impl Fn(&SeenRequest) -> Reply + Send + Sync + 'static) {
        *lock(&self.state.responder) = Arc::new(f);
    }

    pub fn counters(&self) -> Counters {
        let s = &self.state;
        Counters {
            calls: s.calls.load(Ordering::SeqCst),
            answered: s.answered.load(Ordering::SeqCst),
            rejected: s.rejected.load(Ordering::SeqCst),
            prompt_tokens: s.prompt_tokens.load(Ordering::SeqCst),
            completion_tokens: s.completion_tokens.load(Ordering::SeqCst),
            abandoned: s.abandoned.load(Ordering::SeqCst),
            max_in_flight: s.max_in_flight.load(Ordering::SeqCst) as u64,
        }
    }

    /// The most tokens (prompt and completion, as this server counts them) of answers sent within
    /// any `window`: what a provider enforcing a tokens-per-`window` limit would have seen.
    pub fn max_tokens_in_window(&self, window: Duration) -> u64 {
        let sent = lock(&self.state.sent).clone();
        let mut best = 0;
        let mut sum = 0;
        let mut start = 0;
        for end in 0..sent.len() {
            sum += sent[end].1;
            while sent[end].0.duration_since(sent[start].0) >= window {
                sum -= sent[start].1;
                start += 1;
            }
            best = best.max(sum);
        }
        best
    }

    /// Requests received so far.
    pub fn calls(&self) -> u64 {
        self.state.calls.load(Ordering::SeqCst)
    }

    /// The requests received so far (the first 10,000), oldest first.
    pub fn requests(&self) -> Vec<SeenRequest> {
        lock(&self.state.log).clone()
    }
}

const LOG_LIMIT: usize = 10_000;

struct ServerState {
    script: Mutex<VecDeque<Reply>>,
    responder: Mutex<Responder>,
    latency: Duration,
    max_concurrency: Option<usize>,
    tpm: Option<u64>,
    tpm_window: Duration,
    /// One request at a time when set.
    serial: Option<tokio::sync::Semaphore>,
    response_formats: Option<Vec<String>>,
    tokenizer: Tokenizer,
    /// (when answered, tokens) of every completion sent, in order.
    sent: Mutex<Vec<(Instant, u64)>>,
    abandoned: AtomicU64,
    max_in_flight: AtomicUsize,
    model: String,
    in_flight: AtomicUsize,
    /// Tokens served in the last minute, for the TPM limit.
    window: Mutex<VecDeque<(Instant, u64)>>,
    calls: AtomicU64,
    answered: AtomicU64,
    rejected: AtomicU64,
    prompt_tokens: AtomicU64,
    completion_tokens: AtomicU64,
    log: Mutex<Vec<SeenRequest>>,
    cancel: CancellationToken,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Counts a request whose handler is dropped before it answered: the client hung up.
struct Abandoned<'a> {
    counter: &'a AtomicU64,
    answered: bool,
}

impl Drop for Abandoned<'_> {
    fn drop(&mut self) {
        if !self.answered {
            self.counter.fetch_add(1, Ordering::SeqCst);
        }
    }
}

struct InFlightGuard<'a>(&'a AtomicUsize);

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn models(State(state): State<Arc<ServerState>>) -> Response {
    axum::Json(json!({"object": "list", "data": [{"id": state.model, "object": "model"}]}))
        .into_response()
}

async fn chat(
    State(state): State<Arc<ServerState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(state, uri, headers, body, None).await
}

async fn azure_chat(
    State(state): State<Arc<ServerState>>,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(state, uri, headers, body, Some(name)).await
}

async fn handle(
    state: Arc<ServerState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    azure_deployment: Option<String>,
) -> Response {
    state.calls.fetch_add(1, Ordering::SeqCst);
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return error(400, "the body is not JSON", &[]);
    };
    let messages: Vec<PromptMessage> = body
        .get("messages")
        .cloned()
        .and_then(|m| serde_json::from_value(m).ok())
        .unwrap_or_default();
    if messages.is_empty() {
        return error(400, "'messages' is required", &[]);
    }
    let seen = SeenRequest {
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        azure_deployment,
        authorization: header("authorization"),
        api_key: header("api-key"),
        model: body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        messages,
        body,
        received: Instant::now(),
        task: header("x-chief-task"),
        input_key: header("x-chief-input"),
    };
    {
        let mut log = lock(&state.log);
        if log.len() < LOG_LIMIT {
            log.push(seen.clone());
        }
    }

    if let (Some(accepted), Some(kind)) = (
        &state.response_formats,
        seen.body
            .get("response_format")
            .and_then(|f| f.get("type"))
            .and_then(Value::as_str),
    ) && !accepted.iter().any(|a| a == kind)
    {
        // llama-cpp-python's words for it (a pydantic error, answered as a 500).
        let message = format!(
            "1 validation error:\n  {{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), 'msg': \"Input should be {}\", 'input': '{kind}'}}",
            accepted
                .iter()
                .map(|a| format!("'{a}'"))
                .collect::<Vec<_>>()
                .join(" or ")
        );
        return error(500, &message, &[]);
    }

    let in_flight = state.in_flight.fetch_add(1, Ordering::SeqCst);
    let _guard = InFlightGuard(&state.in_flight);
    state
        .max_in_flight
        .fetch_max(in_flight + 1, Ordering::SeqCst);
    let mut abandoned = Abandoned {
        counter: &state.abandoned,
        answered: false,
    };
    if state.max_concurrency.is_some_and(|max| in_flight >= max) {
        state.rejected.fetch_add(1, Ordering::SeqCst);
        abandoned.answered = true;
        return error(429, "too many concurrent requests", &[("retry-after", "1")]);
    }
    // Like llama.cpp: one at a time, the rest wait here (and keep waiting if their client left).
    let _turn = match &state.serial {
        Some(semaphore) => semaphore.acquire().await.ok(),
        None => None,
    };
    let prompt_tokens = state.tokenizer.count_prompt(&seen.messages);
    if let Some(tpm) = state.tpm {
        let now = Instant::now();
        let mut window = lock(&state.window);
        while window
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) >= state.tpm_window)
        {
            window.pop_front();
        }
        let used: u64 = window.iter().map(|(_, n)| n).sum();
        if used + prompt_tokens > tpm {
            let wait = window.front().map_or(1, |(at, _)| {
                (state.tpm_window.saturating_sub(now.duration_since(*at)))
                    .as_secs_f64()
                    .ceil()
                    .max(1.0) as u64
            });
            drop(window);
            state.rejected.fetch_add(1, Ordering::SeqCst);
            abandoned.answered = true;
            return error(
                429,
                "rate limit reached for tokens per minute",
                &[("retry-after", &wait.to_string())],
            );
        }
        window.push_back((now, prompt_tokens));
    }

    let scripted = lock(&state.script).pop_front();
    let reply = match scripted {
        Some(reply) => reply,
        None => {
            let responder = lock(&state.responder).clone();
            responder(&seen)
        }
    };
    let wait = state.latency + reply.delay;
    let hang = matches!(reply.body, ReplyBody::Hang);
    if hang || !wait.is_zero() {
        let sleep = if hang {
            Duration::from_secs(24 * 3600)
        } else {
            wait
        };
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = state.cancel.cancelled() => {
                abandoned.answered = true;
                return error(503, "server stopping", &[]);
            }
        }
    }
    abandoned.answered = true;
    let extra: Vec<(&str, &str)> = reply
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    match reply.body {
        ReplyBody::Content(content) => {
            let completion_tokens = state.tokenizer.count(&content).max(1);
            if reply.status == 200 {
                lock(&state.sent).push((Instant::now(), prompt_tokens + completion_tokens));
                state.answered.fetch_add(1, Ordering::SeqCst);
                state
                    .prompt_tokens
                    .fetch_add(prompt_tokens, Ordering::SeqCst);
                state
                    .completion_tokens
                    .fetch_add(completion_tokens, Ordering::SeqCst);
                if state.tpm.is_some() {
                    lock(&state.window).push_back((Instant::now(), completion_tokens));
                }
            }
            let mut completion = json!({
                "id": format!("chatcmpl-local-{}", state.calls.load(Ordering::SeqCst)),
                "object": "chat.completion",
                "created": crate::platform::db::now(),
                "model": if seen.model.is_empty() { state.model.clone() } else { seen.model.clone() },
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }],
            });
            if reply.usage {
                completion["usage"] = json!({
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                });
            }
            respond(reply.status, completion.to_string(), &extra)
        }
        ReplyBody::Error(message) => error(reply.status, &message, &extra),
        ReplyBody::Raw(body) => respond(reply.status, body, &extra),
        ReplyBody::Hang => error(504, "hung", &extra),
    }
}

fn respond(status: u16, body: String, headers: &[(&str, &str)]) -> Response {
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [("content-type", "application/json")],
        body,
    )
        .into_response();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::try_from(*name),
            axum::http::HeaderValue::try_from(*value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

fn error(status: u16, message: &str, headers: &[(&str, &str)]) -> Response {
    let kind = if status == 429 {
        "rate_limit_exceeded"
    } else {
        "server_error"
    };
    respond(
        status,
        json!({"error": {"message": message, "type": kind, "code": status}}).to_string(),
        headers,
    )
}

/// The default responder: the smallest value that matches the requested schema (or `{}`).
pub fn schema_responder(request: &SeenRequest) -> Reply {
    match request.schema() {
        Some(schema) => Reply::json(example_for_schema(schema)),
        None => Reply::json(json!({})),
    }
}

/// A minimal instance of a JSON Schema as schemars writes them: every listed property, the first
/// enum value or non-null variant, `minItems` items, `"example"` for strings, the minimum or zero
/// for numbers.
pub fn example_for_schema(schema: &Value) -> Value {
    example(schema, schema, 0)
}

fn example(schema: &Value, root: &Value, depth: usize) -> Value {
    if depth > 16 {
        return Value::Null;
    }
    if let Some(target) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|pointer| root.pointer(pointer))
    {
        return example(target, root, depth + 1);
    }
    if let Some(value) = schema.get("const") {
        return value.clone();
    }
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|v| v.first())
    {
        return first.clone();
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(variants) = schema.get(key).and_then(Value::as_array) {
            let chosen = variants
                .iter()
                .find(|v| v.get("type").and_then(Value::as_str) != Some("null"))
                .or(variants.first());
            if let Some(v) = chosen {
                return example(v, root, depth + 1);
            }
        }
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => Some(t.as_str()),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .or(Some("null")),
        _ if schema.get("properties").is_some() => Some("object"),
        _ => None,
    };
    match ty {
        Some("object") => {
            let mut out = serde_json::Map::new();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (name, prop) in props {
                    out.insert(name.clone(), example(prop, root, depth + 1));
                }
            }
            Value::Object(out)
        }
        Some("array") => {
            let n = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0);
            let item = schema.get("items").cloned().unwrap_or(Value::Null);
            Value::Array(
                (0..n.min(16))
                    .map(|_| example(&item, root, depth + 1))
                    .collect(),
            )
        }
        Some("string") => Value::String("example".into()),
        Some("integer") => json!(schema.get("minimum").and_then(Value::as_i64).unwrap_or(0)),
        Some("number") => json!(schema.get("minimum").and_then(Value::as_f64).unwrap_or(0.0)),
        Some("boolean") => Value::Bool(false),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Out {
        title: String,
        count: u32,
        tags: Vec<String>,
        note: Option<String>,
        kind: Kind,
        inner: Inner,
    }
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "snake_case")]
    #[allow(dead_code)]
    enum Kind {
        Decision,
        Question,
    }
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Inner {
        ok: bool,
    }

    #[test]
    fn schema_examples_deserialize_into_the_type() {
        let schema = crate::ai::llm::prompt::output_schema::<Out>();
        let value = example_for_schema(&schema);
        let out: Out =
            serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{e}: {value}"));
        assert_eq!(out.title, "example");
        assert!(matches!(out.kind, Kind::Decision));
    }
}
