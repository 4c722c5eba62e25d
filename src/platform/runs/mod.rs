//! Durable runs: an agent's composition of tasks for one purpose ("briefing for U on D"), with
//! every step's input, output, tokens and verdict recorded as it finishes.
//!
//! Why: a crash (or a deploy) mid-briefing must not redo — and pay for — the model calls that
//! already succeeded, and a bad sentence in a DM must be traceable to the step that produced it.
//! So a run is keyed by its purpose (the same purpose never runs twice), and [`Run::step`] returns
//! the stored output of a step that already succeeded with the same input instead of running it.
//! A failing step is retried alone, with back-off, before the run is marked failed; resuming the
//! run later (the job queue retries the job that carries it) continues from the failed step.
//!
//! ```ignore
//! let run = Run::start_or_resume(&ctx.db, "briefing", &format!("{user}:{day}"), team, Some(user)).await?;
//! let summary = run.step("summarize:C123", &discussion, |d| async move {
//!     let answer = gateway.run(&Summarize, d).await?;
//!     Ok::<_, StepError>((answer.output, StepMeta::tokens(answer.prompt, answer.completion)
//!         .source(StepSource::Model)))
//! }).await?;
//! run.finish(RunStatus::Succeeded).await?;
//! ```

pub mod inspect;

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use futures::FutureExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use tracing::{Instrument, debug, info_span, warn};

use crate::platform::db::runs::{self as store, NewRun, NewStep, StepEnd};
pub use crate::platform::db::runs::{RunRecord, RunStatus, StepRecord, StepStatus};
use crate::platform::db::{Db, DbError};

/// Longest input summary stored with a step (characters).
const SUMMARY_CHARS: usize = 200;

/// How steps are retried.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Attempts of a step before the run fails (1 = no retry).
    pub step_attempts: u32,
    /// First delay between attempts; doubles per attempt (with jitter) up to `step_backoff_cap`.
    pub step_backoff_base: Duration,
    pub step_backoff_cap: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            step_attempts: 3,
            step_backoff_base: Duration::from_secs(1),
            step_backoff_cap: Duration::from_secs(30),
        }
    }
}

/// Where a step's output came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepSource {
    /// A model answered.
    Model,
    /// The LLM gateway's response cache answered.
    Cache,
    /// The built-in extractive engine answered (no model, or the fallback).
    Extractive,
}

impl StepSource {
    pub fn as_str(self) -> &'static str {
        match self {
            StepSource::Model => "model",
            StepSource::Cache => "cache",
            StepSource::Extractive => "extractive",
        }
    }
}

/// What a step reports besides its output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepMeta {
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub source: Option<StepSource>,
    /// The guardrail's verdict on the output (e.g. `pass`, `corrected: …`).
    pub verdict: Option<String>,
}

impl StepMeta {
    pub fn tokens(prompt: i64, completion: i64) -> Self {
        StepMeta {
            prompt_tokens: prompt,
            completion_tokens: completion,
            ..Self::default()
        }
    }

    pub fn source(mut self, source: StepSource) -> Self {
        self.source = Some(source);
        self
    }

    pub fn verdict(mut self, verdict: impl Into<String>) -> Self {
        self.verdict = Some(verdict.into());
        self
    }
}

/// How one attempt of a step failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Worth another attempt (a timeout, a 5xx, a rate limit).
    #[error("{0}")]
    Retryable(String),
    /// Another attempt would fail the same way: the run fails at once.
    #[error("{0}")]
    Permanent(String),
}

impl StepError {
    pub fn permanent(reason: impl Into<String>) -> Self {
        StepError::Permanent(reason.into())
    }

    fn is_retryable(&self) -> bool {
        matches!(self, StepError::Retryable(_))
    }
}

impl From<String> for StepError {
    fn from(reason: String) -> Self {
        StepError::Retryable(reason)
    }
}

impl From<&str> for StepError {
    fn from(reason: &str) -> Self {
        StepError::Retryable(reason.to_string())
    }
}

impl From<anyhow::Error> for StepError {
    fn from(e: anyhow::Error) -> Self {
        StepError::Retryable(format!("{e:#}"))
    }
}

impl From<DbError> for StepError {
    fn from(e: DbError) -> Self {
        StepError::Retryable(e.to_string())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("step {step} failed after {attempts} attempt(s): {reason}")]
    StepFailed {
        step: String,
        attempts: u32,
        reason: String,
        /// Whether running the run again later may succeed.
        retryable: bool,
    },
    #[error("run {run_id} already succeeded and has no recorded output for step {step}")]
    Finished { run_id: i64, step: String },
    #[error("step {step}: {reason}")]
    Serialization { step: String, reason: String },
}

