//! chief: an AI chief of staff for engineering leaders, as a Slack app.
//!
//! Slack traffic enters at the edge (`http`, `slack`), is stored in the durable inbox (`intake`),
//! and is handled asynchronously (`worker`, `handlers`). See the README for the architecture.

pub mod activity;
pub mod app;
pub mod backfill;
pub mod bench;
pub mod briefing;
pub mod bus;
pub mod chief_command;
pub mod cli;
pub mod config;
pub mod context;
pub mod db;
pub mod directory;
pub mod domain;
pub mod events;
pub mod explain;
pub mod extractive;
pub mod handlers;
pub mod home;
pub mod http;
pub mod import;
pub mod intake;
pub mod interest;
pub mod jobs;
pub mod llm;
pub mod propositions;
pub mod retention;
pub mod runs;
pub mod secrets;
pub mod segment;
pub mod settings;
pub mod slack;
pub mod tasks;
pub mod telemetry;
pub mod text;
pub mod worker;

/// Process-wide set-up that must happen before any TLS or metrics use: choose rustls's *ring*
/// provider (several dependencies bring rustls; without an explicit choice the first TLS
/// connection panics) and install the metrics recorder.
pub fn init_process() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    telemetry::init_metrics();
}
