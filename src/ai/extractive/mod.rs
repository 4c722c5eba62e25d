//! The built-in extractive engine: classic text methods that answer every task without a model.
//!
//! It is what the LLM gateway falls back to when no model is configured or every deployment fails,
//! so it must be deterministic, fast and useful on its own: its summaries quote the most central
//! sentences, its statements come from clause rules, its entities only name people present in the
//! input. Nothing here knows about Slack, tasks or features.
//!
//! - [`text`]: cleaning, Unicode words and sentences, stop words, stemmed terms
//! - [`lang`]: language detection and per-language resources
//! - [`tfidf`]: TF-IDF vectors and cosine similarity
//! - [`rank`]: sentence centrality, diverse selection, keyphrases
//! - [`entities`]: people, projects, systems, channels
//! - [`acts`]: what a statement does (request, commitment, decision, …) and its polarity
//! - [`dates`]: relative and explicit dates
//! - [`discussion`]: one analysis pass over a discussion (claims, centrality, topics, urgency)
//! - [`statements`]: clause rules → AMR-like statements with a modality
//! - [`person`]: rewriting the reader into the second person
//! - [`support`]: whether a generated sentence says what its cited messages say
//! - [`templates`]: framing sentences in English, French, German and Spanish
//! - [`tokens`]: token estimates, batching and chunking

pub mod acts;
pub mod dates;
pub mod discussion;
pub mod entities;
pub mod lang;
pub mod person;
pub mod rank;
pub mod statements;
pub mod support;
pub mod templates;
pub mod text;
pub mod tfidf;
pub mod tokens;

pub use lang::Lang;
pub use statements::Modality;
pub use templates::{InterestOrigin, Reason};
pub use tokens::{approx_tokens, batch_by_count, chunk_by_tokens};
