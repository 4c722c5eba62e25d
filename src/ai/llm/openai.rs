//! A client for OpenAI-compatible Chat Completions endpoints: OpenAI, Azure OpenAI deployments,
//! Ollama, vLLM, llama.cpp's server, LM Studio.
//!
//! It sends one request and classifies what came back; deciding to retry, wait or move on is the
//! gateway's job. Written over reqwest rather than an SDK crate because chief needs only this one
//! call, must speak to Azure and local servers alike, and needs the raw status and `Retry-After`.

use std::time::Duration;

use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::ai::tasks::PromptMessage;
use crate::config::{DeploymentConfig, JsonMode};
use crate::platform::retry::Chain;

/// One request as the gateway builds it.
#[derive(Clone, Debug)]
pub struct ChatRequest<'a> {
    pub messages: &'a [PromptMessage],
    /// The task name (`response_format.json_schema.name`).
    pub schema_name: &'a str,
    pub schema: &'a Value,
    pub max_tokens: Option<u32>,
    /// How to ask for JSON ([`JsonMode::Auto`] is sent as `json_schema`, where discovery starts).
    pub json_mode: JsonMode,
    /// A stable hash of the task's input ([`super::cache::input_key`]), sent as `x-chief-input`
    /// beside `x-chief-task`: providers ignore both, and a replay server (`chief eval --engine
    /// replay`) answers by them, so its stored answers survive changes to prompt wording.
    pub input_key: &'a str,
}

/// A completed exchange: the model's text and what it cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatReply {
    pub content: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// `usage` was missing and the counts are estimates.
    pub estimated_usage: bool,
    pub finish_reason: Option<String>,
}

/// Why a request produced no reply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// A non-2xx answer. `retry_after` comes from `retry-after-ms` or `Retry-After` (seconds).
    #[error("HTTP {status}: {message}")]
    Status {
        status: u16,
        retry_after: Option<Duration>,
        message: String,
    },
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("network error: {0}")]
    Network(String),
    /// A 2xx whose body is not a chat completion (a proxy's error page, a truncated body…).
    #[error("not a chat completion: {0}")]
    BadResponse(String),
}

impl ProviderError {
    /// The server refused the `response_format` chief sent (a 4xx/5xx whose message names it):
    /// the gateway steps down to a simpler JSON mode instead of failing the call.
    pub fn refuses_response_format(&self) -> bool {
        match self {
            ProviderError::Status {
                status, message, ..
            } if *status >= 400 && *status != 429 => {
                let m = message.to_ascii_lowercase();
                m.contains("response_format")
                    || m.contains("response format")
                    || m.contains("json_schema")
            }
            _ => false,
        }
    }

    /// Worth trying again on the same deployment after a pause: rate limits, server errors,
    /// timeouts and transport failures. Other 4xx (bad key, unknown model, request too large) will
    /// fail the same way again.
    pub fn is_transient(&self) -> bool {
        match self {
            ProviderError::Status { status, .. } => {
                *status == 408 || *status == 409 || *status == 429 || *status >= 500
            }
            ProviderError::Timeout(_)
            | ProviderError::Network(_)
            | ProviderError::BadResponse(_) => true,
        }
    }

    /// A short label for trails and metrics: `429`, `timeout`, `network`, `bad_response`.
    pub fn label(&self) -> String {
        match self {
            ProviderError::Status { status, .. } => status.to_string(),
            ProviderError::Timeout(_) => "timeout".into(),
            ProviderError::Network(_) => "network".into(),
            ProviderError::BadResponse(_) => "bad_response".into(),
        }
    }
}

/// The URL and headers of one deployment.
#[derive(Clone, Debug)]
pub struct Endpoint {
    url: String,
    azure_api_version: Option<String>,
    api_key: Option<secrecy::SecretString>,
    model: String,
    temperature: Option<f32>,
}

impl Endpoint {
    pub fn new(config: &DeploymentConfig) -> Self {
        Endpoint {
            url: format!("{}/chat/completions", config.base_url.trim_end_matches('/')),
            azure_api_version: config.azure_api_version.clone(),
            api_key: config.api_key.clone(),
            model: config.model.clone(),
            temperature: config.temperature,
        }
    }

