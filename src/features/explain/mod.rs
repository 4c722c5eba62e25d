//! Click-to-context: the "Explain in context" message shortcut and `/chief context <link>`.
//!
//! A click becomes a durable run (`explain`, keyed by the click) of three recorded steps:
//! 1. `gather` — the clicked message, its thread and the channel's messages within an hour either
//!    side, read for the clicking user through the privacy boundary (or fetched from Slack when the
//!    store lacks them); a user who is not in the channel gets a polite refusal and nothing else;
//! 2. `explain` — `tasks::ExplainContext` through the LLM gateway as an interactive call (the
//!    extractive engine answers when no model can);
//! 3. `guardrail` — `tasks::Guardrail` against exactly the gathered messages. A model answer that
//!    fails is regenerated once with the critique (`explain:corrected`, `guardrail:corrected`); if
//!    that fails too, the extractive explainer is shown (`explain:extractive`).
//!
//! Slack's `trigger_id` expires three seconds after the click, so [`on_shortcut`] opens a "Reading
//! the conversation…" modal before anything else (no Slack or model call comes first) and queues
//! the rest as an [`ExplainClick`] job, which runs the durable run and fills the modal with
//! `views.update`. The inbox's interactive lane thus only ever opens modals, and a click's
//! `views.open` never waits behind another click's explanation. When no modal can be opened the
//! answer goes to the click's `response_url` as an ephemeral message. Nothing fails silently:
//! whatever goes wrong is one sentence with a "Try again" button ([`on_retry`]).

pub mod cli;
pub mod gather;
pub mod render;

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::ai::llm::{self, CallOptions};
use crate::ai::tasks::{
    ExplainContext, ExplainInput, Explainer, Guardrail, GuardrailInput, GuardrailReport, Prompt,
    Task,
};
use crate::features::context::Context;
use crate::model::domain::Explanation;
use crate::platform::db::DbError;
use crate::platform::retry::Failure as HandlerError;
use crate::platform::runs::{Run, RunOptions, RunStatus, StepError, StepMeta, StepSource};
use crate::slack::blocks;
use crate::slack::interactions::{ActionClick, Shortcut};
use crate::slack::web;
use gather::{Conversation, Gathered, Request};

/// Why no explanation could be produced. Each has one sentence for the reader.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("the message is not stored and Slack does not have it")]
    NotFound,
    #[error("chief cannot read channel {channel_id}")]
    CannotRead { channel_id: String },
    #[error("a direct message")]
    DirectMessage,
    #[error("Slack: {0}")]
    Slack(String),
    #[error("no bot token: {0}")]
    Token(String),
    #[error("the workspace is suspended")]
    Suspended,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Internal(String),
}

impl ExplainError {
    /// What the reader is told.
    pub fn sentence(&self) -> String {
        match self {
            ExplainError::NotFound => {
                "I couldn't find that message: it may have been deleted.".into()
            }
            ExplainError::CannotRead { .. } => {
                "I'm not in that channel, so I can't read the conversation: invite @chief and try again.".into()
            }
            ExplainError::DirectMessage => {
                "I don't read direct messages, so I can't explain this conversation.".into()
            }
            ExplainError::Slack(_) => {
                "Slack didn't let me read the conversation just now.".into()
            }
            ExplainError::Token(_) | ExplainError::Suspended => {
                "I can't reach this workspace right now; an admin may need to reinstall chief."
                    .into()
            }
            ExplainError::Db(_) | ExplainError::Internal(_) => {
                "Something went wrong on my side while explaining this conversation.".into()
            }
        }
    }

    /// Worth retrying later (as opposed to a permanent answer).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ExplainError::Slack(_) | ExplainError::Db(_) | ExplainError::Internal(_)
        )
    }
}

/// What a click produced.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Explained(Explanation),
    /// The reader is not in the channel.
    Refused {
        channel_name: String,
    },
}