impl RunError {
    /// Whether the job carrying the run should be retried (and the run resumed).
    pub fn is_retryable(&self) -> bool {
        match self {
            RunError::Db(_) => true,
            RunError::StepFailed { retryable, .. } => *retryable,
            RunError::Finished { .. } | RunError::Serialization { .. } => false,
        }
    }
}

impl crate::platform::retry::Retryable for RunError {
    fn is_transient(&self) -> bool {
        self.is_retryable()
    }
}

/// A started or resumed run. Steps may run concurrently (`step` takes `&self`).
#[derive(Debug)]
pub struct Run {
    db: Db,
    record: RunRecord,
    resumed: bool,
    /// Outputs of the steps that succeeded, by (name, input hash).
    done: Mutex<HashMap<(String, String), String>>,
    next_ordinal: AtomicI32,
    options: RunOptions,
}

impl Run {
    /// Starts the run for this purpose, or resumes it: an existing run (crashed while `running`,
    /// or `failed`) continues with its finished steps reused. A run that already `succeeded` is
    /// returned as it is ([`Run::is_finished`]): its recorded steps replay, and nothing new runs.
    pub async fn start_or_resume(
        db: &Db,
        kind: &str,
        idempotency_key: &str,
        team_id: &str,
        user_id: Option<&str>,
    ) -> Result<Run, RunError> {
        Self::open(
            db,
            &NewRun {
                team_id,
                user_id,
                kind,
                idempotency_key,
            },
        )
        .await
    }

    /// [`Run::start_or_resume`] with the run's identity already gathered.
    pub async fn open(db: &Db, new: &NewRun<'_>) -> Result<Run, RunError> {
        let (mut record, created) = store::insert_or_get(db, new).await?;
        let mut done = HashMap::new();
        if !created {
            if record.status == RunStatus::Failed {
                store::set_status(db, record.id, RunStatus::Running, None).await?;
                record.status = RunStatus::Running;
                record.error = None;
                record.finished_at = None;
            }
            for step in store::steps(db, record.id).await? {
                if let (StepStatus::Ok, Some(output)) = (step.status, step.output) {
                    done.insert((step.name, step.input_hash), output);
                }
            }
            debug!(run_id = record.id, reused = done.len(), status = ?record.status, "run resumed");
        } else {
            metrics::counter!("chief_runs_started_total", "kind" => record.kind.clone())
                .increment(1);
        }
        Ok(Run {
            db: db.clone(),
            record,
            resumed: !created,
            done: Mutex::new(done),
            next_ordinal: AtomicI32::new(0),
            options: RunOptions::default(),
        })
    }

    pub fn with_options(mut self, options: RunOptions) -> Self {
        self.options = options;
        self
    }

    pub fn id(&self) -> i64 {
        self.record.id
    }

    /// A `run` span naming the run, its kind, team and user: agents instrument the whole run with
    /// it (`.instrument(run.span())`) so its logs and traces carry the ids; each step is a `step`
    /// span inside it.
    pub fn span(&self) -> tracing::Span {
        info_span!("run", run_id = self.record.id, kind = %self.record.kind,
            team_id = %self.record.team_id,
            user_id = self.record.user_id.as_deref().unwrap_or("-"))
    }

    /// The run as it was when started or resumed.
    pub fn record(&self) -> &RunRecord {
        &self.record
    }

    /// True when the run existed before this call (crashed, failed or finished).
    pub fn is_resumed(&self) -> bool {
        self.resumed
    }

    /// True when the purpose was already achieved: the caller should not redo its effects.
    pub fn is_finished(&self) -> bool {
        self.record.status == RunStatus::Succeeded
    }

    /// Records the job carrying this run, for the inspector.
    pub async fn link_job(&self, job_id: i64) -> Result<(), RunError> {
        store::set_job(&self.db, self.record.id, job_id).await?;
        Ok(())
    }

