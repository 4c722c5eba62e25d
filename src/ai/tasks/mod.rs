//! Inference tasks: small, self-contained units with a typed input and a typed output.
//!
//! A task knows nothing of Slack, of the feature that uses it, or of other tasks; agents compose
//! them. Each task says how to ask a model ([`Task::prompt`]) and how the built-in extractive engine
//! answers without one ([`Task::extractive`]), so the LLM gateway can run it on any deployment and
//! fall back to the extractive answer when models fail or none is configured.

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// One chat message of a prompt.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub struct PromptMessage {
    /// `system` or `user` (or `assistant` for a repair turn).
    pub role: String,
    pub content: String,
}

/// What a task asks a model. Slack content goes in `data` — delimited and labelled as data, never
/// mixed into the instructions — so a message saying "ignore previous instructions" stays text.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub struct Prompt {
    /// What to do and how to answer; written by chief, never containing workspace content.
    pub instructions: String,
    /// The input as data (usually JSON), wrapped by the gateway in explicit delimiters.
    pub data: String,
}

/// A self-contained inference task.
pub trait Task: Send + Sync {
    type Input: Serialize + Send + Sync;
    type Output: Serialize + DeserializeOwned + JsonSchema + Send + Sync;

    /// Stable name used in accounting, caching, metrics and run records (`summarize_discussion`).
    fn name(&self) -> &'static str;

    /// How to ask a model for the output.
    fn prompt(&self, input: &Self::Input) -> Prompt;

    /// The built-in extractive engine's answer: no model, always available, deterministic.
    fn extractive(&self, input: &Self::Input) -> Self::Output;

    /// The most completion tokens an answer needs, sent as `max_tokens` on every request (unless
    /// the caller sets its own): a model that rambles is cut off instead of generating up to its
    /// context size while every request behind it waits (a local server runs one at a time).
    fn max_output_tokens(&self) -> u32 {
        800
    }

    /// Checks beyond the JSON schema (e.g. every cited id exists in the input). An `Err` carries the
    /// reason, which the gateway sends back to the model once as a repair request.
    fn validate(&self, _input: &Self::Input, _output: &Self::Output) -> Result<(), String> {
        Ok(())
    }
}

pub mod briefing;
pub mod consolidate;
pub mod explain;
pub mod guardrail;
pub mod propositions;
pub mod rank;
pub mod summarize;
pub mod types;

pub use briefing::{BriefingInput, BriefingItem, ChosenStory, GenerateBriefing, WrittenBriefing};
pub use consolidate::{
    ChannelSummary, ConsolidateInput, ConsolidateOutput, ConsolidateTopics, GroupTopics, Grouping,
};
pub use explain::{ExplainContext, ExplainInput, Explainer};
pub use guardrail::{Guardrail, GuardrailInput, GuardrailReport, SlackLimits, Violation};
pub use propositions::{ExtractPropositions, PropositionsInput, PropositionsOutput};
pub use rank::{RankForUser, RankInput, RankOutput, RankedStory, ReaderInterest, ReaderProfile};
pub use summarize::{Discussion, SummarizeDiscussion};
pub use types::{
    ChannelInfo, ChatMessage, CitedSentence, DiscussionSummary, Entities, MessageRef, Proposition,
    Reader, Story, TextSection,
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Names key caches, metrics and run records: two tasks must never share one.
    #[test]
    fn task_names_are_unique() {
        let mut names = vec![
            ExtractPropositions.name(),
            SummarizeDiscussion::default().name(),
            ConsolidateTopics::default().name(),
            GroupTopics::default().name(),
            RankForUser::default().name(),
            GenerateBriefing.name(),
            ExplainContext.name(),
            Guardrail.name(),
        ];
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
    }
}
