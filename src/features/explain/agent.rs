//! A gathered conversation → a checked explainer: `ExplainContext` through the one guarded loop
//! (`ai::guarded`) as an interactive call, checked against exactly the gathered messages.
//!
//! This is click-to-context's language side: it knows the tasks and the model gateway, not Slack
//! (the modal is `modal.rs`).

use serde::{Deserialize, Serialize};

use super::gather::Conversation;
use crate::ai::guarded::{Correction, Fallback, Guarded, Recorded};
use crate::ai::llm::CallOptions;
use crate::ai::tasks::{ExplainContext, ExplainInput, Explainer, GuardrailInput, Prompt, Task};
use crate::features::context::Context;
use crate::platform::runs::{Run, RunError, StepSource};

/// Explains `conversation` for its reader as steps of `run`: `explain`, `guardrail`, and when the
/// model's answer fails, `explain:corrected`, `guardrail:corrected`, then `explain:extractive`.
pub async fn explain(
    ctx: &Context,
    run: &Run,
    conversation: &Conversation,
    team_id: &str,
    user_id: &str,
) -> Result<Explainer, RunError> {
    let input = ExplainInput {
        reader: conversation.reader.clone(),
        channel: conversation.channel.clone(),
        clicked: conversation.clicked.clone(),
        thread: conversation.thread.clone(),
        neighbours: conversation.neighbours.clone(),
        interests: conversation.interests.clone(),
        utc_offset_secs: conversation.utc_offset_secs,
        propositions: conversation.propositions.clone(),
    };
    let options = CallOptions::interactive(team_id, Some(user_id));
    let check_input = |explainer: &Explainer| guardrail_input(conversation, explainer);
    let with_critique = |input: &ExplainInput, critique: &str| CorrectedInput {
        input: input.clone(),
        critique: critique.to_string(),
    };
    let guarded = Guarded {
        step: "explain",
        task: &ExplainContext,
        correction: Correction {
            task: &CorrectedExplain,
            input: &with_critique,
        },
        check_input: &check_input,
        describe: None,
        // The extractive explainer ignores critiques: its answer is the last resort anyway.
        correct_extractive: false,
        // The extractive explainer quotes the gathered messages themselves, and someone is
        // waiting: it is shown without another check.
        fallback: Fallback::Unchecked {
            verdict: "fallback after a failed correction",
        },
    };
    let checked = guarded
        .run::<Explained>(run, &ctx.llm, &options, &input)
        .await?;
    Ok(checked.output)
}

/// An explainer and where it came from (the output of the `explain` and `explain:corrected`
/// steps): the source is kept so that a resumed run knows whether the first answer was the
/// extractive engine's, which is never asked to correct itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Explained {
    explainer: Explainer,
    /// `model`, `cache` or `extractive`.
    source: String,
}

impl Recorded<Explainer> for Explained {
    fn record(explainer: Explainer, source: StepSource) -> Self {
        Explained {
            explainer,
            source: source.as_str().to_string(),
        }
    }

    fn source(&self) -> Option<StepSource> {
        [StepSource::Model, StepSource::Cache, StepSource::Extractive]
            .into_iter()
            .find(|s| s.as_str() == self.source)
    }

    fn into_output(self) -> Explainer {
        self.explainer
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

/// The guardrail's input: exactly the gathered messages, which the reader may all see.
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
        propositions: conversation.propositions.clone(),
    }
}
