//! Settings, read once at start-up from the environment (12-factor) with an optional `chief.toml`.
//!
//! The environment wins over the file so that a container can override a checked-in file. Nothing
//! deeper in the code reads environment variables: everything it needs is in [`Config`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

/// A setting is missing or unreadable: one line, naming it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("missing required setting {0}")]
    Missing(&'static str),
    #[error("setting {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("cannot read {path}: {reason}")]
    File { path: PathBuf, reason: String },
}

/// One model deployment (an OpenAI-compatible endpoint), as listed under `[[llm.deployments]]`.
#[derive(Clone, Debug, Deserialize)]
pub struct DeploymentConfig {
    /// A short name used in logs, accounting and metrics.
    pub name: String,
    /// Base URL up to and including `/v1` (OpenAI, vLLM, Ollama, llama.cpp) or the Azure deployment
    /// URL (`https://…/openai/deployments/NAME`).
    pub base_url: String,
    #[serde(default)]
    pub api_key: Option<SecretString>,
    pub model: String,
    /// Azure OpenAI: sends `api-key` instead of a bearer token and adds `api-version`.
    #[serde(default)]
    pub azure_api_version: Option<String>,
    /// Requests per minute this deployment allows us.
    #[serde(default = "default_rpm")]
    pub rpm: u32,
    /// Tokens per minute this deployment allows us.
    #[serde(default = "default_tpm")]
    pub tpm: u32,
    /// Relative share of the load when several deployments have spare quota.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Context window in tokens; longer inputs are chunked by the tasks.
    #[serde(default = "default_context_tokens")]
    pub context_tokens: u32,
    /// How the gateway asks this deployment for JSON. `auto` (the default) starts at `json_schema`
    /// and steps down when the server refuses a `response_format`; any other value is used as is.
    #[serde(default)]
    pub json_mode: JsonMode,
    /// `local` (a model on your own hardware: Ollama, llama.cpp, LM Studio) or `hosted`; unset,
    /// a loopback address or Ollama's port means local. Local deployments get one request at a
    /// time unless `max_concurrency` says otherwise.
    #[serde(default)]
    pub kind: DeploymentKind,
    /// Requests in flight at once on this deployment; more wait in a fair queue (interactive
    /// first). Default: 1 for a local deployment, 32 for a hosted one.
    #[serde(default)]
    pub max_concurrency: Option<u32>,
    /// A Hugging Face `tokenizer.json` for counting this model's tokens (needs the
    /// `hf-tokenizers` build feature). Without it OpenAI model names are counted with their own
    /// tokenizer (tiktoken) and other models are estimated.
    #[serde(default)]
    pub tokenizer: Option<PathBuf>,
    /// Sampling temperature sent with every request; unset leaves the server's default (some
    /// reasoning models accept no other value).
    #[serde(default)]
    pub temperature: Option<f32>,
}

/// The `response_format` a deployment understands. `auto` (the default) finds it: it starts at
/// `json_schema` and steps down (`json_object_schema`, `json_object`, `none`) when the server
/// refuses a `response_format`, remembering the answer per deployment. `json_schema` suits OpenAI,
/// Azure (2024-08-01 and later), vLLM, llama.cpp's `llama-server`, Ollama and LM Studio;
/// `json_object_schema` sends `{"type": "json_object", "schema": …}` (llama-cpp-python's server);
/// `json_object` asks for any JSON; `none` sends no `response_format` (the schema is still in the
/// prompt, and the gateway validates either way).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonMode {
    #[default]
    Auto,
    JsonSchema,
    JsonObjectSchema,
    JsonObject,
    None,
}

impl std::str::FromStr for JsonMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "auto" => Ok(JsonMode::Auto),
            "json_schema" => Ok(JsonMode::JsonSchema),
            "json_object_schema" => Ok(JsonMode::JsonObjectSchema),
            "json_object" => Ok(JsonMode::JsonObject),
            "none" => Ok(JsonMode::None),
            other => Err(format!(
                "{other:?} is not one of auto, json_schema, json_object_schema, json_object, none"
            )),
        }
    }
}

impl JsonMode {
    pub fn as_str(self) -> &'static str {
        match self {
            JsonMode::Auto => "auto",
            JsonMode::JsonSchema => "json_schema",
            JsonMode::JsonObjectSchema => "json_object_schema",
            JsonMode::JsonObject => "json_object",
            JsonMode::None => "none",
        }
    }
}

