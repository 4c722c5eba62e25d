//! The LLM gateway: every model call in chief goes through [`Gateway`].
//!
//! A caller hands it a [`Task`](crate::ai::tasks::Task) and an input; the gateway asks a model for the
//! task's typed output as JSON, parses and validates it (one repair round if it is wrong), and
//! records what it cost. Around that sit the things that make model calls safe to depend on:
//!
//! * several OpenAI-compatible deployments, load-balanced by weight among those with spare quota;
//! * per-deployment RPM/TPM limits and daily token budgets per team and overall, with a reserve
//!   for interactive calls and bounded back-pressure for background ones ([`limits`]);
//! * per-deployment concurrency with a fair queue ([`slots`]), the JSON mode each server accepts
//!   found by stepping down, `max_tokens` on every request, and real token counts ([`tokens`]);
//! * a timeout per request, exponential back-off with jitter honouring `Retry-After`, then the next
//!   deployment, all within one deadline per call;
//! * a response cache keyed by the hash of the canonical request ([`cache`]);
//! * accounting rows and Prometheus metrics for every call ([`accounting`]);
//! * and, when models are absent, refuse, fail or run out of budget, the task's own extractive
//!   answer ([`Gateway::run_or_extractive`]), so the product works with no model configured at all.

pub mod accounting;
pub mod cache;
pub mod gateway;
pub mod limits;
pub mod openai;
pub mod prompt;
pub mod slots;
pub mod tokens;

use std::time::Duration;

pub use gateway::{Gateway, Settings};
pub use limits::BudgetScope;
pub use openai::ProviderError;

/// Who is waiting for a call. Interactive calls (a user clicked something) may use the reserved
/// share of quotas and budgets and wait less for quota; background calls (pipelines) yield.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Priority {
    Interactive,
    #[default]
    Background,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Interactive => "interactive",
            Priority::Background => "background",
        }
    }
}

/// Who a call is for and how urgent it is.
#[derive(Clone, Debug, Default)]
pub struct CallOptions {
    /// The team whose budget pays (and whose usage report shows it).
    pub team_id: Option<String>,
    pub user_id: Option<String>,
    pub priority: Priority,
    /// A shorter deadline than the configured one (`deadline_secs`), for a caller in a hurry.
    pub deadline: Option<Duration>,
    /// Sent as `max_tokens` instead of the task's own [`Task::max_output_tokens`]; also the
    /// completion estimate for quotas and budgets.
    ///
    /// [`Task::max_output_tokens`]: crate::ai::tasks::Task::max_output_tokens
    pub max_output_tokens: Option<u32>,
    /// Text a reader will see (a briefing's personal text, an explanation), as opposed to shared
    /// work (summaries, grouping, ranking). On a slow or busy deployment it is served first, and
    /// shared work is what goes to the extractive engine (see [`gateway`]'s "Slow deployments").
    pub reader_facing: bool,
    /// Ask a model even if an identical request is cached (the fresh answer replaces the entry).
    pub skip_cache: bool,
}

impl CallOptions {
    /// A call a user is waiting for.
    pub fn interactive(team_id: &str, user_id: Option<&str>) -> Self {
        CallOptions {
            team_id: Some(team_id.to_string()),
            user_id: user_id.map(str::to_string),
            priority: Priority::Interactive,
            ..Default::default()
        }
    }

    /// Pipeline work for a team.
    pub fn background(team_id: &str) -> Self {
        CallOptions {
            team_id: Some(team_id.to_string()),
            priority: Priority::Background,
            ..Default::default()
        }
    }

    pub fn with_user(mut self, user_id: &str) -> Self {
        self.user_id = Some(user_id.to_string());
        self
    }

    /// Marks the call as text a reader will see ([`CallOptions::reader_facing`]).
    pub fn reader_facing(mut self) -> Self {
        self.reader_facing = true;
        self
    }

    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }
}

/// A task's typed output and how it was obtained.
#[derive(Clone, Debug)]
pub struct Answer<T> {
    pub output: T,
    pub source: Source,
    pub outcome: Outcome,
    /// Tokens spent by this call (including failed requests; zero for a cache hit).
    pub tokens: TokenUsage,
    pub latency: Duration,
    /// HTTP requests made to models (a repair counts).
    pub attempts: u32,
    /// Every request made, in order.
    pub trail: Vec<Attempt>,
}

/// Where an answer came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Model { deployment: String },
    Cache,
    Extractive { reason: FallbackReason },
}

