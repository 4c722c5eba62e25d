//! The Slack edge: everything that knows Slack's wire formats. Nothing outside this module (and the
//! HTTP routes) sees a Slack type; the rest of chief works on domain structs.

pub mod api;
pub mod blocks;
pub mod convert;
pub mod envelope;
pub mod interactions;
pub mod markup;
pub mod oauth;
pub mod signature;
pub mod socket;
pub mod web;