    /// The request body: messages, the JSON mode this server understands, and nothing chief does
    /// not need (no tools, no streaming).
    pub fn body(&self, request: &ChatRequest<'_>) -> Value {
        let mut body = json!({
            "model": self.model,
            "messages": request.messages,
            "stream": false,
        });
        match request.json_mode {
            JsonMode::Auto | JsonMode::JsonSchema => {
                body["response_format"] = json!({
                    "type": "json_schema",
                    "json_schema": {
                        "name": request.schema_name,
                        "schema": request.schema,
                        // Strict mode demands every property be required; task schemas have
                        // optional fields, and the gateway validates anyway.
                        "strict": false,
                    }
                });
            }
            JsonMode::JsonObjectSchema => {
                body["response_format"] = json!({"type": "json_object", "schema": request.schema});
            }
            JsonMode::JsonObject => body["response_format"] = json!({"type": "json_object"}),
            JsonMode::None => {}
        }
        if let Some(t) = self.temperature {
            body["temperature"] = json!(t);
        }
        if let Some(n) = request.max_tokens {
            body["max_tokens"] = json!(n);
        }
        body
    }

    /// Sends one request and waits at most `timeout` for the whole answer. Giving up drops the
    /// connection (the request future is dropped, and with it the socket), which a server that
    /// watches for disconnects — llama.cpp's `llama-server`, vLLM, Ollama — notices and stops
    /// generating for; `max_tokens` bounds the work of one that does not.
    pub async fn send(
        &self,
        http: &reqwest::Client,
        request: &ChatRequest<'_>,
        timeout: Duration,
    ) -> Result<ChatReply, ProviderError> {
        let mut builder = http
            .post(&self.url)
            .json(&self.body(request))
            .header("x-chief-task", request.schema_name)
            .header("x-chief-input", request.input_key);
        if let Some(version) = &self.azure_api_version {
            builder = builder.query(&[("api-version", version.as_str())]);
            if let Some(key) = &self.api_key {
                builder = builder.header("api-key", key.expose_secret());
            }
        } else if let Some(key) = &self.api_key {
            builder = builder.bearer_auth(key.expose_secret());
        }
        let exchange = async {
            let response = builder.send().await.map_err(network)?;
            let status = response.status().as_u16();
            let retry_after = retry_after(response.headers());
            let text = response.text().await.map_err(network)?;
            if !(200..300).contains(&status) {
                return Err(ProviderError::Status {
                    status,
                    retry_after,
                    message: error_message(&text),
                });
            }
            parse_reply(&text, request.messages)
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(ProviderError::Timeout(timeout)),
        }
    }
}

fn network(e: reqwest::Error) -> ProviderError {
    if e.is_timeout() {
        return ProviderError::Timeout(Duration::ZERO);
    }
    // The source chain names the actual cause (connection refused, reset…).
    ProviderError::Network(Chain(&e).to_string())
}

/// `retry-after-ms` (OpenAI, Azure) or `Retry-After` in seconds, at most an hour. An HTTP-date is
/// ignored: the gateway's own back-off applies then.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    const MAX_SECS: f64 = 3600.0;
    let value = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    value("retry-after-ms")
        .map(|ms| ms / 1000.0)
        .or_else(|| value("retry-after"))
        .map(|secs| Duration::from_secs_f64(secs.min(MAX_SECS)))
}

/// The `error.message` of an OpenAI-style error body, or the start of the body.
fn error_message(body: &str) -> String {
    #[derive(Deserialize)]
    struct Envelope {
        error: Detail,
    }
    #[derive(Deserialize)]
    struct Detail {
        message: String,
    }
    match serde_json::from_str::<Envelope>(body) {
        Ok(e) => e.error.message,
        Err(_) => body.chars().take(200).collect(),
    }
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

fn parse_reply(body: &str, messages: &[PromptMessage]) -> Result<ChatReply, ProviderError> {
    let completion: Completion = serde_json::from_str(body).map_err(|e| {
        ProviderError::BadResponse(format!("{e}; body starts {:?}", prefix(body, 80)))
    })?;
    let choice = completion
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| ProviderError::BadResponse("no choices".into()))?;
    // A refusal is an answer (an invalid one): the gateway's repair and fallback handle it.
    let content = choice
        .message
        .content
        .or(choice.message.refusal)
        .unwrap_or_default();
    let (prompt_tokens, completion_tokens, estimated_usage) = match completion.usage {
        Some(u) if u.prompt_tokens + u.completion_tokens > 0 => {
            (u.prompt_tokens, u.completion_tokens, false)
        }
        _ => (
            estimate_prompt_tokens(messages),
            estimate_tokens(&content),
            true,
        ),
    };
    Ok(ChatReply {
        content,
        prompt_tokens,
        completion_tokens,
        estimated_usage,
        finish_reason: choice.finish_reason,
    })
}