/// Where a deployment runs, which sets its defaults (see [`DeploymentConfig::concurrency`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentKind {
    /// Local when the base URL is a loopback address or Ollama's port (11434), hosted otherwise.
    #[default]
    Auto,
    /// A server on your own hardware that runs one or a few requests at a time.
    Local,
    /// A hosted API (OpenAI, Azure, a vLLM cluster): many requests at once, limited by RPM/TPM.
    Hosted,
}

impl std::str::FromStr for DeploymentKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "auto" => Ok(DeploymentKind::Auto),
            "local" => Ok(DeploymentKind::Local),
            "hosted" => Ok(DeploymentKind::Hosted),
            other => Err(format!("{other:?} is not one of auto, local, hosted")),
        }
    }
}

impl DeploymentConfig {
    /// Whether this deployment is a model on local hardware (set, or detected from the URL).
    pub fn is_local(&self) -> bool {
        match self.kind {
            DeploymentKind::Local => true,
            DeploymentKind::Hosted => false,
            DeploymentKind::Auto => url::Url::parse(&self.base_url).is_ok_and(|u| {
                let loopback = match u.host() {
                    Some(url::Host::Domain(d)) => d == "localhost",
                    Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                    Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                    None => false,
                };
                loopback || u.port() == Some(11434)
            }),
        }
    }

    /// Requests this deployment runs at once: `max_concurrency`, else 1 for a local server (a
    /// laptop's llama.cpp or Ollama serves one at a time; more only queue there, out of chief's
    /// sight and past its timeouts), else 32.
    pub fn concurrency(&self) -> u32 {
        self.max_concurrency
            .filter(|n| *n > 0)
            .unwrap_or(if self.is_local() { 1 } else { 32 })
    }
}

fn default_rpm() -> u32 {
    600
}
fn default_tpm() -> u32 {
    200_000
}
fn default_weight() -> u32 {
    1
}
fn default_context_tokens() -> u32 {
    16_000
}

/// The model side of chief. With no deployment, the built-in extractive engine does every task.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct LlmConfig {
    #[serde(default)]
    pub deployments: Vec<DeploymentConfig>,
    /// Seconds one model call may take before it is abandoned and retried elsewhere.
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// Tokens a team may spend per UTC day (0 = unlimited).
    #[serde(default)]
    pub team_daily_tokens: Option<u64>,
    /// Tokens the whole deployment may spend per UTC day (0 = unlimited).
    #[serde(default)]
    pub global_daily_tokens: Option<u64>,
    /// How long a cached model answer stays valid, in seconds.
    #[serde(default)]
    pub cache_ttl_secs: Option<u64>,
    /// Seconds a whole gateway call (queueing, retries, repair) may take before it gives up.
    #[serde(default)]
    pub deadline_secs: Option<u64>,
    /// Retries of one deployment after a 429, 5xx, timeout or network error (default 2).
    #[serde(default)]
    pub max_retries: Option<u32>,
    /// First back-off delay in milliseconds; doubled on each retry, with jitter (default 500).
    #[serde(default)]
    pub retry_base_ms: Option<u64>,
    /// Seconds a background call may wait for rate-limit quota before falling back (default 60).
    #[serde(default)]
    pub background_wait_secs: Option<u64>,
    /// Seconds an interactive call may wait for rate-limit quota (default 10).
    #[serde(default)]
    pub interactive_wait_secs: Option<u64>,
    /// Share of every limit (RPM, TPM, daily budgets) kept for interactive calls (default 0.2).
    #[serde(default)]
    pub interactive_reserve: Option<f64>,
}

/// The shape of `chief.toml`; every field is optional and the environment overrides it.
#[derive(Debug, Default, Deserialize)]
struct FileConfig {
    database_url: Option<String>,
    listen: Option<String>,
    slack_api_url: Option<String>,
    public_url: Option<String>,
    ingest_bot_messages: Option<bool>,
    backfill_days: Option<u32>,
    retention_days: Option<u32>,
    #[serde(default)]
    llm: LlmConfig,
}