/// How a call ended, as recorded in accounting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A valid answer at the first try (or from the cache).
    Ok,
    /// Valid after one repair round.
    Repaired,
    /// No valid answer; the caller got a [`GatewayError`].
    Failed,
    /// No valid model answer; the extractive engine answered.
    Fallback,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Repaired => "repaired",
            Outcome::Failed => "failed",
            Outcome::Fallback => "fallback",
        }
    }
}

/// Why no model answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FallbackReason {
    /// No deployment is configured: the extractive engine is the default.
    NoModel,
    /// A daily token budget is spent.
    Budget,
    /// No deployment had rate-limit quota within the allowed wait.
    Overloaded,
    /// The request does not fit any deployment's context window or token quota.
    TooLarge,
    /// Every deployment failed (errors, timeouts, rate limits) after retries.
    Unavailable,
    /// Models answered, but not with valid output even after a repair.
    InvalidOutput,
    /// The call's deadline passed.
    Deadline,
    /// The deployment was too slow or busy to serve this call in time: its queue would not reach
    /// it within the allowed wait, so it was not sent (shared work yields to text readers see).
    Busy,
}

impl FallbackReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FallbackReason::NoModel => "no_model",
            FallbackReason::Budget => "budget",
            FallbackReason::Overloaded => "overloaded",
            FallbackReason::TooLarge => "too_large",
            FallbackReason::Unavailable => "unavailable",
            FallbackReason::InvalidOutput => "invalid_output",
            FallbackReason::Deadline => "deadline",
            FallbackReason::Busy => "busy",
        }
    }
}

impl std::fmt::Display for FallbackReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenUsage {
    pub prompt: u64,
    pub completion: u64,
}

impl TokenUsage {
    pub fn total(&self) -> u64 {
        self.prompt + self.completion
    }
}

/// One HTTP request a call made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub deployment: String,
    /// This request asked the model to correct its previous answer.
    pub repair: bool,
    pub result: AttemptResult,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptResult {
    /// Valid output.
    Ok,
    /// The model answered, but the output did not parse or validate (the reason).
    Invalid(String),
    /// No answer (HTTP error, timeout, transport failure, garbled body).
    Error(ProviderError),
}

impl Attempt {
    /// `deployment:result`, e.g. `a:429`, `a:invalid`, `a:repair-ok`.
    pub fn label(&self) -> String {
        let result = match &self.result {
            AttemptResult::Ok => "ok".to_string(),
            AttemptResult::Invalid(_) => "invalid".to_string(),
            AttemptResult::Error(e) => e.label(),
        };
        let repair = if self.repair { "repair-" } else { "" };
        format!("{}:{repair}{result}", self.deployment)
    }
}

/// Why a call produced no model answer. [`Gateway::run`] returns it; [`Gateway::run_or_extractive`]
/// answers with the task's extractive output instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    #[error("no model deployment is configured")]
    NotConfigured,
    #[error("the {scope} daily token budget is spent ({spent} of {limit} tokens)")]
    BudgetExhausted {
        scope: BudgetScope,
        spent: u64,
        limit: u64,
    },
    #[error("no deployment had rate-limit quota within {waited:?}")]
    Overloaded { waited: Duration },
    #[error("the request needs about {tokens} tokens, more than any deployment accepts")]
    TooLarge { tokens: u64 },
    #[error("every deployment failed after {attempts} requests; last error: {last}")]
    Unavailable { attempts: u32, last: String },
    #[error("the model's output stayed invalid after a repair: {reason}")]
    InvalidOutput { attempts: u32, reason: String },
    #[error("the call's deadline of {0:?} passed")]
    Deadline(Duration),
    #[error(
        "deployment {deployment} is busy: about {expected:?} of queue ahead, {allowed:?} allowed"
    )]
    Busy {
        deployment: String,
        expected: Duration,
        allowed: Duration,
    },
}

impl GatewayError {
    pub fn reason(&self) -> FallbackReason {
        match self {
            GatewayError::NotConfigured => FallbackReason::NoModel,
            GatewayError::BudgetExhausted { .. } => FallbackReason::Budget,
            GatewayError::Overloaded { .. } => FallbackReason::Overloaded,
            GatewayError::TooLarge { .. } => FallbackReason::TooLarge,
            GatewayError::Unavailable { .. } => FallbackReason::Unavailable,
            GatewayError::InvalidOutput { .. } => FallbackReason::InvalidOutput,
            GatewayError::Deadline(_) => FallbackReason::Deadline,
            GatewayError::Busy { .. } => FallbackReason::Busy,
        }
    }
}
