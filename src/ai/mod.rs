//! Everything that writes or reads language, with no knowledge of Slack: the model gateway
//! (`llm`), the tasks with typed inputs and outputs (`tasks`), the built-in extractive engine that
//! answers every task without a model (`extractive`), discussion segmentation (`segment`), and the
//! one generate → check → correct → fall back loop (`guarded`).

pub mod extractive;
pub mod guarded;
pub mod llm;
pub mod segment;
pub mod tasks;