impl Outcome {
    /// The explanation, or the refusal as a one-paragraph explanation.
    pub fn into_explanation(self) -> Explanation {
        match self {
            Outcome::Explained(e) => e,
            Outcome::Refused { channel_name } => render::refusal_explanation(&channel_name),
        }
    }
}

/// Explains the conversation around one message for `user_id` (the shortcut, `/chief context`,
/// `chief context` and `chief bench context` all come here). Refuses when the user cannot see the
/// channel.
pub async fn explain(
    ctx: &Context,
    team_id: &str,
    user_id: &str,
    channel_id: &str,
    ts: &str,
) -> Result<crate::model::domain::Explanation, HandlerError> {
    let request = Request {
        team_id: team_id.to_string(),
        user_id: user_id.to_string(),
        channel_id: channel_id.to_string(),
        ts: ts.to_string(),
        thread_ts: None,
    };
    let key = format!(
        "{user_id}:{channel_id}:{ts}:{}",
        uuid::Uuid::new_v4().simple()
    );
    match run_explain(ctx, &request, &key).await {
        Ok(outcome) => Ok(outcome.into_explanation()),
        Err(e) if e.is_transient() => Err(HandlerError::Transient(e.sentence())),
        Err(e) => Err(HandlerError::Permanent(e.sentence())),
    }
}

/// The shortcut was used: open the modal at once, then fill it with the explanation.
pub async fn on_shortcut(ctx: &Context, shortcut: &Shortcut) -> Result<(), HandlerError> {
    let request = Request {
        team_id: shortcut.team_id.clone(),
        user_id: shortcut.user_id.clone(),
        channel_id: shortcut.channel_id.clone(),
        ts: shortcut.message_ts.clone(),
        thread_ts: shortcut.thread_ts.clone(),
    };
    let surface = Surface::Trigger {
        trigger_id: shortcut.trigger_id.clone(),
        response_url: shortcut.response_url.clone(),
    };
    let key = run_key(&request, &shortcut.trigger_id);
    deliver(ctx, &request, &key, surface).await
}

/// "Try again" on a failed explanation: the button's value says which message. A button inside
/// the modal refreshes that modal in place (Slack does not open a second modal over one); a button
/// in an ephemeral message opens a new modal with the click's trigger.
pub async fn on_retry(ctx: &Context, click: &ActionClick) -> Result<(), HandlerError> {
    let Some(target) = click.value.as_deref().and_then(Target::parse) else {
        warn!(action_id = %click.action_id, "\"Try again\" without a message to explain");
        return Ok(());
    };
    let request = Request {
        team_id: click.team_id.clone(),
        user_id: click.user_id.clone(),
        channel_id: target.c,
        ts: target.ts,
        thread_ts: target.th,
    };
    let click_id = click
        .trigger_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let surface = match (&click.view_id, &click.trigger_id) {
        (Some(id), _) => Surface::View(web::OpenView {
            id: id.clone(),
            hash: click.view_hash.clone(),
        }),
        (None, Some(trigger_id)) => Surface::Trigger {
            trigger_id: trigger_id.clone(),
            response_url: click.response_url.clone(),
        },
        (None, None) => Surface::Ephemeral {
            response_url: click.response_url.clone(),
        },
    };
    deliver(ctx, &request, &run_key(&request, &click_id), surface).await
}

/// `/chief context <link>`: like the shortcut, with the command's trigger and response URL.
pub async fn on_command(
    ctx: &Context,
    request: Request,
    trigger_id: Option<&str>,
    response_url: Option<&str>,
) -> Result<(), HandlerError> {
    let click_id = trigger_id
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let surface = match trigger_id {
        Some(trigger_id) => Surface::Trigger {
            trigger_id: trigger_id.to_string(),
            response_url: response_url.map(str::to_string),
        },
        None => Surface::Ephemeral {
            response_url: response_url.map(str::to_string),
        },
    };
    let key = run_key(&request, &click_id);
    deliver(ctx, &request, &key, surface).await
}