/// Everything chief needs to run, resolved once.
#[derive(Clone)]
pub struct Config {
    /// `sqlite://…` (default `sqlite://chief.db`) or `postgres://…`.
    pub database_url: String,
    pub listen: SocketAddr,
    /// Verifies every request from Slack. Required by `serve` (see [`Config::require_signing_secret`]).
    pub signing_secret: Option<SecretString>,
    /// Single-workspace mode: the bot token of the one workspace chief serves.
    pub bot_token: Option<SecretString>,
    /// Socket Mode when set (an `xapp-` token).
    pub app_token: Option<SecretString>,
    /// Slack Web API base, without a trailing slash.
    pub slack_api_url: String,
    /// OAuth v2 multi-workspace install (client id and secret), optional.
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    /// The URL Slack reaches chief at, used for the OAuth redirect.
    pub public_url: Option<String>,
    /// Key for encrypting tokens at rest (32 bytes, base64).
    pub secret_key: Option<SecretString>,
    /// Keys used before a rotation, comma-separated; still accepted for reading.
    pub secret_key_previous: Option<SecretString>,
    /// Store messages from other bots too (chief's own are always ignored).
    pub ingest_bot_messages: bool,
    /// How many days of history a backfill fetches.
    pub backfill_days: u32,
    /// Message text older than this many days is purged.
    pub retention_days: u32,
    /// How long a worker's claim on a stored request lasts without renewal. A crashed process's
    /// requests are picked up again after at most this long (renewed while work is under way).
    pub inbox_lease_secs: u32,
    pub llm: LlmConfig,
}