    /// Runs a step, or returns its recorded output when a step of this name already succeeded on
    /// the same input in this run. The input summary is the input's JSON, shortened.
    pub async fn step<'i, I, O, E, F, Fut>(
        &self,
        name: &str,
        input: &'i I,
        f: F,
    ) -> Result<O, RunError>
    where
        I: Serialize + ?Sized,
        O: Serialize + DeserializeOwned,
        F: Fn(&'i I) -> Fut,
        Fut: Future<Output = Result<(O, StepMeta), E>>,
        E: Into<StepError>,
    {
        self.step_summarized(name, None, input, f).await
    }

    /// [`Run::step`] with a summary of the input written for humans (`"42 messages of #eng"`).
    pub async fn step_summarized<'i, I, O, E, F, Fut>(
        &self,
        name: &str,
        summary: Option<String>,
        input: &'i I,
        f: F,
    ) -> Result<O, RunError>
    where
        I: Serialize + ?Sized,
        O: Serialize + DeserializeOwned,
        F: Fn(&'i I) -> Fut,
        Fut: Future<Output = Result<(O, StepMeta), E>>,
        E: Into<StepError>,
    {
        let ordinal = self.next_ordinal.fetch_add(1, Ordering::Relaxed);
        let canonical = canonical_json(input).map_err(|e| RunError::Serialization {
            step: name.to_string(),
            reason: format!("input does not serialize: {e}"),
        })?;
        let hash = hex::encode(Sha256::digest(canonical.as_bytes()));
        let span = info_span!("step", run_id = self.record.id, step = name, ordinal,
            kind = %self.record.kind, team_id = %self.record.team_id,
            user_id = self.record.user_id.as_deref().unwrap_or("-"));
        async {
            let key = (name.to_string(), hash.clone());
            let stored = self.lock_done().get(&key).cloned();
            if let Some(stored) = stored {
                match serde_json::from_str::<O>(&stored) {
                    Ok(output) => {
                        debug!("step already done; reusing its output");
                        metrics::counter!("chief_run_steps_total", "outcome" => "reused")
                            .increment(1);
                        return Ok(output);
                    }
                    Err(e) => warn!(error = %e, "stored output no longer decodes; running again"),
                }
            }
            if self.is_finished() {
                return Err(RunError::Finished {
                    run_id: self.record.id,
                    step: name.to_string(),
                });
            }
            let summary = summary.unwrap_or_else(|| shorten(&canonical, SUMMARY_CHARS));
            store::begin_step(
                &self.db,
                &NewStep {
                    run_id: self.record.id,
                    ordinal,
                    name,
                    input_hash: &hash,
                    input_summary: &summary,
                },
            )
            .await?;
            let started = Instant::now();
            let mut attempts = 0u32;
            let (reason, retryable) = loop {
                attempts += 1;
                let attempt = AssertUnwindSafe(async { f(input).await })
                    .catch_unwind()
                    .await;
                let error = match attempt {
                    Ok(Ok((output, meta))) => {
                        return self
                            .succeed(name, &hash, key, output, meta, attempts, started)
                            .await;
                    }
                    Ok(Err(e)) => e.into(),
                    Err(panic) => StepError::Permanent(format!(
                        "panicked: {}",
                        crate::platform::retry::panic_message(panic.as_ref())
                    )),
                };
                if !error.is_retryable() || attempts >= self.options.step_attempts.max(1) {
                    break (error.to_string(), error.is_retryable());
                }
                let delay = crate::platform::retry::backoff(
                    attempts as i32,
                    self.options.step_backoff_base,
                    self.options.step_backoff_cap,
                );
                warn!(attempt = attempts, error = %error, retry_in_ms = delay.as_millis() as u64,
                    "step failed; retrying it");
                tokio::time::sleep(delay).await;
            };
            self.fail_step(name, &hash, &reason, attempts, started)
                .await?;
            Err(RunError::StepFailed {
                step: name.to_string(),
                attempts,
                reason,
                retryable,
            })
        }
        .instrument(span)
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn succeed<O: Serialize>(
        &self,
        name: &str,
        hash: &str,
        key: (String, String),
        output: O,
        meta: StepMeta,
        attempts: u32,
        started: Instant,
    ) -> Result<O, RunError> {
        let json = match serde_json::to_string(&output) {
            Ok(json) => json,
            Err(e) => {
                let reason = format!("output does not serialize: {e}");
                self.fail_step(name, hash, &reason, attempts, started)
                    .await?;
                return Err(RunError::Serialization {
                    step: name.to_string(),
                    reason,
                });
            }
        };
        let duration_ms = started.elapsed().as_millis() as i64;
        store::finish_step(
            &self.db,
            self.record.id,
            name,
            hash,
            &StepEnd {
                status: StepStatus::Ok,
                output: Some(&json),
                prompt_tokens: meta.prompt_tokens,
                completion_tokens: meta.completion_tokens,
                duration_ms,
                attempts: attempts as i32,
                error: None,
                verdict: meta.verdict.as_deref(),
                source: meta.source.map(StepSource::as_str),
            },
        )
        .await?;
        self.lock_done().insert(key, json);
        metrics::counter!("chief_run_steps_total", "outcome" => "ok").increment(1);
        if let Some(verdict) = &meta.verdict {
            metrics::counter!("chief_guardrail_outcomes_total", "outcome" => verdict_label(verdict))
                .increment(1);
        }
        metrics::histogram!("chief_run_step_duration_ms").record(duration_ms as f64);
        debug!(
            duration_ms,
            prompt_tokens = meta.prompt_tokens,
            completion_tokens = meta.completion_tokens,
            "step done"
        );
        Ok(output)
    }

    /// Records a step's failure and marks the run failed (resumable).
    async fn fail_step(
        &self,
        name: &str,
        hash: &str,
        reason: &str,
        attempts: u32,
        started: Instant,
    ) -> Result<(), RunError> {
        warn!(%reason, attempts, "step failed; the run fails");
        store::finish_step(
            &self.db,
            self.record.id,
            name,
            hash,
            &StepEnd {
                status: StepStatus::Failed,
                output: None,
                prompt_tokens: 0,
                completion_tokens: 0,
                duration_ms: started.elapsed().as_millis() as i64,
                attempts: attempts as i32,
                error: Some(reason),
                verdict: None,
                source: None,
            },
        )
        .await?;
        store::set_status(
            &self.db,
            self.record.id,
            RunStatus::Failed,
            Some(&format!("step {name}: {reason}")),
        )
        .await?;
        metrics::counter!("chief_run_steps_total", "outcome" => "failed").increment(1);
        Ok(())
    }

    /// Ends the run with `status`.
    pub async fn finish(self, status: RunStatus) -> Result<(), RunError> {
        store::set_status(&self.db, self.record.id, status, None).await?;
        metrics::counter!("chief_runs_finished_total", "kind" => self.record.kind.clone(),
            "status" => status.as_str())
        .increment(1);
        Ok(())
    }

    /// Ends the run as failed, with the reason.
    pub async fn fail(self, reason: &str) -> Result<(), RunError> {
        store::set_status(&self.db, self.record.id, RunStatus::Failed, Some(reason)).await?;
        Ok(())
    }

    fn lock_done(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), String>> {
        // A panic while holding this lock cannot leave the map half-written: recover it.
        self.done
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The metric label of a guardrail verdict: its first word (`pass`, `corrected`, `fallback`…), so
/// free text after it never multiplies the series.
fn verdict_label(verdict: &str) -> String {
    let word: String = verdict
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .take(24)
        .collect::<String>()
        .to_ascii_lowercase();
    if word.is_empty() {
        "other".into()
    } else {
        word
    }
}

/// The input's JSON with object keys sorted, so equal inputs hash equally whatever map type or
/// field order produced them.
pub fn canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    fn sort(value: serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k, sort(v))).collect())
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.into_iter().map(sort).collect())
            }
            other => other,
        }
    }
    serde_json::to_string(&sort(serde_json::to_value(value)?))
}

