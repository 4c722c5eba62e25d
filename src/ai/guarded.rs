//! Guarded generation: the one generate → check → correct once → extractive fallback loop.
//!
//! Nothing a model writes reaches a reader unchecked. A task's answer (from the gateway, which
//! already falls back to the extractive engine when no model can answer) goes through the
//! deterministic [`Guardrail`] against exactly the messages it may rest on; an answer that fails is
//! asked for once more with the guardrail's critique fed back to the model; if that fails too, the
//! task's extractive answer is used. Every stage is a step of the caller's durable [`Run`], so a
//! resumed run does not pay for a model call twice and `chief runs show` traces each stage:
//!
//! | step | what |
//! |---|---|
//! | `{step}` | the task through the gateway |
//! | `guardrail` | the check of that answer |
//! | `{step}:corrected` | the task again, with the critique |
//! | `guardrail:corrected` | the check of the corrected answer |
//! | `{step}:extractive` | the extractive answer (no model), given both critiques |
//! | `guardrail:extractive` | its check, when the caller repairs the fallback ([`Fallback::Repaired`]) |
//! | `guardrail:repaired` | the check of the repaired fallback, when the extractive one failed |
//!
//! The daily briefing (`generate…`) and click-to-context (`explain…`) both run it. It knows
//! nothing of Slack or of the features: the caller says how an answer becomes a guardrail input,
//! how the critique is put to the model, and what is done with the fallback ([`Guarded`]).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tracing::{Instrument, info, info_span, warn};

use crate::ai::llm::{Answer, CallOptions, Gateway, Source};
use crate::ai::tasks::{Guardrail, GuardrailInput, GuardrailReport, Task, Violation};
use crate::platform::runs::{Run, RunError, StepError, StepMeta, StepSource};

/// Where a gateway answer came from, as a run step records it.
pub fn step_source(source: &Source) -> StepSource {
    match source {
        Source::Model { .. } => StepSource::Model,
        Source::Cache => StepSource::Cache,
        Source::Extractive { .. } => StepSource::Extractive,
    }
}

/// Step metadata from a gateway answer: tokens and where it came from.
pub fn step_meta<T>(answer: &Answer<T>) -> StepMeta {
    StepMeta::tokens(answer.tokens.prompt as i64, answer.tokens.completion as i64)
        .source(step_source(&answer.source))
}

/// Which of the loop's generations a step is, for the caller's step summaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// The first answer.
    First,
    /// The answer asked for with the critique.
    Corrected,
    /// The extractive fallback.
    Extractive,
}

/// How a generation step's output is stored in the run.
///
/// Why a trait: a caller that must know, on a resumed run, whether the first answer was the
/// extractive engine's ([`Guarded::correct_extractive`] `false`) stores the source beside the
/// output; one that need not stores the bare output ([`Plain`]). Each keeps the stored shape its
/// runs already have, so runs in flight across a deploy resume without redoing a model call.
pub trait Recorded<O>: Serialize + DeserializeOwned + Send + Sync {
    fn record(output: O, source: StepSource) -> Self;
    /// Where the output came from, when recorded.
    fn source(&self) -> Option<StepSource>;
    fn into_output(self) -> O;
}

/// The task's output as it is, with no source.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Plain<O>(pub O);

impl<O: Serialize + DeserializeOwned + Send + Sync> Recorded<O> for Plain<O> {
    fn record(output: O, _source: StepSource) -> Self {
        Plain(output)
    }

    fn source(&self) -> Option<StepSource> {
        None
    }

    fn into_output(self) -> O {
        self.0
    }
}

/// How the critique of a failed answer is put to the model: a task with the same output (often
/// the same task) and its input built from the first input and the critique. The critique quotes
/// generated text, so it travels in the data, never in the instructions.
pub struct Correction<'a, I, C: Task> {
    pub task: &'a C,
    pub input: &'a (dyn Fn(&I, &str) -> C::Input + Send + Sync),
}

/// How the caller repairs a fallback that failed its check: the first input (what the answer
/// is about), the answer and the report; `check` runs the guardrail on a candidate, so a repair
/// can try replacements sentence by sentence.
pub type Repair<'a, I, O> =
    dyn Fn(&I, O, &GuardrailReport, &dyn Fn(&O) -> GuardrailReport) -> O + Send + Sync + 'a;

/// What is done with the extractive fallback once the correction failed too.
pub enum Fallback<'a, I, O> {
    /// Shown as it is, with this verdict on its step: for a task whose extractive answer only
    /// quotes the checked sources (the explainer), a check could only repeat what it is built from.
    Unchecked { verdict: &'static str },
    /// Checked (`guardrail:extractive`) and, when it fails, repaired by `repair`, then checked
    /// again (`guardrail:repaired`). The briefing replaces or drops only the failing sentences and
    /// keeps every story that still has a cited one: nothing unchecked is sent unasked to a DM,
    /// and a briefing whose inputs had stories never ends empty.
    Repaired { repair: &'a Repair<'a, I, O> },
}

