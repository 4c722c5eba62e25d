//! Click-to-context's Slack side: which message a modal is about, opening the "Reading the
//! conversation…" modal at once, and showing the answer — in the modal, else ephemerally. It knows
//! Slack's views and blocks, not the model (the explanation itself is `agent.rs`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::warn;

use super::gather::Request;
use super::render;
use super::{ExplainError, Outcome};
use crate::features::context::Context;
use crate::model::domain::Explanation;
use crate::slack::blocks;
use crate::slack::web::{self, Session};

/// The modal's title (Slack allows 24 characters).
pub const MODAL_TITLE: &str = "Explain in context";

/// Which message a modal or "Try again" button is about (its `private_metadata` / `value`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Target {
    pub(super) c: String,
    pub(super) ts: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) th: Option<String>,
}

impl Target {
    pub(super) fn of(request: &Request) -> Self {
        Target {
            c: request.channel_id.clone(),
            ts: request.ts.clone(),
            th: request.thread_ts.clone(),
        }
    }

    fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub(super) fn parse(value: &str) -> Option<Self> {
        serde_json::from_str(value).ok()
    }
}

/// Where the answer goes.
pub(super) enum Surface {
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

/// Where a click's answer will be shown once it is ready.
pub(super) struct Opened {
    /// The modal showing "Reading the conversation…", to fill in.
    pub(super) view: Option<web::OpenView>,
    /// Where to answer ephemerally when there is no modal.
    pub(super) response_url: Option<String>,
}

/// Opens (or refreshes) the "Reading the conversation…" modal for `request` on `surface`: the
/// first thing a click does, before any Slack read or model call, because the trigger is valid
/// for three seconds. When no modal can be opened, the click's `response_url` is kept instead.
pub(super) async fn open(ctx: &Context, request: &Request, surface: &Surface) -> Opened {
    let metadata = Target::of(request).encode();
    let token = ctx.bot_token(&request.team_id).await;

    let mut response_url = None;
    let mut view = None;
    match (surface, &token) {
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
    Opened { view, response_url }
}

/// Shows a click's outcome: the modal, else the `response_url`, else an ephemeral message.
/// `session` is `None` when the workspace has no usable bot token.
pub(super) async fn show(
    request: &Request,
    view: Option<&web::OpenView>,
    response_url: Option<&str>,
    session: Option<&Session<'_>>,
    outcome: &Result<Outcome, ExplainError>,
) -> Result<(), ExplainError> {
    let metadata = Target::of(request).encode();
    let workspace_failure = matches!(outcome, Err(ExplainError::Token(_)));
    let (modal, text, message_blocks) = match outcome {
        Ok(Outcome::Explained(explanation)) => (
            explanation_view(explanation, &metadata),
            plain_text(explanation),
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
                blocks::modal(MODAL_TITLE, blocks.clone(), &metadata),
                sentence,
                blocks,
            )
        }
        Err(e) => {
            warn!(error = %e, "no explanation");
            let sentence = e.sentence();
            (
                failure_view(&sentence, &metadata),
                sentence.clone(),
                blocks::failure_blocks(&sentence, &metadata),
            )
        }
    };

    // Show it: the modal, else ephemerally.
    if let (Some(open), Some(session)) = (view, session) {
        match web::update_view(session, open, &modal).await {
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
    if let Some(session) = session
        && !workspace_failure
    {
        match web::post_ephemeral(
            session,
            &request.channel_id,
            &request.user_id,
            &text,
            &message_blocks,
        )
        .await
        {
            Ok(()) => return Ok(()),
            Err(e) if e.is_transient() => return Err(ExplainError::Show(e)),
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

/// The modal holding an explanation.
pub fn explanation_view(explanation: &Explanation, metadata: &str) -> Value {
    let mut content = vec![serde_json::json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": blocks::escape(&explanation.title)}]
    })];
    content.extend(blocks::explanation_blocks(explanation));
    content.truncate(blocks::MAX_BLOCKS);
    blocks::modal(MODAL_TITLE, content, metadata)
}

/// The modal saying why there is no explanation, with "Try again".
pub fn failure_view(sentence: &str, metadata: &str) -> Value {
    blocks::modal(
        MODAL_TITLE,
        blocks::failure_blocks(sentence, metadata),
        metadata,
    )
}

/// The explanation as one plain-text line for notifications.
pub fn plain_text(explanation: &Explanation) -> String {
    blocks::clip(
        &explanation
            .paragraphs
            .first()
            .cloned()
            .unwrap_or_else(|| explanation.title.clone()),
        3000,
    )
}