/// `text` cut to at most `max` characters, with an ellipsis when cut.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((cut, _)) => {
            let keep = text[..cut]
                .char_indices()
                .nth(max.saturating_sub(1))
                .map_or(cut, |(i, _)| i);
            format!("{}…", &text[..keep])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn equal_inputs_hash_equally_whatever_the_key_order() {
        let a: HashMap<&str, i32> = (0..50)
            .map(|i| (["a", "b", "c", "d"][i % 4], i as i32))
            .collect();
        let mut b: Vec<_> = a.iter().collect();
        b.reverse();
        let b: HashMap<&str, i32> = b.into_iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(canonical_json(&a).unwrap(), canonical_json(&b).unwrap());
        assert_eq!(
            canonical_json(&serde_json::json!({"b": 1, "a": {"d": 2, "c": 3}})).unwrap(),
            r#"{"a":{"c":3,"d":2},"b":1}"#
        );
    }

    #[test]
    fn shorten_counts_characters_not_bytes() {
        assert_eq!(shorten("héllo", 10), "héllo");
        assert_eq!(shorten("héllo wörld", 5), "héll…");
        assert_eq!(shorten("héllo wörld", 5).chars().count(), 5);
    }

    #[test]
    fn only_retryable_failures_retry_the_run() {
        let failed = |retryable| RunError::StepFailed {
            step: "s".into(),
            attempts: 3,
            reason: "x".into(),
            retryable,
        };
        assert!(failed(true).is_retryable());
        assert!(!failed(false).is_retryable());
        assert!(
            !RunError::Finished {
                run_id: 1,
                step: "s".into()
            }
            .is_retryable()
        );
    }
}
