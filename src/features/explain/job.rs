//! The part of a click that may take seconds: the [`ExplainClick`] job, and the durable run
//! `explain`/`key` it carries (`gather`, then the guarded explanation of `agent.rs`), whose answer
//! `modal.rs` shows.

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::gather::{self, Gathered, Request};
use super::{ExplainError, Outcome, agent, modal, render};
use crate::features::context::Context;
use crate::platform::retry::Retryable;
use crate::platform::runs::{Run, RunOptions, RunStatus, StepError, StepMeta};
use crate::slack::web;

/// The rest of a click once its modal is open (or could not be): what [`ExplainClick`] carries.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Continuation {
    pub(super) request: Request,
    /// The durable run's key: a retried job resumes the same run.
    pub(super) key: String,
    /// The modal showing "Reading the conversation…", to fill in.
    pub(super) view: Option<web::OpenView>,
    /// Where to answer ephemerally when there is no modal (or it cannot be updated).
    pub(super) response_url: Option<String>,
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
        Ok(finish(ctx, &rest).await?)
    }
}

/// Explains and shows the result in the modal, else ephemerally.
async fn finish(ctx: &Context, rest: &Continuation) -> Result<(), ExplainError> {
    let Continuation {
        request,
        key,
        view,
        response_url,
    } = rest;
    let token = ctx.bot_token(&request.team_id).await;
    let outcome = match &token {
        Ok(_) => run_explain(ctx, request, key).await,
        Err(e) => Err(ExplainError::Token(e.to_string())),
    };
    let session = token.as_ref().ok().map(|token| ctx.slack.session(token));
    modal::show(
        request,
        view.as_ref(),
        response_url.as_deref(),
        session.as_ref(),
        &outcome,
    )
    .await
}

/// Steps are retried briefly: someone is waiting.
fn interactive_run_options() -> RunOptions {
    RunOptions {
        step_attempts: 2,
        step_backoff_base: Duration::from_millis(200),
        step_backoff_cap: Duration::from_secs(1),
    }
}

/// Runs (or resumes) the durable run `explain`/`key` for `request`.
pub(super) async fn run_explain(
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

    // 2. explain, checked by the guardrail, corrected once, else the extractive explainer.
    let explainer = agent::explain(ctx, &run, &conversation, &request.team_id, &request.user_id)
        .await
        .map_err(internal)?;

    let workspace_url = ctx.workspace_url(&request.team_id).await;
    let explanation = render::explanation(&explainer, &conversation, &workspace_url);
    run.finish(RunStatus::Succeeded).await.map_err(internal)?;
    Ok(Outcome::Explained(explanation))
}
