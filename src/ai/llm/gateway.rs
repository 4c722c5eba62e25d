//! The gateway itself: choose a deployment, send, retry or move on, parse, repair, cache, record.
//!
//! # Retries and fallbacks
//!
//! A call has one deadline (`deadline_secs`, default 180 s, or [`CallOptions::deadline`]); every
//! wait and every request is cut to what is left of it, so a call never hangs.
//!
//! 1. **Deployment choice.** Smooth weighted round-robin over the deployments that are not cooling
//!    down and have quota for this priority (see [`super::limits`]); a deployment's `weight` is its
//!    share, `0` makes it a standby used only when the others cannot serve.
//! 2. **Slot.** The deployment runs at most `max_concurrency` requests at once; a call waits for a
//!    slot in a fair queue ([`super::slots`]: interactive first, then text a reader will see),
//!    within the same bound as the quota wait.
//! 3. **Request** with `max_tokens` (the task's need) and a timeout (`timeout_secs`, default 60 s)
//!    counted from when it is sent, not from when the call began queueing.
//! 4. **Transient failure** (429, 5xx, timeout, transport error, garbled body): the deployment
//!    cools down for `Retry-After` (or `retry-after-ms`) when given, otherwise for an exponential
//!    back-off with jitter (`retry_base_ms` × 2ⁿ, capped at 30 s). The cool-down is shared by all
//!    calls, so a failing deployment sheds its load to the others at once. The call continues on
//!    another deployment with quota, or waits for this one; after `max_retries` retries of a
//!    deployment (default 2) it is not tried again by this call.
//! 5. **Permanent failure** (other 4xx: bad key, unknown model): the deployment cools down and is
//!    not tried again by this call.
//! 6. **Invalid output** (not JSON, wrong shape, or refused by [`Task::validate`]): one repair round
//!    on the same deployment — the rejected answer and the reason are sent back. If the repaired
//!    answer is still invalid, the call moves on to the next deployment.
//! 7. When nothing is left: [`Gateway::run`] returns the [`GatewayError`];
//!    [`Gateway::run_or_extractive`] answers with [`Task::extractive`].
//!
//! # JSON mode, found rather than configured
//!
//! A deployment with `json_mode = "auto"` (the default) is first asked with `json_schema`. When the
//! server refuses a `response_format` (a 4xx/5xx whose message names it — llama-cpp-python answers
//! `json_schema` with a 500), the deployment steps down `json_schema` → `json_object_schema` →
//! `json_object` → `none`, remembers it for the life of the process, logs it once, and the same
//! request is sent again at once: no retry, no cool-down, no failure counted.
//!
//! # Slow deployments
//!
//! Before a call joins a deployment's queue it estimates its wait from the service times measured
//! there. Text a reader will see ([`CallOptions::reader_facing`]) is served first and joins while
//! the wait fits its bound; shared work (summaries, grouping, ranking) joins only while the wait fits
//! half of it. A call that would not be served in time is not sent at all: it is answered by the
//! extractive engine at once with reason `busy` (`chief usage` shows it), so a one-slot laptop
//! model writes the personal text and explanations and the briefing is still ready on time.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;
use tracing::{Instrument, debug, info, info_span, warn};

use super::limits::{self, BudgetScope, Denied, InFlight, Quotas, Reservation};
use super::openai::{ChatRequest, Endpoint, ProviderError};
use super::slots::{Rank, Slots};
use super::tokens::Tokenizer;
use super::{
    Answer, Attempt, AttemptResult, CallOptions, FallbackReason, GatewayError, Outcome, Priority,
    Source, TokenUsage, accounting, cache, prompt,
};
use crate::ai::tasks::{PromptMessage, Task};
use crate::config::{DeploymentConfig, JsonMode, LlmConfig};
use crate::platform::db::Db;
use crate::platform::db::llm::{self as repo, CachedAnswer};
use crate::platform::retry::backoff;

/// The gateway's knobs, resolved from [`LlmConfig`] (tests set durations below a second).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Per-request timeout.
    pub timeout: Duration,
    /// Whole-call deadline (queueing, retries, repair).
    pub deadline: Duration,
    /// Retries of one deployment within a call after transient failures.
    pub max_retries: u32,
    /// First back-off delay; doubled per consecutive failure of a deployment, with jitter.
    pub retry_base: Duration,
    /// Longest back-off (a `Retry-After` may ask for more and is honoured).
    pub retry_max: Duration,
    /// Longest wait for rate-limit quota, by priority.
    pub interactive_wait: Duration,
    pub background_wait: Duration,
    /// Daily token budgets (`None` = unlimited).
    pub team_daily_tokens: Option<u64>,
    pub global_daily_tokens: Option<u64>,
    /// Share of quotas and budgets only interactive calls may use.
    pub interactive_reserve: f64,
    pub cache_ttl: Duration,
    /// Completion tokens assumed for quota and budget checks when a call sets no `max_output_tokens`.
    pub completion_estimate: u64,
    /// The window a deployment's `rpm` and `tpm` are counted over: a minute (tests shorten it).
    pub quota_period: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::from_config(&LlmConfig::default())
    }
}

