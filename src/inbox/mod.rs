//! The durable inbox between the edge and the features: the edge stores each request here before
//! acknowledging it (`intake`), the worker drains it (`worker`) and hands each stored request to
//! the feature it concerns (`dispatch`).

pub mod dispatch;
pub mod intake;
pub mod interactions;
pub mod worker;
