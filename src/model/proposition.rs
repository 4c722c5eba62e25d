//! Propositions: short structured statements (who did, said or asked what, about what, when)
//! extracted from messages — what later steps read instead of raw chat.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::domain::MessageRef;

/// What a statement does in the conversation.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    #[default]
    Statement,
    Request,
    Plan,
    Blocker,
    Decision,
    Question,
}

/// Named things a text is about.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Entities {
    /// Authors and @-mentioned or named people present in the input.
    #[serde(default)]
    pub people: Vec<String>,
    #[serde(default)]
    pub projects: Vec<String>,
    #[serde(default)]
    pub systems: Vec<String>,
    /// Channel names (without `#`).
    #[serde(default)]
    pub channels: Vec<String>,
}

impl Entities {
    /// Adds the other's entities not already present (case-insensitive), keeping order.
    pub fn merge(&mut self, other: &Entities) {
        fn add(into: &mut Vec<String>, from: &[String]) {
            for v in from {
                if !into.iter().any(|x| x.eq_ignore_ascii_case(v)) {
                    into.push(v.clone());
                }
            }
        }
        add(&mut self.people, &other.people);
        add(&mut self.projects, &other.projects);
        add(&mut self.systems, &other.systems);
        add(&mut self.channels, &other.channels);
    }

    /// Every entity, lower-cased.
    pub fn all_lower(&self) -> Vec<String> {
        self.people
            .iter()
            .chain(&self.projects)
            .chain(&self.systems)
            .chain(&self.channels)
            .map(|s| s.to_lowercase())
            .collect()
    }
}

/// An AMR-like statement extracted from messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Proposition {
    /// The statement as a short sentence ("Bob asks to reschedule the project Lavender meeting").
    pub statement: String,
    pub subject: String,
    pub predicate: String,
    #[serde(default)]
    pub object: String,
    /// The calendar day it refers to (`2024-05-03`), relative dates resolved.
    #[serde(default)]
    pub time: Option<String>,
    pub modality: Modality,
    #[serde(default)]
    pub entities: Entities,
    pub sources: Vec<MessageRef>,
}
