//! Scaffolding for tests and `chief bench`: a local fake of the Slack Web API, a local
//! OpenAI-compatible model server, and throwaway databases. Compiled into the library so that
//! `chief bench` works from a plain release build, but nothing on the serving path imports it
//! (`tests/layout.rs` checks that).

pub mod fake_slack;
pub mod model_server;
pub mod scratch;
