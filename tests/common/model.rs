//! The local model server (`chief::testkit::model_server`) as chief's LLM endpoint: one deployment
//! shape and one way to point a configuration at the server.

use chief::config::{Config, DeploymentConfig, DeploymentKind, JsonMode};
use chief::testkit::model_server::LocalLlm;

/// A deployment at `base_url` (the local server's, or a closed port): an OpenAI-style endpoint with
/// a test key, generous limits and JSON-schema output. Tests that need another name, key or limit
/// override fields with `DeploymentConfig { …, ..deployment(url) }`.
pub fn deployment(base_url: &str) -> DeploymentConfig {
    DeploymentConfig {
        name: "primary".into(),
        base_url: base_url.into(),
        api_key: Some("sk-test".to_string().into()),
        model: "test-model".into(),
        azure_api_version: None,
        rpm: 600,
        tpm: 1_000_000,
        weight: 1,
        context_tokens: 16_000,
        json_mode: JsonMode::JsonSchema,
        temperature: None,
        // The local test server stands in for a hosted API: many requests at once.
        kind: DeploymentKind::Hosted,
        max_concurrency: None,
        tokenizer: None,
    }
}

/// Makes `llm` chief's only model, with retries that wait milliseconds rather than seconds.
pub fn use_model(config: &mut Config, llm: &LocalLlm) {
    config.llm.deployments = vec![deployment(&llm.base_url())];
    config.llm.retry_base_ms = Some(20);
}