/// The caller's summary of a generation step's input, written for humans (`"3 stories for Ana"`).
pub type Describe<'a, I> = dyn Fn(&I, Attempt) -> String + Send + Sync + 'a;

/// The loop for one task. The caller's differences are fields, each saying why it exists.
pub struct Guarded<'a, T: Task, C: Task<Output = T::Output>> {
    /// Name of the first generation step (`generate`, `explain`); the others derive from it.
    pub step: &'static str,
    pub task: &'a T,
    pub correction: Correction<'a, T::Input, C>,
    /// The guardrail's input for an answer: the sources it may rest on, the reader, the names.
    pub check_input: &'a (dyn Fn(&T::Output) -> GuardrailInput + Send + Sync),
    /// Summaries of the generation steps written for humans; `None` records the input's JSON.
    pub describe: Option<&'a Describe<'a, T::Input>>,
    /// Whether an extractive first answer that fails is corrected too. Only worth it when the
    /// task's extractive engine heeds a critique (the briefing's bans the quoted terms); one that
    /// ignores it (the explainer's) would give the same answer again, so it is shown as it is.
    pub correct_extractive: bool,
    pub fallback: Fallback<'a, T::Input, T::Output>,
}

/// How the answer got through.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// The first answer passed.
    Passed,
    /// The first answer failed (its report) and the corrected one passed.
    Corrected { first: GuardrailReport },
    /// The corrected answer failed too (its report): the extractive answer is used.
    FellBack { corrected: GuardrailReport },
    /// An extractive first answer failed and is used as it is ([`Guarded::correct_extractive`]).
    Uncorrected { first: GuardrailReport },
}

impl Verdict {
    /// `pass`, `corrected: …`, `fallback: …` or `uncorrected: …`, naming what the guardrail found.
    pub fn describe(&self) -> String {
        match self {
            Verdict::Passed => "pass".to_string(),
            Verdict::Corrected { first } => format!("corrected: {}", violations_summary(first)),
            Verdict::FellBack { corrected } => {
                format!("fallback: {}", violations_summary(corrected))
            }
            Verdict::Uncorrected { first } => {
                format!("uncorrected: {}", violations_summary(first))
            }
        }
    }
}

/// The answer to show and how it got through.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked<O> {
    pub output: O,
    pub verdict: Verdict,
}