fn run_key(request: &Request, click_id: &str) -> String {
    format!(
        "{}:{}:{}:{click_id}",
        request.user_id, request.channel_id, request.ts
    )
}

/// Which message a modal or "Try again" button is about (its `private_metadata` / `value`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Target {
    c: String,
    ts: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    th: Option<String>,
}

impl Target {
    fn of(request: &Request) -> Self {
        Target {
            c: request.channel_id.clone(),
            ts: request.ts.clone(),
            th: request.thread_ts.clone(),
        }
    }

    fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    fn parse(value: &str) -> Option<Self> {
        serde_json::from_str(value).ok()
    }
}

/// Where the answer goes.
enum Surface {
    /// A fresh click: open a modal with the trigger, else answer ephemerally.
    Trigger {
        trigger_id: String,
        response_url: Option<String>,
    },
    /// A modal already open (a "Try again" inside it).
    View(web::OpenView),
    /// No trigger: an ephemeral message only.
    Ephemeral { response_url: Option<String> },
}

/// Opens (or reuses) the modal at once, then queues the rest of the click ([`ExplainClick`]).
///
/// Only the `views.open` happens while the click's inbox row is handled: Slack's trigger expires
/// three seconds after the click, and the interactive lane must not wait behind anybody's
/// explanation (gathering, model, guardrail) before opening the next click's modal.
async fn deliver(
    ctx: &Context,
    request: &Request,
    key: &str,
    surface: Surface,
) -> Result<(), HandlerError> {
    let metadata = Target::of(request).encode();
    let token = ctx.bot_token(&request.team_id).await;

    // The modal, before anything else: the trigger is valid for three seconds.
    let mut response_url = None;
    let mut view = None;
    match (&surface, &token) {
        (
            Surface::Trigger {
                trigger_id,
                response_url: url,
            },
            Ok(token),
        ) => {
            response_url = url.clone();
            let session = ctx.slack.session(token);
            match web::open_view(&session, trigger_id, &blocks::loading_modal(&metadata)).await {
                Ok(opened) => view = Some(opened),
                Err(e) => {
                    warn!(error = %e, "cannot open the modal; answering ephemerally instead")
                }
            }
        }
        (Surface::View(open), Ok(token)) => {
            let session = ctx.slack.session(token);
            match web::update_view(&session, open, &blocks::loading_modal(&metadata)).await {
                Ok(updated) => view = Some(updated),
                Err(e) => warn!(error = %e, "cannot refresh the modal"),
            }
        }
        (
            Surface::Trigger {
                response_url: url, ..
            },
            Err(_),
        )
        | (Surface::Ephemeral { response_url: url }, _) => response_url = url.clone(),
        (Surface::View(_), Err(_)) => {}
    }

    let rest = Continuation {
        request: request.clone(),
        key: key.to_string(),
        view,
        response_url,
    };
    crate::platform::jobs::enqueue::<ExplainClick>(
        &ctx.db,
        &request.team_id,
        &rest,
        crate::platform::jobs::EnqueueOptions::default().idempotency_key(format!("explain:{key}")),
    )
    .await
    .map_err(|e| HandlerError::Transient(format!("cannot queue the explanation: {e}")))?;
    Ok(())
}

/// The rest of a click once its modal is open (or could not be): what [`ExplainClick`] carries.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Continuation {
    request: Request,
    /// The durable run's key: a retried job resumes the same run.
    key: String,
    /// The modal showing "Reading the conversation…", to fill in.
    view: Option<web::OpenView>,
    /// Where to answer ephemerally when there is no modal (or it cannot be updated).
    response_url: Option<String>,
}

/// Explains a click and shows the answer: the part of a click that may take seconds, queued as a
/// job at interactive priority (a worker reserved for these runs them; see `app.rs`). A retry
/// resumes the click's durable run, so finished steps are not redone.
pub struct ExplainClick;

