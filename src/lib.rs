//! chief: an AI chief of staff for engineering leaders, as a Slack app.
//!
//! Slack traffic enters at the edge (`http`, `slack`), is stored in the durable inbox (`intake`),
//! and is handled asynchronously (`worker`, `handlers`). See the README for the architecture.

pub mod ai;
pub mod app;
pub mod bench;
pub mod cli;
pub mod config;
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
