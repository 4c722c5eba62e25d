//! `chief bench …`: benchmarks that print a table and write the same figures as JSON. Targets live
//! here and in BENCHMARKS.md, never in timed tests; the test suite runs each benchmark small, for
//! correctness only.

pub mod briefings;
pub mod context;
pub mod intake;
pub mod org;
pub mod propositions;
pub mod report;
pub mod segmentation;
pub mod workspace;
