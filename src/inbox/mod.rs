//! The durable inbox between the edge and the features: the edge stores each request here before
//! acknowledging it (`intake`), the worker drains it (`worker`) and hands each stored request to
//! the feature it concerns (`dispatch`). A feature's typed error becomes the inbox's [`Failure`],
//! which decides between a retry and parking.

pub mod dispatch;
pub mod failure;
pub mod intake;
pub mod interactions;
pub mod worker;

pub use failure::Failure;