/// Secrets are `SecretString`s (printed redacted); the database URL may hold a password too.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field(
                "database_url",
                &crate::platform::db::redact_url(&self.database_url),
            )
            .field("listen", &self.listen)
            .field("signing_secret", &self.signing_secret)
            .field("bot_token", &self.bot_token)
            .field("app_token", &self.app_token)
            .field("slack_api_url", &self.slack_api_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("public_url", &self.public_url)
            .field("secret_key", &self.secret_key)
            .field("secret_key_previous", &self.secret_key_previous)
            .field("ingest_bot_messages", &self.ingest_bot_messages)
            .field("backfill_days", &self.backfill_days)
            .field("retention_days", &self.retention_days)
            .field("inbox_lease_secs", &self.inbox_lease_secs)
            .field("llm", &self.llm)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads `chief.toml` (or the file named by `CHIEF_CONFIG`) if present, then the environment.
    pub fn load() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`Config::load`] but with an explicit variable lookup, so tests do not touch the process
    /// environment.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let file = match var("CHIEF_CONFIG") {
            Some(path) => read_file(Path::new(&path))?,
            None if Path::new("chief.toml").exists() => read_file(Path::new("chief.toml"))?,
            None => FileConfig::default(),
        };
        let non_empty = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let secret = |name: &str| non_empty(name).map(SecretString::from);

        let listen_raw = non_empty("CHIEF_LISTEN")
            .or(file.listen)
            .unwrap_or_else(|| "0.0.0.0:3000".into());
        let listen = listen_raw.parse().map_err(|e| ConfigError::Invalid {
            name: "CHIEF_LISTEN",
            reason: format!("{listen_raw:?} is not host:port ({e})"),
        })?;

        let slack_api_url = non_empty("SLACK_API_URL")
            .or(file.slack_api_url)
            .unwrap_or_else(|| "https://slack.com/api/".into());
        url::Url::parse(&slack_api_url).map_err(|e| ConfigError::Invalid {
            name: "SLACK_API_URL",
            reason: e.to_string(),
        })?;

        let mut llm = file.llm;
        if let Some(base_url) = non_empty("OPENAI_BASE_URL").or_else(|| {
            // An API key alone means OpenAI itself.
            non_empty("OPENAI_API_KEY").map(|_| "https://api.openai.com/v1".to_string())
        }) {
            llm.deployments.insert(
                0,
                DeploymentConfig {
                    name: "default".into(),
                    base_url,
                    api_key: secret("OPENAI_API_KEY"),
                    model: non_empty("CHIEF_LLM_MODEL").unwrap_or_else(|| "gpt-4o-mini".into()),
                    azure_api_version: non_empty("AZURE_OPENAI_API_VERSION"),
                    rpm: parse_num(&var, "CHIEF_LLM_RPM")?.unwrap_or_else(default_rpm),
                    tpm: parse_num(&var, "CHIEF_LLM_TPM")?.unwrap_or_else(default_tpm),
                    weight: 1,
                    context_tokens: parse_num(&var, "CHIEF_LLM_CONTEXT_TOKENS")?
                        .unwrap_or_else(default_context_tokens),
                    json_mode: parse_num(&var, "CHIEF_LLM_JSON_MODE")?.unwrap_or_default(),
                    temperature: None,
                    kind: parse_num(&var, "CHIEF_LLM_KIND")?.unwrap_or_default(),
                    max_concurrency: parse_num(&var, "CHIEF_LLM_MAX_CONCURRENCY")?,
                    tokenizer: non_empty("CHIEF_LLM_TOKENIZER").map(PathBuf::from),
                },
            );
        }

        // The scalar model settings can come from the environment too (12-factor).
        if let Some(v) = parse_num(&var, "CHIEF_LLM_TIMEOUT_SECS")? {
            llm.timeout_secs = Some(v);
        }
        if let Some(v) = parse_num(&var, "CHIEF_LLM_TEAM_DAILY_TOKENS")? {
            llm.team_daily_tokens = Some(v);
        }
        if let Some(v) = parse_num(&var, "CHIEF_LLM_GLOBAL_DAILY_TOKENS")? {
            llm.global_daily_tokens = Some(v);
        }
        if let Some(v) = parse_num(&var, "CHIEF_LLM_CACHE_TTL_SECS")? {
            llm.cache_ttl_secs = Some(v);
        }

        Ok(Config {
            database_url: non_empty("DATABASE_URL")
                .or(file.database_url)
                .unwrap_or_else(|| "sqlite://chief.db".into()),
            listen,
            signing_secret: secret("SLACK_SIGNING_SECRET"),
            bot_token: secret("SLACK_BOT_TOKEN"),
            app_token: secret("SLACK_APP_TOKEN"),
            slack_api_url: slack_api_url.trim_end_matches('/').to_string(),
            client_id: non_empty("SLACK_CLIENT_ID"),
            client_secret: secret("SLACK_CLIENT_SECRET"),
            public_url: non_empty("CHIEF_PUBLIC_URL").or(file.public_url),
            secret_key: secret("CHIEF_SECRET_KEY"),
            secret_key_previous: secret("CHIEF_SECRET_KEY_PREVIOUS"),
            ingest_bot_messages: parse_bool(&var, "CHIEF_INGEST_BOT_MESSAGES")?
                .or(file.ingest_bot_messages)
                .unwrap_or(false),
            backfill_days: parse_num(&var, "CHIEF_BACKFILL_DAYS")?
                .or(file.backfill_days)
                .unwrap_or(7),
            retention_days: parse_num(&var, "CHIEF_RETENTION_DAYS")?
                .or(file.retention_days)
                .unwrap_or(90),
            inbox_lease_secs: parse_num(&var, "CHIEF_INBOX_LEASE_SECS")?
                .unwrap_or(30)
                .max(1),
            llm,
        })
    }

    /// `serve` cannot verify Slack's requests without the signing secret.
    pub fn require_signing_secret(&self) -> Result<&SecretString, ConfigError> {
        self.signing_secret
            .as_ref()
            .ok_or(ConfigError::Missing("SLACK_SIGNING_SECRET"))
    }

    /// The token cipher, when a key is configured; a malformed key is an error at start-up.
    pub fn token_cipher(
        &self,
    ) -> Result<Option<crate::platform::secrets::TokenCipher>, ConfigError> {
        self.secret_key
            .as_ref()
            .map(|key| {
                crate::platform::secrets::TokenCipher::new(key, self.secret_key_previous.as_ref())
            })
            .transpose()
            .map_err(|e| ConfigError::Invalid {
                name: "CHIEF_SECRET_KEY",
                reason: e.to_string(),
            })
    }

    /// Multi-workspace install is on when the OAuth client credentials are set.
    pub fn oauth_enabled(&self) -> bool {
        self.client_id.is_some() && self.client_secret.is_some()
    }

    /// A configuration for tests and one-shot CLI commands: defaults, a given database.
    pub fn for_database(database_url: &str) -> Self {
        let mut config =
            Self::from_lookup(|_| None).expect("the built-in defaults are always valid");
        config.database_url = database_url.to_string();
        config
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
        path: path.into(),
        reason: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::File {
        path: path.into(),
        reason: toml_error(&text, &e),
    })
}