impl<T: Task, C: Task<Output = T::Output>> Guarded<'_, T, C> {
    /// Runs the loop as steps of `run` (see the module docs). `R` is how generation steps are
    /// stored ([`Recorded`]). Fails only when a step cannot be recorded or run.
    pub async fn run<R: Recorded<T::Output>>(
        &self,
        run: &Run,
        gateway: &Gateway,
        options: &CallOptions,
        input: &T::Input,
    ) -> Result<Checked<T::Output>, RunError> {
        let span = info_span!("guarded", step = self.step, task = self.task.name());
        async {
            let first: R = self
                .generate(
                    run,
                    gateway,
                    options,
                    self.step,
                    self.task,
                    input,
                    self.summary(input, Attempt::First),
                )
                .await?;
            let first_source = first.source();
            let first = first.into_output();
            let report = self.check(run, "guardrail", &first).await?;
            if report.passed {
                return Ok(Checked {
                    output: first,
                    verdict: Verdict::Passed,
                });
            }
            if !self.correct_extractive && first_source == Some(StepSource::Extractive) {
                warn!(critique = %report.critique, "extractive answer did not pass the guardrail; shown as it is");
                return Ok(Checked {
                    output: first,
                    verdict: Verdict::Uncorrected { first: report },
                });
            }
            info!(
                violations = report.violations.len(),
                "answer failed the guardrail; regenerating with the critique"
            );
            let corrected_input = (self.correction.input)(input, &report.critique);
            let corrected: R = self
                .generate(
                    run,
                    gateway,
                    options,
                    &format!("{}:corrected", self.step),
                    self.correction.task,
                    &corrected_input,
                    self.summary(input, Attempt::Corrected),
                )
                .await?;
            let corrected = corrected.into_output();
            let second = self.check(run, "guardrail:corrected", &corrected).await?;
            if second.passed {
                return Ok(Checked {
                    output: corrected,
                    verdict: Verdict::Corrected { first: report },
                });
            }
            // The extractive engine heeds a critique (it leaves out what is quoted): it is told
            // what both the first and the corrected answers got wrong.
            let critique = format!("{}{}", report.critique, second.critique);
            let fallback_input = (self.correction.input)(input, &critique);
            let output = self.fall_back(run, input, &fallback_input).await?;
            Ok(Checked {
                output,
                verdict: Verdict::FellBack { corrected: second },
            })
        }
        .instrument(span)
        .await
    }

    /// One generation step: `task` through the gateway (its extractive answer when no model can).
    #[allow(clippy::too_many_arguments)]
    async fn generate<G, R>(
        &self,
        run: &Run,
        gateway: &Gateway,
        options: &CallOptions,
        name: &str,
        task: &G,
        input: &G::Input,
        summary: Option<String>,
    ) -> Result<R, RunError>
    where
        G: Task<Output = T::Output>,
        R: Recorded<T::Output>,
    {
        // What this loop writes is read by a person: on a busy model it goes first.
        let options = &options.clone().reader_facing();
        run.step_summarized(name, summary, input, |i| async move {
            let answer = gateway.run_or_extractive(task, i, options).await;
            let meta = step_meta(&answer);
            let source = step_source(&answer.source);
            Ok::<_, StepError>((R::record(answer.output, source), meta))
        })
        .await
    }

    /// The caller's summary of a generation step. It is given the first input even for the
    /// corrected step, whose input is the first plus the critique.
    fn summary(&self, input: &T::Input, attempt: Attempt) -> Option<String> {
        self.describe.map(|describe| describe(input, attempt))
    }

    /// One `guardrail*` step: the deterministic checker; its verdict names what it found.
    async fn check(
        &self,
        run: &Run,
        name: &str,
        output: &T::Output,
    ) -> Result<GuardrailReport, RunError> {
        let input = (self.check_input)(output);
        run.step_summarized(
            name,
            Some(format!("{} sections", input.sections.len())),
            &input,
            |i| {
                let report = Guardrail.check(i);
                let verdict = if report.passed {
                    "pass".to_string()
                } else {
                    format!("fail: {}", violations_summary(&report))
                };
                let meta = StepMeta::default()
                    .source(StepSource::Extractive)
                    .verdict(verdict);
                async move { Ok::<_, StepError>((report, meta)) }
            },
        )
        .await
    }

    /// The `{step}:extractive` step on `fallback_input` (the first input with the critiques, when
    /// the correction task takes the same input), then what [`Fallback`] says.
    async fn fall_back(
        &self,
        run: &Run,
        input: &T::Input,
        fallback_input: &C::Input,
    ) -> Result<T::Output, RunError> {
        let name = format!("{}:extractive", self.step);
        let verdict = match &self.fallback {
            Fallback::Unchecked { verdict } => Some(*verdict),
            Fallback::Repaired { .. } => None,
        };
        let summary = self.summary(input, Attempt::Extractive);
        let fallback: Plain<T::Output> = run
            .step_summarized(&name, summary, fallback_input, |i| {
                let output = self.correction.task.extractive(i);
                let mut meta = StepMeta::default().source(StepSource::Extractive);
                if let Some(verdict) = verdict {
                    meta = meta.verdict(verdict);
                }
                async move { Ok::<_, StepError>((Plain(output), meta)) }
            })
            .await?;
        let fallback = fallback.0;
        match &self.fallback {
            Fallback::Unchecked { .. } => Ok(fallback),
            Fallback::Repaired { repair } => {
                let report = self.check(run, "guardrail:extractive", &fallback).await?;
                if report.passed {
                    return Ok(fallback);
                }
                let check = |o: &T::Output| Guardrail.check(&(self.check_input)(o));
                let repaired = repair(input, fallback, &report, &check);
                let after = self.check(run, "guardrail:repaired", &repaired).await?;
                if !after.passed {
                    warn!(critique = %after.critique, "the repaired fallback still fails the guardrail");
                }
                Ok(repaired)
            }
        }
    }
}

/// A short, human list of what the guardrail objected to (`invented name "X"; section 2 uncited`).
pub fn violations_summary(report: &GuardrailReport) -> String {
    let items: Vec<String> = report
        .violations
        .iter()
        .map(|v| match v {
            Violation::InventedName { name, .. } => format!("invented name \"{name}\""),
            Violation::UnsupportedNumber { number, .. } => {
                format!("unsupported number \"{number}\"")
            }
            Violation::UnsupportedDate { date, .. } => format!("unsupported date \"{date}\""),
            Violation::ReaderInThirdPerson { name, .. } => {
                format!("reader named as \"{name}\"")
            }
            Violation::MissingCitation { section } => format!("section {} uncited", section + 1),
            Violation::UncitedSentence { .. } => "uncited sentence".to_string(),
            Violation::ForbiddenSource { source, .. } => {
                format!("forbidden source {}/{}", source.channel_id, source.ts)
            }
            Violation::SectionTooLong { section, .. } => {
                format!("section {} too long", section + 1)
            }
            Violation::TooManyBlocks { .. } => "too many blocks".to_string(),
            Violation::UnsupportedLink { url, .. } => format!("unsupported link \"{url}\""),
            Violation::Unfaithful { problem, .. } => format!("unfaithful: {problem}"),
        })
        .collect();
    let mut unique: Vec<String> = Vec::new();
    for i in items {
        if !unique.contains(&i) {
            unique.push(i);
        }
    }
    unique.join("; ")
}