impl Settings {
    pub fn from_config(c: &LlmConfig) -> Self {
        let secs = |v: Option<u64>, default: u64| Duration::from_secs(v.unwrap_or(default));
        Settings {
            timeout: secs(c.timeout_secs.filter(|v| *v > 0), 60),
            deadline: secs(c.deadline_secs.filter(|v| *v > 0), 180),
            max_retries: c.max_retries.unwrap_or(2),
            retry_base: Duration::from_millis(c.retry_base_ms.unwrap_or(500)),
            retry_max: Duration::from_secs(30),
            interactive_wait: secs(c.interactive_wait_secs, 10),
            background_wait: secs(c.background_wait_secs, 60),
            team_daily_tokens: c.team_daily_tokens.filter(|v| *v > 0),
            global_daily_tokens: c.global_daily_tokens.filter(|v| *v > 0),
            interactive_reserve: c.interactive_reserve.unwrap_or(0.2).clamp(0.0, 1.0),
            cache_ttl: secs(c.cache_ttl_secs, 7 * 24 * 3600),
            completion_estimate: 512,
            quota_period: Duration::from_secs(60),
        }
    }
}

/// The one way chief calls models. Cheap to clone; share one per process (it holds the rate
/// limiters and deployment health).
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("deployments", &self.deployment_names())
            .finish()
    }
}

struct Inner {
    db: Db,
    http: reqwest::Client,
    settings: Settings,
    deployments: Vec<Deployment>,
    /// Smooth weighted round-robin state, one entry per deployment.
    current_weights: Mutex<Vec<i64>>,
    in_flight: InFlight,
    last_purge: AtomicI64,
}

struct Deployment {
    name: String,
    model: String,
    weight: i64,
    context_tokens: u64,
    endpoint: Endpoint,
    quotas: Quotas,
    health: Mutex<Health>,
    slots: Slots,
    tokenizer: Tokenizer,
    /// The JSON mode in use: configured, or found by stepping down (`auto`).
    json_mode: Mutex<JsonMode>,
    /// Configured explicitly: never stepped down.
    json_mode_fixed: bool,
}

#[derive(Default)]
struct Health {
    /// Not to be used before this (Retry-After or back-off after failures).
    cool_until: Option<Instant>,
    consecutive_failures: u32,
}

/// What the call did so far, recorded whatever the result.
#[derive(Default)]
struct Progress {
    trail: Vec<Attempt>,
    tokens: TokenUsage,
    deployment: Option<String>,
}

/// How a model call succeeded.
struct Success<O> {
    output: O,
    source: Source,
    outcome: Outcome,
}

enum PickError {
    /// Every deployment was tried as often as allowed.
    NothingLeft,
    /// No deployment can ever take this request.
    TooLarge,
    /// Waiting for one would pass the deadline (`true`) or the allowed queueing time.
    WouldWait { past_deadline: bool },
}

/// Why the last deployment gave up, to name in the error.
enum LastFailure {
    Provider(ProviderError),
    Invalid(String),
}

impl Gateway {
    /// The gateway described by `config`; with no deployment every call is answered by the
    /// extractive engine.
    pub fn new(db: Db, config: &LlmConfig) -> Self {
        Self::with_settings(
            db,
            config.deployments.clone(),
            Settings::from_config(config),
        )
    }