impl crate::platform::jobs::Job for ExplainClick {
    type Ctx = Context;
    const NAME: &'static str = "explain";
    const PRIORITY: i32 = crate::platform::jobs::priority::INTERACTIVE;
    /// Someone is waiting: a couple of quick retries, then the failure is shown.
    const MAX_ATTEMPTS: i32 = 3;
    type Payload = Continuation;

    async fn run(
        &self,
        ctx: &Context,
        rest: Continuation,
        _job: &crate::platform::db::jobs::JobRecord,
    ) -> Result<(), crate::platform::jobs::JobError> {
        finish(ctx, &rest).await.map_err(|e| match e {
            HandlerError::Transient(reason) => crate::platform::jobs::JobError::retryable(reason),
            HandlerError::Permanent(reason) => crate::platform::jobs::JobError::permanent(reason),
        })
    }
}

/// Explains and shows the result in the modal, else ephemerally.
async fn finish(ctx: &Context, rest: &Continuation) -> Result<(), HandlerError> {
    let Continuation {
        request,
        key,
        view,
        response_url,
    } = rest;
    let metadata = Target::of(request).encode();
    let token = ctx.bot_token(&request.team_id).await;

    // The explanation.
    let outcome = match &token {
        Ok(_) => run_explain(ctx, request, key).await,
        Err(e) => Err(ExplainError::Token(e.to_string())),
    };
    let workspace_failure = matches!(outcome, Err(ExplainError::Token(_)));
    let (modal, text, message_blocks) = match &outcome {
        Ok(Outcome::Explained(explanation)) => (
            render::explanation_view(explanation, &metadata),
            render::plain_text(explanation),
            {
                let mut b = vec![serde_json::json!({"type": "context", "elements": [
                    {"type": "mrkdwn", "text": blocks::escape(&explanation.title)}]})];
                b.extend(blocks::explanation_blocks(explanation));
                b
            },
        ),
        Ok(Outcome::Refused { channel_name }) => {
            let sentence = render::refusal(channel_name);
            let blocks = vec![serde_json::json!({"type": "section",
                "text": {"type": "mrkdwn", "text": blocks::escape(&sentence)}})];
            (
                blocks::modal(render::MODAL_TITLE, blocks.clone(), &metadata),
                sentence,
                blocks,
            )
        }
        Err(e) => {
            warn!(error = %e, "no explanation");
            let sentence = e.sentence();
            (
                render::failure_view(&sentence, &metadata),
                sentence.clone(),
                blocks::failure_blocks(&sentence, &metadata),
            )
        }
    };

    // Show it: the modal, else ephemerally.
    if let (Some(open), Ok(token)) = (view, &token) {
        let session = ctx.slack.session(token);
        match web::update_view(&session, open, &modal).await {
            Ok(_) => return Ok(()),
            Err(e) => warn!(error = %e, "cannot update the modal; answering ephemerally instead"),
        }
    }
    if let Some(url) = response_url {
        match web::respond(url, &text, &message_blocks).await {
            Ok(()) => return Ok(()),
            Err(e) => warn!(error = %e, "response_url failed"),
        }
    }
    if let Ok(token) = &token
        && !workspace_failure
    {
        let session = ctx.slack.session(token);
        match web::post_ephemeral(
            &session,
            &request.channel_id,
            &request.user_id,
            &text,
            &message_blocks,
        )
        .await
        {
            Ok(()) => return Ok(()),
            Err(e) if e.is_transient() => {
                return Err(HandlerError::Transient(format!(
                    "cannot show the explanation: {e}"
                )));
            }
            Err(e) => warn!(error = %e, "chat.postEphemeral failed"),
        }
    }
    warn!(
        team_id = %request.team_id,
        user_id = %request.user_id,
        "no way left to answer the click"
    );
    Ok(())
}

/// Steps are retried briefly: someone is waiting.
fn interactive_run_options() -> RunOptions {
    RunOptions {
        step_attempts: 2,
        step_backoff_base: Duration::from_millis(200),
        step_backoff_cap: Duration::from_secs(1),
    }
}