/// The parser's message and position, without the quoted source line that `toml`'s own message
/// includes: that line may hold an API key.
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("{} (line {line}, column {column})", e.message().trim())
        }
        None => e.message().trim().to_string(),
    }
}

fn parse_num<T: std::str::FromStr>(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<T>, ConfigError>
where
    T::Err: std::fmt::Display,
{
    var(name)
        .filter(|v| !v.trim().is_empty())
        .map(|v| {
            v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
                name,
                reason: e.to_string(),
            })
        })
        .transpose()
}

fn parse_bool(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<bool>, ConfigError> {
    match var(name).as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some("1" | "true" | "yes" | "on") => Ok(Some(true)),
        Some("0" | "false" | "no" | "off") => Ok(Some(false)),
        Some(other) => Err(ConfigError::Invalid {
            name,
            reason: format!("{other:?} is not a boolean"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_need_nothing() {
        let c = config(&[]).unwrap();
        assert_eq!(c.database_url, "sqlite://chief.db");
        assert_eq!(c.listen.to_string(), "0.0.0.0:3000");
        assert_eq!(c.slack_api_url, "https://slack.com/api");
        assert!(c.llm.deployments.is_empty(), "extractive engine by default");
        assert_eq!(c.backfill_days, 7);
        assert_eq!(c.retention_days, 90);
    }

    #[test]
    fn serve_names_the_missing_signing_secret() {
        let err = config(&[]).unwrap().require_signing_secret().unwrap_err();
        assert_eq!(
            err.to_string(),
            "missing required setting SLACK_SIGNING_SECRET"
        );
    }

    #[test]
    fn openai_settings_make_a_default_deployment() {
        let c = config(&[
            ("OPENAI_BASE_URL", "http://127.0.0.1:8081/v1"),
            ("OPENAI_API_KEY", "sk-test"),
            ("CHIEF_LLM_MODEL", "smollm2"),
        ])
        .unwrap();
        let d = &c.llm.deployments[0];
        assert_eq!(d.base_url, "http://127.0.0.1:8081/v1");
        assert_eq!(d.model, "smollm2");
        assert_eq!(d.api_key.as_ref().unwrap().expose_secret(), "sk-test");
        assert_eq!(d.json_mode, JsonMode::Auto, "found, not configured");
        assert!(d.is_local(), "a loopback URL is a local model");
        assert_eq!(d.concurrency(), 1);
    }

    #[test]
    fn local_models_get_one_slot_and_hosted_ones_many() {
        let c = config(&[
            ("OPENAI_BASE_URL", "https://api.openai.com/v1"),
            ("CHIEF_LLM_JSON_MODE", "json_object_schema"),
        ])
        .unwrap();
        let d = &c.llm.deployments[0];
        assert!(!d.is_local());
        assert_eq!(d.concurrency(), 32);
        assert_eq!(d.json_mode, JsonMode::JsonObjectSchema, "an override");
        let c = config(&[
            ("OPENAI_BASE_URL", "http://gpu-box.lan:11434/v1"),
            ("CHIEF_LLM_MAX_CONCURRENCY", "2"),
        ])
        .unwrap();
        assert!(c.llm.deployments[0].is_local(), "Ollama's port");
        assert_eq!(c.llm.deployments[0].concurrency(), 2);
        let c = config(&[
            ("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1"),
            ("CHIEF_LLM_KIND", "hosted"),
        ])
        .unwrap();
        assert_eq!(c.llm.deployments[0].concurrency(), 32, "a vLLM box said so");
    }

    #[test]
    fn bad_values_are_named() {
        let err = config(&[("CHIEF_LISTEN", "nope")]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("setting CHIEF_LISTEN is invalid")
        );
        let err = config(&[("CHIEF_BACKFILL_DAYS", "x")]).unwrap_err();
        assert!(err.to_string().contains("CHIEF_BACKFILL_DAYS"));
    }

    #[test]
    fn a_broken_file_is_located_without_quoting_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chief.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:1\"\napi_key = \"sk-123\" x = 1\n",
        )
        .unwrap();
        let err = read_file(&path).unwrap_err().to_string();
        assert!(err.contains("line 2, column"), "{err}");
        assert!(!err.contains("sk-123"), "{err}");
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let c = config(&[("SLACK_BOT_TOKEN", "xoxb-very-secret")]).unwrap();
        assert!(!format!("{c:?}").contains("xoxb-very-secret"));
    }
}