    pub fn with_settings(db: Db, deployments: Vec<DeploymentConfig>, settings: Settings) -> Self {
        // reqwest's rustls needs a process-wide crypto provider; installing it twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("chief/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_else(|e| {
                warn!(error = %e, "custom HTTP client unavailable, using defaults");
                reqwest::Client::new()
            });
        let deployments: Vec<Deployment> = deployments
            .iter()
            .map(|d| Deployment {
                slots: Slots::new(&d.name, d.concurrency()),
                tokenizer: Tokenizer::for_deployment(&d.model, d.tokenizer.as_deref()),
                json_mode: Mutex::new(d.json_mode),
                json_mode_fixed: d.json_mode != JsonMode::Auto,
                name: d.name.clone(),
                model: d.model.clone(),
                weight: i64::from(d.weight),
                context_tokens: u64::from(d.context_tokens),
                endpoint: Endpoint::new(d),
                quotas: Quotas::new(
                    d.rpm,
                    d.tpm,
                    settings.interactive_reserve,
                    settings.quota_period,
                ),
                health: Mutex::new(Health::default()),
            })
            .collect();
        for d in &deployments {
            info!(
                deployment = %d.name,
                concurrency = d.slots.capacity(),
                tokenizer = d.tokenizer.name(),
                json_mode = d.json_mode().as_str(),
                "model deployment"
            );
        }
        let current_weights = Mutex::new(vec![0; deployments.len()]);
        Gateway {
            inner: Arc::new(Inner {
                db,
                http,
                settings,
                deployments,
                current_weights,
                in_flight: InFlight::default(),
                last_purge: AtomicI64::new(0),
            }),
        }
    }

    /// True when at least one model deployment is configured.
    pub fn is_configured(&self) -> bool {
        !self.inner.deployments.is_empty()
    }

    pub fn deployment_names(&self) -> Vec<String> {
        self.inner
            .deployments
            .iter()
            .map(|d| d.name.clone())
            .collect()
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Asks a model; on any failure returns the typed error so the caller can choose its own
    /// fallback (retry the pipeline step later, say). Recorded with outcome `failed`.
    pub async fn run<T: Task>(
        &self,
        task: &T,
        input: &T::Input,
        options: &CallOptions,
    ) -> Result<Answer<T::Output>, GatewayError> {
        let started = Instant::now();
        match self.attempt(task, input, options, started).await {
            Ok(answer) => Ok(answer),
            Err((error, progress)) => {
                let reason = error.reason();
                self.record_unanswered(task, options, &progress, Outcome::Failed, reason, started)
                    .await;
                Err(error)
            }
        }
    }

    /// Asks a model and, when that fails for any reason (none configured, budget, errors, invalid
    /// output, deadline), answers with the task's extractive output. Never fails, never hangs: the
    /// normal way to run a task.
    pub async fn run_or_extractive<T: Task>(
        &self,
        task: &T,
        input: &T::Input,
        options: &CallOptions,
    ) -> Answer<T::Output> {
        let started = Instant::now();
        match self.attempt(task, input, options, started).await {
            Ok(answer) => answer,
            Err((error, progress)) => {
                let reason = error.reason();
                if reason != FallbackReason::NoModel {
                    warn!(task = task.name(), %error, "model answer unavailable, using the extractive engine");
                }
                let output = task.extractive(input);
                let latency = self
                    .record_unanswered(task, options, &progress, Outcome::Fallback, reason, started)
                    .await;
                Answer {
                    output,
                    source: Source::Extractive { reason },
                    outcome: Outcome::Fallback,
                    tokens: progress.tokens,
                    latency,
                    attempts: progress.trail.len() as u32,
                    trail: progress.trail,
                }
            }
        }
    }

    /// Asks a model (cache, deployments, retries, repair) within the call's deadline. A success
    /// is recorded here; a failure comes back with what was tried, for the caller to record as
    /// the call ends (`failed` for [`Gateway::run`], `fallback` for [`Gateway::run_or_extractive`]).
    async fn attempt<T: Task>(
        &self,
        task: &T,
        input: &T::Input,
        options: &CallOptions,
        started: Instant,
    ) -> Result<Answer<T::Output>, (GatewayError, Progress)> {
        let mut progress = Progress::default();
        match self
            .execute_bounded(task, input, options, &mut progress)
            .await
        {
            Ok(success) => {
                let latency = started.elapsed();
                self.record(task, options, &progress, &success, latency)
                    .await;
                Ok(answer(success, progress, latency))
            }
            Err(error) => Err((error, progress)),
        }
    }

    /// Records a call that got no model answer; returns its latency.
    async fn record_unanswered<T: Task>(
        &self,
        task: &T,
        options: &CallOptions,
        progress: &Progress,
        outcome: Outcome,
        reason: FallbackReason,
        started: Instant,
    ) -> Duration {
        let latency = started.elapsed();
        self.account(
            task,
            options,
            progress,
            (outcome, false),
            Some(reason),
            latency,
        )
        .await;
        latency
    }

    /// Records a call the model answered (or the cache did).
    async fn record<T: Task>(
        &self,
        task: &T,
        options: &CallOptions,
        progress: &Progress,
        success: &Success<T::Output>,
        latency: Duration,
    ) {
        let cache_hit = success.source == Source::Cache;
        self.account(
            task,
            options,
            progress,
            (success.outcome, cache_hit),
            None,
            latency,
        )
        .await;
    }

    /// One `llm_calls` row and the metrics, however the call ended.
    async fn account<T: Task>(
        &self,
        task: &T,
        options: &CallOptions,
        progress: &Progress,
        (outcome, cache_hit): (Outcome, bool),
        reason: Option<FallbackReason>,
        latency: Duration,
    ) {
        accounting::record(
            &self.inner.db,
            accounting::Summary {
                task: task.name(),
                options,
                deployment: progress.deployment.clone(),
                outcome,
                cache_hit,
                tokens: progress.tokens,
                latency,
                reason,
                trail: &progress.trail,
            },
        )
        .await;
    }

    /// [`Self::execute`] under a hard outer bound, in case something below (the database, a
    /// connection pool) ignores the deadline.
    async fn execute_bounded<T: Task>(
        &self,
        task: &T,
        input: &T::Input,
        options: &CallOptions,
        progress: &mut Progress,
    ) -> Result<Success<T::Output>, GatewayError> {
        if self.inner.deployments.is_empty() {
            return Err(GatewayError::NotConfigured);
        }
        let deadline = options.deadline.unwrap_or(self.inner.settings.deadline);
        let span = info_span!(
            "llm_call",
            task = task.name(),
            priority = options.priority.as_str(),
            team_id = options.team_id.as_deref().unwrap_or("-"),
            user_id = options.user_id.as_deref().unwrap_or("-")
        );
        match tokio::time::timeout(
            deadline + Duration::from_secs(2),
            self.execute(task, input, options, deadline, progress)
                .instrument(span),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(GatewayError::Deadline(deadline)),
        }
    }

    async fn execute<T: Task>(
        &self,
        task: &T,
        input: &T::Input,
        options: &CallOptions,
        deadline_after: Duration,
        progress: &mut Progress,
    ) -> Result<Success<T::Output>, GatewayError> {
        let inner = &*self.inner;
        let started = Instant::now();
        let deadline = started + deadline_after;
        let schema = prompt::output_schema::<T::Output>();
        let messages = prompt::build_messages(&task.prompt(input), &schema);
        let input_key = cache::input_key(input);
        let max_tokens = options
            .max_output_tokens
            .unwrap_or_else(|| task.max_output_tokens())
            .max(1);
        // Each deployment counts with its own tokenizer (the same one once per call).
        let mut counted: Vec<(&'static str, u64)> = Vec::new();
        let prompt_tokens: Vec<u64> = inner
            .deployments
            .iter()
            .map(|d| {
                if let Some((_, n)) = counted.iter().find(|(name, _)| *name == d.tokenizer.name()) {
                    return *n;
                }
                let n = d.tokenizer.count_prompt(&messages);
                counted.push((d.tokenizer.name(), n));
                n
            })
            .collect();
        let largest_prompt = prompt_tokens.iter().copied().max().unwrap_or(0);
        let estimate = largest_prompt + u64::from(max_tokens);

        if !options.skip_cache
            && let Some(output) = self
                .cache_lookup(task, input, &messages, &schema, options)
                .await
        {
            debug!(task = task.name(), "answered from the cache");
            return Ok(Success {
                output,
                source: Source::Cache,
                outcome: Outcome::Ok,
            });
        }

        self.check_budget(options, estimate).await?;
        let team = options.team_id.as_deref();
        inner.in_flight.add(team, estimate);
        let _release = Release {
            in_flight: &inner.in_flight,
            team,
            tokens: estimate,
        };

        let wait_limit = match options.priority {
            Priority::Interactive => inner.settings.interactive_wait,
            Priority::Background => inner.settings.background_wait,
        };
        let rank = Rank::new(
            options.priority == Priority::Interactive,
            options.reader_facing,
        );
        let n = inner.deployments.len();
        let mut failures = vec![0u32; n];
        let mut excluded: Vec<bool> = inner
            .deployments
            .iter()
            .zip(&prompt_tokens)
            .map(|(d, p)| d.context_tokens < *p)
            .collect();
        let mut last: Option<LastFailure> = None;
        let mut busy: Option<GatewayError> = None;

        'deployments: loop {
            let picked = self
                .pick(
                    options.priority,
                    |i| prompt_tokens[i] + u64::from(max_tokens),
                    &excluded,
                    deadline,
                    wait_limit,
                )
                .await;
            let (index, reservation) = match picked {
                Ok(picked) => picked,
                Err(PickError::TooLarge) => {
                    return Err(GatewayError::TooLarge { tokens: estimate });
                }
                Err(PickError::WouldWait { past_deadline }) => {
                    return Err(match (&last, past_deadline) {
                        (_, true) => GatewayError::Deadline(deadline_after),
                        (Some(failure), false) => unavailable(failure, progress),
                        (None, false) => GatewayError::Overloaded { waited: wait_limit },
                    });
                }
                Err(PickError::NothingLeft) => {
                    return Err(match (&last, busy) {
                        (Some(failure), _) => unavailable(failure, progress),
                        (None, Some(busy)) => busy,
                        (None, None) => GatewayError::TooLarge { tokens: estimate },
                    });
                }
            };
            let deployment = &inner.deployments[index];

            // A slow or busy deployment: do not queue for an answer that would come too late.
            let expected = deployment.slots.estimated_wait(rank);
            let allowed = if options.reader_facing {
                wait_limit
            } else {
                wait_limit / 2
            }
            .min(deadline.saturating_duration_since(Instant::now()));
            if expected > allowed {
                debug!(deployment = %deployment.name, ?expected, ?allowed, "deployment too busy for this call");
                excluded[index] = true;
                busy = Some(GatewayError::Busy {
                    deployment: deployment.name.clone(),
                    expected,
                    allowed,
                });
                drop(reservation);
                continue 'deployments;
            }

            progress.deployment = Some(deployment.name.clone());
            let mut conversation = messages.clone();
            let mut repair = false;
            let mut reservation = Some(reservation);
            loop {
                // Quota for this request (the first came with the pick).
                let reservation = match reservation.take() {
                    Some(r) => r,
                    None => {
                        let tokens = deployment.tokenizer.count_prompt(&conversation)
                            + u64::from(max_tokens);
                        match self
                            .wait_for_quota(
                                deployment,
                                options.priority,
                                tokens,
                                deadline,
                                wait_limit,
                            )
                            .await
                        {
                            Ok(r) => r,
                            Err(past_deadline) => {
                                return Err(if past_deadline {
                                    GatewayError::Deadline(deadline_after)
                                } else {
                                    GatewayError::Overloaded { waited: wait_limit }
                                });
                            }
                        }
                    }
                };
                // A slot, within the same bounds as quota.
                let give_up = deadline.min(Instant::now() + wait_limit);
                let _slot = match deployment.slots.acquire(rank, give_up).await {
                    Ok(slot) => slot,
                    Err(timeout) => {
                        debug!(deployment = %deployment.name, waited = ?timeout.waited, "no free slot in time");
                        return Err(if Instant::now() >= deadline {
                            GatewayError::Deadline(deadline_after)
                        } else {
                            GatewayError::Overloaded {
                                waited: timeout.waited,
                            }
                        });
                    }
                };
                let remaining = deadline.saturating_duration_since(Instant::now());
                if remaining.is_zero() {
                    return Err(GatewayError::Deadline(deadline_after));
                }
                let json_mode = deployment.json_mode();
                let request = ChatRequest {
                    messages: &conversation,
                    schema_name: task.name(),
                    schema: &schema,
                    max_tokens: Some(deployment.max_tokens(&prompt_tokens[index], max_tokens)),
                    json_mode,
                    input_key: &input_key,
                };
                let sent = Instant::now();
                let reply = deployment
                    .endpoint
                    .send(&inner.http, &request, inner.settings.timeout.min(remaining))
                    .instrument(info_span!("llm_request", deployment = %deployment.name, repair))
                    .await;
                drop(_slot);
                let reply = match reply {
                    Ok(reply) => reply,
                    Err(error) => {
                        debug!(deployment = %deployment.name, %error, "model request failed");
                        progress.trail.push(Attempt {
                            deployment: deployment.name.clone(),
                            repair,
                            result: AttemptResult::Error(error.clone()),
                        });
                        if error.refuses_response_format() && deployment.step_down(json_mode) {
                            // Not the deployment's fault: ask again at once, more simply.
                            continue;
                        }
                        if let ProviderError::Timeout(_) = error {
                            deployment.slots.observe(sent.elapsed());
                        }
                        self.cool_down(deployment, &error);
                        failures[index] += 1;
                        if !error.is_transient() || failures[index] > inner.settings.max_retries {
                            excluded[index] = true;
                        }
                        last = Some(LastFailure::Provider(error));
                        continue 'deployments;
                    }
                };
                deployment.slots.observe(sent.elapsed());
                deployment.healthy();
                reconcile(
                    deployment,
                    &reply,
                    reservation.tokens() - u64::from(max_tokens),
                );
                reservation.settle(reply.prompt_tokens + reply.completion_tokens);
                progress.tokens.prompt += reply.prompt_tokens;
                progress.tokens.completion += reply.completion_tokens;
                let checked = prompt::parse_output::<T::Output>(&reply.content)
                    .and_then(|out| task.validate(input, &out).map(|()| out));
                match checked {
                    Ok(output) => {
                        progress.trail.push(Attempt {
                            deployment: deployment.name.clone(),
                            repair,
                            result: AttemptResult::Ok,
                        });
                        self.cache_store(
                            task, deployment, &messages, &schema, options, &output, progress,
                        )
                        .await;
                        return Ok(Success {
                            output,
                            source: Source::Model {
                                deployment: deployment.name.clone(),
                            },
                            outcome: if repair {
                                Outcome::Repaired
                            } else {
                                Outcome::Ok
                            },
                        });
                    }
                    Err(reason) => {
                        debug!(deployment = %deployment.name, %reason, repair, "invalid model output");
                        progress.trail.push(Attempt {
                            deployment: deployment.name.clone(),
                            repair,
                            result: AttemptResult::Invalid(reason.clone()),
                        });
                        if repair {
                            excluded[index] = true;
                            last = Some(LastFailure::Invalid(reason));
                            continue 'deployments;
                        }
                        repair = true;
                        conversation.extend(prompt::repair_messages(&reply.content, &reason));
                    }
                }
            }
        }
    }

    /// Chooses the next deployment and takes its quota (`tokens(i)` on deployment `i`), waiting
    /// (bounded) when none has any.
    async fn pick(
        &self,
        priority: Priority,
        tokens: impl Fn(usize) -> u64,
        excluded: &[bool],
        deadline: Instant,
        wait_limit: Duration,
    ) -> Result<(usize, Reservation<'_>), PickError> {
        let inner = &*self.inner;
        let give_up = deadline.min(Instant::now() + wait_limit);
        loop {
            let now = Instant::now();
            let mut soonest: Option<Duration> = None;
            {
                let mut weights = inner
                    .current_weights
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                let candidates: Vec<usize> = (0..inner.deployments.len())
                    .filter(|&i| !excluded[i])
                    .collect();
                if candidates.is_empty() {
                    return Err(PickError::NothingLeft);
                }
                // Smooth weighted round-robin: the highest (current + weight) goes first; ties go
                // to the deployment listed first.
                let mut order = candidates.clone();
                order.sort_by_key(|&i| {
                    (
                        std::cmp::Reverse(weights[i] + inner.deployments[i].weight),
                        i,
                    )
                });
                for &i in &order {
                    let deployment = &inner.deployments[i];
                    if let Some(wait) = deployment.cooling(now) {
                        soonest = Some(soonest.map_or(wait, |s| s.min(wait)));
                        continue;
                    }
                    match deployment.quotas.try_acquire(priority, tokens(i)) {
                        Ok(reservation) => {
                            let total: i64 = candidates
                                .iter()
                                .map(|&c| inner.deployments[c].weight)
                                .sum();
                            for &c in &candidates {
                                weights[c] += inner.deployments[c].weight;
                            }
                            weights[i] -= total;
                            return Ok((i, reservation));
                        }
                        Err(Denied::Wait(wait)) => {
                            soonest = Some(soonest.map_or(wait, |s| s.min(wait)));
                        }
                        Err(Denied::TooLarge) => {}
                    }
                }
            }
            let Some(wait) = soonest else {
                return Err(PickError::TooLarge);
            };
            let wait = wait.max(Duration::from_millis(1));
            if now + wait > give_up {
                return Err(PickError::WouldWait {
                    past_deadline: now + wait > deadline,
                });
            }
            debug!(?wait, "waiting for a deployment with quota");
            tokio::time::sleep(wait).await;
        }
    }

    /// Quota on one deployment (for a repair or a re-sent request), waiting for it within the
    /// bounds. `Err(true)` when the deadline would pass.
    async fn wait_for_quota<'a>(
        &self,
        deployment: &'a Deployment,
        priority: Priority,
        tokens: u64,
        deadline: Instant,
        wait_limit: Duration,
    ) -> Result<Reservation<'a>, bool> {
        let give_up = deadline.min(Instant::now() + wait_limit);
        loop {
            let wait = match deployment.quotas.try_acquire(priority, tokens) {
                Ok(reservation) => return Ok(reservation),
                Err(Denied::Wait(wait)) => wait.max(Duration::from_millis(1)),
                // Larger than a minute's quota: the repair grew past what the deployment takes
                // in a minute; the call gives up on it rather than break the limit.
                Err(Denied::TooLarge) => return Err(false),
            };
            let now = Instant::now();
            if now + wait > give_up {
                return Err(now + wait > deadline);
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Marks a deployment as unusable for a while after a failure.
    fn cool_down(&self, deployment: &Deployment, error: &ProviderError) {
        let settings = &self.inner.settings;
        let mut health = deployment.health.lock().unwrap_or_else(|p| p.into_inner());
        health.consecutive_failures = health.consecutive_failures.saturating_add(1);
        let retry_after = match error {
            ProviderError::Status { retry_after, .. } => *retry_after,
            _ => None,
        };
        let delay = retry_after.unwrap_or_else(|| {
            backoff(
                health.consecutive_failures as i32,
                settings.retry_base,
                settings.retry_max,
            )
        });
        let until = Instant::now() + delay;
        health.cool_until = Some(health.cool_until.map_or(until, |u| u.max(until)));
    }

    async fn check_budget(&self, options: &CallOptions, estimate: u64) -> Result<(), GatewayError> {
        let inner = &*self.inner;
        let settings = &inner.settings;
        if settings.team_daily_tokens.is_none() && settings.global_daily_tokens.is_none() {
            return Ok(());
        }
        let since = accounting::utc_day_start(crate::platform::db::now());
        let (team_in_flight, all_in_flight) = inner.in_flight.get(options.team_id.as_deref());
        let checks = [
            (
                options
                    .team_id
                    .as_ref()
                    .and(settings.team_daily_tokens)
                    .map(|limit| (limit, options.team_id.as_deref())),
                team_in_flight,
            ),
            (
                settings.global_daily_tokens.map(|limit| (limit, None)),
                all_in_flight,
            ),
        ];
        for (check, in_flight) in checks {
            let Some((limit, team)) = check else { continue };
            let spent = match repo::tokens_spent(&inner.db, team, since).await {
                Ok(spent) => spent,
                Err(e) => {
                    // Fail open: the budget limits cost, and a database that cannot answer this
                    // cannot record the call either; the provider's own limits still apply.
                    warn!(error = %e, "cannot read token spending; budget not enforced");
                    continue;
                }
            };
            let allowed =
                limits::budget_limit(limit, options.priority, settings.interactive_reserve);
            if spent + in_flight + estimate > allowed {
                return Err(GatewayError::BudgetExhausted {
                    scope: match team {
                        Some(t) => BudgetScope::Team(t.to_string()),
                        None => BudgetScope::Global,
                    },
                    spent,
                    limit,
                });
            }
        }
        Ok(())
    }

    fn cache_keys<T: Task>(
        &self,
        task: &T,
        messages: &[PromptMessage],
        schema: &Value,
        options: &CallOptions,
    ) -> Vec<String> {
        let mut models: Vec<&str> = self
            .inner
            .deployments
            .iter()
            .map(|d| d.model.as_str())
            .collect();
        models.sort_unstable();
        models.dedup();
        models
            .into_iter()
            .map(|m| cache::cache_key(task.name(), m, messages, schema, options.max_output_tokens))
            .collect()
    }

    /// A cached answer for this exact request on any configured model, still valid for the input.
    async fn cache_lookup<T: Task>(
        &self,
        task: &T,
        input: &T::Input,
        messages: &[PromptMessage],
        schema: &Value,
        options: &CallOptions,
    ) -> Option<T::Output> {
        let now = crate::platform::db::now();
        for key in self.cache_keys(task, messages, schema, options) {
            match repo::cache_get(&self.inner.db, &key, now).await {
                Ok(Some(hit)) => match serde_json::from_str::<T::Output>(&hit.output) {
                    Ok(output) if task.validate(input, &output).is_ok() => return Some(output),
                    _ => debug!(key, "cached answer no longer valid; ignored"),
                },
                Ok(None) => {}
                Err(e) => warn!(error = %e, "cache lookup failed"),
            }
        }
        None
    }

    #[allow(clippy::too_many_arguments)]
    async fn cache_store<T: Task>(
        &self,
        task: &T,
        deployment: &Deployment,
        messages: &[PromptMessage],
        schema: &Value,
        options: &CallOptions,
        output: &T::Output,
        progress: &Progress,
    ) {
        let Ok(text) = serde_json::to_string(output) else {
            return;
        };
        let now = crate::platform::db::now();
        let ttl = i64::try_from(self.inner.settings.cache_ttl.as_secs()).unwrap_or(i64::MAX);
        let entry = CachedAnswer {
            cache_key: cache::cache_key(
                task.name(),
                &deployment.model,
                messages,
                schema,
                options.max_output_tokens,
            ),
            task: task.name().to_string(),
            model: deployment.model.clone(),
            output: text,
            prompt_tokens: progress.tokens.prompt as i64,
            completion_tokens: progress.tokens.completion as i64,
            created_at: now,
            expires_at: now.saturating_add(ttl),
            team_id: options.team_id.clone(),
        };
        if let Err(e) = repo::cache_put(&self.inner.db, &entry).await {
            warn!(error = %e, "could not cache a model answer");
        }
        // Expired entries are purged at most hourly, by whichever call comes along.
        let last = self.inner.last_purge.load(Ordering::Relaxed);
        if now - last > 3600
            && self
                .inner
                .last_purge
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            && let Err(e) = repo::cache_purge_expired(&self.inner.db, now).await
        {
            warn!(error = %e, "could not purge expired cache entries");
        }
    }
}

impl Deployment {
    /// The JSON mode to ask with now.
    fn json_mode(&self) -> JsonMode {
        *self.json_mode.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The server refused `refused`: use the next simpler mode from now on. False when there is
    /// none, the mode was configured, or the request was sent before another call stepped down
    /// (it is then simply re-sent with the current mode).
    fn step_down(&self, refused: JsonMode) -> bool {
        if self.json_mode_fixed {
            return false;
        }
        let mut mode = self.json_mode.lock().unwrap_or_else(|p| p.into_inner());
        if *mode != refused {
            return true;
        }
        let next = match refused {
            JsonMode::Auto | JsonMode::JsonSchema => JsonMode::JsonObjectSchema,
            JsonMode::JsonObjectSchema => JsonMode::JsonObject,
            JsonMode::JsonObject => JsonMode::None,
            JsonMode::None => return false,
        };
        *mode = next;
        let refused = if refused == JsonMode::Auto {
            JsonMode::JsonSchema
        } else {
            refused
        };
        info!(
            deployment = %self.name,
            refused = refused.as_str(),
            using = next.as_str(),
            "the model server refused this response_format; using a simpler JSON mode from now on"
        );
        metrics::counter!("chief_llm_json_mode_steps_total",
            "deployment" => self.name.clone(), "mode" => next.as_str())
        .increment(1);
        true
    }

    /// `max_tokens` for a request: the task's need, cut to what the context window has left.
    fn max_tokens(&self, prompt_tokens: &u64, need: u32) -> u32 {
        let left = self.context_tokens.saturating_sub(*prompt_tokens);
        u32::try_from(left)
            .unwrap_or(u32::MAX)
            .clamp(16, need.max(16))
    }

    /// How long it still cools down, if it does.
    fn cooling(&self, now: Instant) -> Option<Duration> {
        let health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        health
            .cool_until
            .filter(|until| *until > now)
            .map(|until| until - now)
    }

    fn healthy(&self) {
        let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        health.consecutive_failures = 0;
        health.cool_until = None;
    }
}

/// Compares the prompt tokens counted before sending with the provider's `usage`: the ratio is a
/// metric (`chief_llm_token_count_error_ratio`, 0 = exact), so a wrong tokenizer shows.
fn reconcile(deployment: &Deployment, reply: &super::openai::ChatReply, counted: u64) {
    if reply.estimated_usage || reply.prompt_tokens == 0 {
        return;
    }
    let error = (counted as f64 - reply.prompt_tokens as f64).abs() / reply.prompt_tokens as f64;
    metrics::histogram!("chief_llm_token_count_error_ratio",
        "deployment" => deployment.name.clone(), "tokenizer" => deployment.tokenizer.name())
    .record(error);
    if error > 0.25 && deployment.tokenizer.is_exact() {
        debug!(deployment = %deployment.name, counted, reported = reply.prompt_tokens, "token count differs from the provider's");
    }
}

fn unavailable(failure: &LastFailure, progress: &Progress) -> GatewayError {
    let attempts = progress.trail.len() as u32;
    match failure {
        LastFailure::Provider(e) => GatewayError::Unavailable {
            attempts,
            last: e.to_string(),
        },
        LastFailure::Invalid(reason) => GatewayError::InvalidOutput {
            attempts,
            reason: reason.clone(),
        },
    }
}

fn answer<O>(success: Success<O>, progress: Progress, latency: Duration) -> Answer<O> {
    Answer {
        output: success.output,
        source: success.source,
        outcome: success.outcome,
        tokens: progress.tokens,
        latency,
        attempts: progress.trail.len() as u32,
        trail: progress.trail,
    }
}

/// Gives a call's in-flight token estimate back when the call ends, however it ends.
struct Release<'a> {
    in_flight: &'a InFlight,
    team: Option<&'a str>,
    tokens: u64,
}

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.in_flight.remove(self.team, self.tokens);
    }
}
