//! Plain domain types and the pure rules over them: no Slack, no model, no database.
//!
//! Everything above reads and writes these: the Slack edge converts its payloads into them, the
//! store persists them, the tasks and features reason over them.

pub mod activity;
pub mod domain;
pub mod events;
pub mod interest;
pub mod org;
pub mod priorities;
pub mod proposition;
pub mod settings;
