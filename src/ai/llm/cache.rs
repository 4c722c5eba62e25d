//! The response cache: a re-run pipeline asks the same questions and should pay nothing for them.
//!
//! The key is the SHA-256 of the canonical request — task, model, messages, output schema and
//! token cap — so any change to a prompt, the input data or the output type is a different key,
//! and an answer is only ever reused for exactly the question it answered. Entries expire after
//! `cache_ttl_secs` (7 days by default); expired rows are purged lazily.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::ai::tasks::PromptMessage;

/// Bumped when the request layout changes, so old entries stop matching.
const KEY_VERSION: u32 = 1;

/// The cache key of a request (64 hex characters).
pub fn cache_key(
    task: &str,
    model: &str,
    messages: &[PromptMessage],
    schema: &Value,
    max_tokens: Option<u32>,
) -> String {
    // serde_json's maps are sorted, so this serialisation is canonical.
    let canonical = json!({
        "v": KEY_VERSION,
        "task": task,
        "model": model,
        "messages": messages,
        "schema": schema,
        "max_tokens": max_tokens,
    });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// A stable key of a task's input alone (16 hex characters): the SHA-256 of its canonical JSON.
/// Unlike [`cache_key`] it ignores the prompt's wording, the model and the schema, so it names
/// "the same question" across prompt edits — what `chief eval`'s replayed answers are filed under.
pub fn input_key<I: serde::Serialize + ?Sized>(input: &I) -> String {
    // Through `Value`, whose maps are sorted: the same input gives the same text whatever the
    // order of a map's insertion.
    let canonical = serde_json::to_value(input)
        .map(|v| v.to_string())
        .unwrap_or_default();
    hex::encode(&Sha256::digest(canonical.as_bytes())[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(content: &str) -> Vec<PromptMessage> {
        vec![PromptMessage {
            role: "user".into(),
            content: content.into(),
        }]
    }

    #[test]
    fn same_request_same_key_and_any_difference_changes_it() {
        let schema = json!({"type": "object", "properties": {"a": {}, "b": {}}});
        let key = cache_key("t", "m", &msg("x"), &schema, None);
        assert_eq!(key.len(), 64);
        assert_eq!(key, cache_key("t", "m", &msg("x"), &schema, None));
        assert_ne!(key, cache_key("t", "m2", &msg("x"), &schema, None));
        assert_ne!(key, cache_key("t", "m", &msg("y"), &schema, None));
        assert_ne!(key, cache_key("t2", "m", &msg("x"), &schema, None));
        assert_ne!(key, cache_key("t", "m", &msg("x"), &json!({}), None));
        assert_ne!(key, cache_key("t", "m", &msg("x"), &schema, Some(5)));
    }
}