/// An explainer and where it came from (the output of the `explain*` steps).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Explained {
    explainer: Explainer,
    /// `model`, `cache` or `extractive`.
    source: String,
}

fn step_source(source: &llm::Source) -> StepSource {
    match source {
        llm::Source::Model { .. } => StepSource::Model,
        llm::Source::Cache => StepSource::Cache,
        llm::Source::Extractive { .. } => StepSource::Extractive,
    }
}

/// `ExplainContext` asked again with the guardrail's critique of its previous answer. The critique
/// travels in the data (it quotes generated text), never in the instructions.
struct CorrectedExplain;

#[derive(Clone, Debug, Serialize)]
struct CorrectedInput {
    #[serde(flatten)]
    input: ExplainInput,
    critique: String,
}

const CRITIQUE_RULE: &str = "\n\nA previous answer broke the rules listed in the data's \
`critique` field. Write a new answer that fixes every one of them.";

impl Task for CorrectedExplain {
    type Input = CorrectedInput;
    type Output = Explainer;

    fn name(&self) -> &'static str {
        ExplainContext.name()
    }

    fn prompt(&self, input: &Self::Input) -> Prompt {
        let base = ExplainContext.prompt(&input.input);
        Prompt {
            instructions: format!("{}{CRITIQUE_RULE}", base.instructions),
            data: serde_json::to_string(input).unwrap_or_else(|_| base.data.clone()),
        }
    }

    fn extractive(&self, input: &Self::Input) -> Self::Output {
        ExplainContext.extractive(&input.input)
    }

    fn validate(&self, input: &Self::Input, output: &Self::Output) -> Result<(), String> {
        ExplainContext.validate(&input.input, output)
    }
}

fn guardrail_input(conversation: &Conversation, explainer: &Explainer) -> GuardrailInput {
    let sources = conversation.all_messages();
    GuardrailInput {
        sections: explainer.sections(),
        allowed_sources: sources.iter().map(|m| m.id.clone()).collect(),
        sources,
        reader: conversation.reader.clone(),
        known_people: conversation.known_people.clone(),
        channels: vec![conversation.channel.clone()],
        limits: Default::default(),
        utc_offset_secs: conversation.utc_offset_secs,
    }
}

fn verdict(report: &GuardrailReport) -> String {
    if report.passed {
        "pass".into()
    } else {
        format!("fail: {} violation(s)", report.violations.len())
    }
}