fn prefix(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// About four characters a token (see [`super::tokens`] for real counts): used when a reply has no
/// `usage`.
pub fn estimate_tokens(text: &str) -> u64 {
    super::tokens::estimate_tokens(text)
}

/// Tokens of a prompt by the estimate, with the few tokens of framing each message costs.
pub fn estimate_prompt_tokens(messages: &[PromptMessage]) -> u64 {
    super::tokens::Tokenizer::Estimate.count_prompt(messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(azure: bool, mode: JsonMode) -> DeploymentConfig {
        DeploymentConfig {
            name: "d".into(),
            base_url: "http://127.0.0.1:1/v1/".into(),
            api_key: Some("k".to_string().into()),
            model: "m".into(),
            azure_api_version: azure.then(|| "2024-10-21".into()),
            rpm: 1,
            tpm: 1,
            weight: 1,
            context_tokens: 1000,
            json_mode: mode,
            temperature: Some(0.0),
            kind: crate::config::DeploymentKind::Auto,
            max_concurrency: None,
            tokenizer: None,
        }
    }

    #[test]
    fn body_carries_the_schema_in_the_json_mode_the_server_understands() {
        let schema = json!({"type": "object"});
        let messages = vec![PromptMessage {
            role: "user".into(),
            content: "hi".into(),
        }];
        let request = ChatRequest {
            messages: &messages,
            schema_name: "t",
            schema: &schema,
            max_tokens: Some(10),
            json_mode: JsonMode::JsonSchema,
            input_key: "0123456789abcdef",
        };
        let with = |mode| ChatRequest {
            json_mode: mode,
            ..request.clone()
        };
        let body = Endpoint::new(&deployment(false, JsonMode::JsonSchema)).body(&request);
        assert_eq!(body["response_format"]["type"], "json_schema");
        assert_eq!(body["response_format"]["json_schema"]["schema"], schema);
        assert_eq!(body["max_tokens"], 10);
        assert_eq!(body["temperature"], 0.0);
        let body = Endpoint::new(&deployment(false, JsonMode::JsonObject))
            .body(&with(JsonMode::JsonObject));
        assert_eq!(body["response_format"], json!({"type": "json_object"}));
        let body = Endpoint::new(&deployment(false, JsonMode::JsonObjectSchema))
            .body(&with(JsonMode::JsonObjectSchema));
        assert_eq!(
            body["response_format"],
            json!({"type": "json_object", "schema": schema})
        );
        let body = Endpoint::new(&deployment(true, JsonMode::None)).body(&with(JsonMode::None));
        assert!(body.get("response_format").is_none());
        assert_eq!(
            Endpoint::new(&deployment(true, JsonMode::None)).url,
            "http://127.0.0.1:1/v1/chat/completions"
        );
    }

    #[test]
    fn replies_without_usage_are_estimated() {
        let reply = parse_reply(
            r#"{"choices":[{"message":{"content":"{\"a\":1}"},"finish_reason":"stop"}]}"#,
            &[],
        )
        .unwrap();
        assert_eq!(reply.content, r#"{"a":1}"#);
        assert!(reply.estimated_usage);
        assert_eq!(reply.completion_tokens, 2);
        let err = parse_reply("<html>bad gateway</html>", &[]).unwrap_err();
        assert!(matches!(err, ProviderError::BadResponse(_)));
        assert!(err.is_transient());
    }

    #[test]
    fn retry_after_is_read_in_milliseconds_or_seconds_and_capped() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = reqwest::header::HeaderMap::new();
            for (k, v) in pairs {
                map.insert(*k, reqwest::header::HeaderValue::from_static(v));
            }
            map
        };
        assert_eq!(
            retry_after(&headers(&[("retry-after", "2")])),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "2"), ("retry-after-ms", "250")])),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "1e30")])),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            retry_after(&headers(&[(
                "retry-after",
                "Wed, 21 Oct 2015 07:28:00 GMT"
            )])),
            None
        );
    }

    #[test]
    fn transient_errors_are_rate_limits_server_errors_and_transport() {
        let status = |status| ProviderError::Status {
            status,
            retry_after: None,
            message: String::new(),
        };
        assert!(status(429).is_transient());
        assert!(status(503).is_transient());
        assert!(!status(400).is_transient());
        assert!(!status(401).is_transient());
        let refused = |status, message: &str| ProviderError::Status {
            status,
            retry_after: None,
            message: message.into(),
        };
        // llama-cpp-python's answer to `json_schema`, word for word.
        assert!(refused(500, "1 validation error for CreateChatCompletionRequest\nresponse_format.type\n  Input should be 'text' or 'json_object'").refuses_response_format());
        assert!(
            refused(400, "Unsupported value: 'response_format.type' json_schema")
                .refuses_response_format()
        );
        assert!(!refused(500, "CUDA out of memory").refuses_response_format());
        assert!(!refused(429, "response_format rate limit").refuses_response_format());
        assert!(ProviderError::Timeout(Duration::from_secs(1)).is_transient());
    }
}
