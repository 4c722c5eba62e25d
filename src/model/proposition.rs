//! Propositions: short structured statements (who did, said or asked what, about what, when)
//! extracted from messages — what later steps read instead of raw chat: summaries take them as
//! their statements, consolidation merges stories that share their entities, ranking boosts what
//! is asked of the reader or promised by them, explanations say what was asked, decided or is
//! blocked, and the guardrail checks each generated sentence against the propositions of the
//! messages it cites (same actor, same kind of act, same polarity, same entities).

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

// What a statement does in the work — the question every later step asks of it ("is something
// asked of the reader?", "did someone promise?", "was it decided?"). `modality` says how it was
// put; the kind says what it is for. Plain comments on these output types: doc comments become
// the JSON schema's descriptions, which every extraction call sends to the model.
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
pub enum Kind {
    // Someone asks someone (`addressee`, or anyone) to do something, possibly by a `due` day.
    Request,
    // Someone (the `subject`) promises or plans to do something, possibly by a `due` day.
    Commitment,
    Decision,
    Blocker,
    Question,
    // A reply that answers an earlier question.
    Answer,
    // Progress: done, fixed, shipped, in progress.
    Status,
    // Anything else worth knowing.
    #[default]
    Fyi,
}

impl Kind {
    /// The snake_case name, as stored and serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::Commitment => "commitment",
            Kind::Decision => "decision",
            Kind::Blocker => "blocker",
            Kind::Question => "question",
            Kind::Answer => "answer",
            Kind::Status => "status",
            Kind::Fyi => "fyi",
        }
    }
}

// Whether the statement affirms or denies its predicate ("will" / "won't", "is fixed" / "is not
// fixed"): the difference the guardrail must never let a paraphrase flip.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Polarity {
    #[default]
    Positive,
    Negative,
}

impl Polarity {
    fn is_positive(&self) -> bool {
        *self == Polarity::Positive
    }
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
    /// Tickets, issues, pull requests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tickets: Vec<String>,
    /// Days named, as YYYY-MM-DD.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dates: Vec<String>,
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
        add(&mut self.tickets, &other.tickets);
        add(&mut self.dates, &other.dates);
    }

    /// Every entity, lower-cased.
    pub fn all_lower(&self) -> Vec<String> {
        self.people
            .iter()
            .chain(&self.projects)
            .chain(&self.systems)
            .chain(&self.channels)
            .chain(&self.tickets)
            .chain(&self.dates)
            .map(|s| s.to_lowercase())
            .collect()
    }
}

/// An AMR-like statement extracted from messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Proposition {
    /// The statement as a short sentence ("Bob asks to reschedule the project Lavender meeting").
    pub statement: String,
    /// Who acts (asks, promises, decides, is blocked).
    pub subject: String,
    pub predicate: String,
    #[serde(default)]
    pub object: String,
    /// The calendar day it refers to (`2024-05-03`), relative dates resolved.
    #[serde(default)]
    pub time: Option<String>,
    pub modality: Modality,
    // What it does in the work. Defaulted: propositions stored before kinds existed are `fyi`.
    #[serde(default)]
    pub kind: Kind,
    #[serde(default, skip_serializing_if = "Polarity::is_positive")]
    pub polarity: Polarity,
    /// To whom a request or question is put, when named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addressee: Option<String>,
    /// By when a request or commitment is due (`2024-05-03`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    #[serde(default)]
    pub entities: Entities,
    pub sources: Vec<MessageRef>,
}

impl Proposition {
    /// Whether `name` is its actor (case-insensitive, `@` ignored).
    pub fn by(&self, name: &str) -> bool {
        same_person(&self.subject, name)
    }

    /// Whether it is put to `name`.
    pub fn to(&self, name: &str) -> bool {
        self.addressee
            .as_deref()
            .is_some_and(|a| same_person(a, name))
    }
}

/// Two spellings of one person: equal ignoring case and `@`, or one is the other's first name
/// ("Priya" and "Priya Raman").
pub fn same_person(a: &str, b: &str) -> bool {
    let a = a.trim().trim_start_matches('@').to_lowercase();
    let b = b.trim().trim_start_matches('@').to_lowercase();
    if a.is_empty() || b.is_empty() {
        return false;
    }
    a == b
        || a.split_whitespace().next() == Some(b.as_str())
        || b.split_whitespace().next() == Some(a.as_str())
}