/// Runs (or resumes) the durable run `explain`/`key` for `request`.
pub(crate) async fn run_explain(
    ctx: &Context,
    request: &Request,
    key: &str,
) -> Result<Outcome, ExplainError> {
    let internal = |e: crate::platform::runs::RunError| ExplainError::Internal(e.to_string());
    let run = Run::start_or_resume(
        &ctx.db,
        "explain",
        key,
        &request.team_id,
        Some(&request.user_id),
    )
    .await
    .map_err(internal)?
    .with_options(interactive_run_options());

    // 1. gather
    let captured: Mutex<Option<ExplainError>> = Mutex::new(None);
    let summary = format!(
        "{} in {} for {}",
        request.ts, request.channel_id, request.user_id
    );
    let gathered = run
        .step_summarized("gather", Some(summary), request, |r| {
            let captured = &captured;
            async move {
                match gather::gather(ctx, r).await {
                    Ok(g) => Ok((g, StepMeta::default())),
                    Err(e) => {
                        let step_error = if e.is_transient() {
                            StepError::Retryable(e.to_string())
                        } else {
                            StepError::permanent(e.to_string())
                        };
                        if let Ok(mut slot) = captured.lock() {
                            *slot = Some(e);
                        }
                        Err(step_error)
                    }
                }
            }
        })
        .await;
    let conversation = match gathered {
        Ok(Gathered::Ready(conversation)) => *conversation,
        Ok(Gathered::Refused { channel_name }) => {
            run.finish(RunStatus::Succeeded).await.map_err(internal)?;
            return Ok(Outcome::Refused { channel_name });
        }
        Err(run_error) => {
            let captured = captured.lock().ok().and_then(|mut slot| slot.take());
            return Err(captured.unwrap_or_else(|| internal(run_error)));
        }
    };

    // 2. explain
    let input = ExplainInput {
        reader: conversation.reader.clone(),
        channel: conversation.channel.clone(),
        clicked: conversation.clicked.clone(),
        thread: conversation.thread.clone(),
        neighbours: conversation.neighbours.clone(),
        interests: conversation.interests.clone(),
        utc_offset_secs: conversation.utc_offset_secs,
    };
    let options = CallOptions::interactive(&request.team_id, Some(&request.user_id));
    let first = explain_step(ctx, &run, "explain", &ExplainContext, &input, &options)
        .await
        .map_err(internal)?;

    // 3. guardrail, one corrective regeneration, then the extractive explainer.
    let report = check_step(&run, "guardrail", &conversation, &first.explainer)
        .await
        .map_err(internal)?;
    let explainer = if report.passed {
        first.explainer
    } else if first.source == StepSource::Extractive.as_str() {
        // The extractive engine ignores critiques: its answer is the last resort anyway.
        warn!(critique = %report.critique, "extractive explainer did not pass the guardrail; shown as it is");
        first.explainer
    } else {
        info!(
            violations = report.violations.len(),
            "explainer failed the guardrail; regenerating with the critique"
        );
        let corrected_input = CorrectedInput {
            input: input.clone(),
            critique: report.critique.clone(),
        };
        let corrected = explain_step(
            ctx,
            &run,
            "explain:corrected",
            &CorrectedExplain,
            &corrected_input,
            &options,
        )
        .await
        .map_err(internal)?;
        let second = check_step(
            &run,
            "guardrail:corrected",
            &conversation,
            &corrected.explainer,
        )
        .await
        .map_err(internal)?;
        if second.passed {
            corrected.explainer
        } else {
            run.step("explain:extractive", &input, |i| async move {
                Ok::<_, StepError>((
                    ExplainContext.extractive(i),
                    StepMeta::default()
                        .source(StepSource::Extractive)
                        .verdict("fallback after a failed correction"),
                ))
            })
            .await
            .map_err(internal)?
        }
    };

    let workspace_url = ctx.workspace_url(&request.team_id).await;
    let explanation = render::explanation(&explainer, &conversation, &workspace_url);
    run.finish(RunStatus::Succeeded).await.map_err(internal)?;
    Ok(Outcome::Explained(explanation))
}

/// One `explain*` step: the task through the gateway (the extractive engine when no model can).
async fn explain_step<T>(
    ctx: &Context,
    run: &Run,
    name: &str,
    task: &T,
    input: &T::Input,
    options: &CallOptions,
) -> Result<Explained, crate::platform::runs::RunError>
where
    T: Task<Output = Explainer>,
{
    run.step(name, input, |i| async move {
        let answer = ctx.llm.run_or_extractive(task, i, options).await;
        let source = step_source(&answer.source);
        Ok::<_, StepError>((
            Explained {
                source: source.as_str().to_string(),
                explainer: answer.output,
            },
            StepMeta::tokens(answer.tokens.prompt as i64, answer.tokens.completion as i64)
                .source(source),
        ))
    })
    .await
}

/// One `guardrail*` step: the deterministic checker against the gathered messages.
async fn check_step(
    run: &Run,
    name: &str,
    conversation: &Conversation,
    explainer: &Explainer,
) -> Result<GuardrailReport, crate::platform::runs::RunError> {
    let input = guardrail_input(conversation, explainer);
    run.step(name, &input, |g| async move {
        let report = Guardrail.check(g);
        let meta = StepMeta::default().verdict(verdict(&report));
        Ok::<_, StepError>((report, meta))
    })
    .await
}
