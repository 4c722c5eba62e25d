//! Ingestion: what Slack sends (events, history pages, exports) becomes stored messages, people
//! and channels, and domain events on the bus.

pub mod backfill;
pub mod directory;
pub mod import;
pub mod live;
