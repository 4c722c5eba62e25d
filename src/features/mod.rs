//! What chief does for people, each feature in its own module: ingestion of what Slack sends
//! (`ingest`), the daily briefing (`briefing`), click-to-context (`explain`), `/chief` (`command`),
//! the App Home (`home`), the propositions agent, and retention.
//!
//! Features take the one [`Context`] (configuration, storage, the Slack client, the model
//! gateway) and compose the layers below: `ai` for language, `slack` for Slack, `platform` for
//! storage, jobs and runs. Nothing here is called by a lower layer.

pub mod briefing;
pub mod command;
pub mod context;
pub mod explain;
pub mod home;
pub mod ingest;
pub mod org;
pub mod priorities;
pub mod propositions;
pub mod retention;

pub use context::Context;
