//! chief: an AI chief of staff for engineering leaders, as a Slack app.
//!
//! Slack traffic enters at the edge (`http`, `slack::socket`), is stored in the durable inbox
//! (`inbox`), and is handed to the features (`features`), which compose the language tasks (`ai`),
//! the Slack client (`slack::web`) and the platform (`platform`: storage, jobs, runs, bus) over
//! plain domain types (`model`). Dependencies point one way, top to bottom; `tests/layout.rs`
//! checks it. See the README's "Code map".

pub mod ai;
pub mod app;
pub mod bench;
pub mod cli;
pub mod config;
pub mod eval;
pub mod features;
pub mod http;
pub mod inbox;
pub mod model;
pub mod platform;
pub mod slack;
pub mod telemetry;
pub mod testkit;

/// Process-wide set-up that must happen before any TLS or metrics use: choose rustls's *ring*
/// provider (several dependencies bring rustls; without an explicit choice the first TLS
/// connection panics) and install the metrics recorder.
pub fn init_process() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    telemetry::init_metrics();
}
