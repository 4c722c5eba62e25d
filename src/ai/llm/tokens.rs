//! Counting tokens the way the model does, so TPM limits, budgets and context checks hold.
//!
//! An estimate (four characters a token) is off by a factor of two on code, JSON or German, and a
//! TPM limit enforced with it either wastes half the quota or collects 429s. So each deployment
//! counts with its model's own tokenizer when chief can know it:
//!
//! * OpenAI model names (`gpt-4o-mini`, `gpt-4.1`, `o3`, fine-tunes `ft:…`) → tiktoken's BPE for
//!   that family (`o200k_base`, `cl100k_base`, …), built in;
//! * a deployment naming a Hugging Face `tokenizer.json` (`tokenizer = "…"`) → that file, with the
//!   `hf-tokenizers` build feature (off by default: the crate adds a noticeable build);
//! * anything else → the estimate.
//!
//! Chat framing costs a few tokens per message ([`MESSAGE_OVERHEAD`], [`REPLY_PRIMING`], OpenAI's
//! published figures). The provider's `usage` remains the truth for accounting; the gateway
//! settles its quota reservations with it and reports the difference
//! (`chief_llm_token_count_error_ratio`).

use std::path::Path;

use tiktoken_rs::CoreBPE;
use tracing::warn;

use crate::ai::tasks::PromptMessage;

/// Tokens each chat message costs beyond its content (role, separators).
pub const MESSAGE_OVERHEAD: u64 = 3;
/// Tokens that prime the assistant's reply.
pub const REPLY_PRIMING: u64 = 3;

/// How a deployment counts tokens.
#[derive(Clone)]
pub enum Tokenizer {
    /// tiktoken's BPE (OpenAI models); the name is the encoding's.
    Bpe {
        bpe: &'static CoreBPE,
        name: &'static str,
    },
    /// A Hugging Face tokenizer file.
    #[cfg(feature = "hf-tokenizers")]
    HuggingFace(std::sync::Arc<tokenizers::Tokenizer>),
    /// Four characters a token.
    Estimate,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Tokenizer {
    /// The tokenizer for `model`, or the one in `file` when given (and loadable).
    pub fn for_deployment(model: &str, file: Option<&Path>) -> Self {
        if let Some(path) = file {
            match Self::from_file(path) {
                Ok(t) => return t,
                Err(reason) => {
                    warn!(path = %path.display(), %reason, "tokenizer file unusable; counting by model name or estimate")
                }
            }
        }
        Self::for_model(model)
    }

    /// tiktoken for OpenAI model names, the estimate otherwise.
    pub fn for_model(model: &str) -> Self {
        use tiktoken_rs::tokenizer::{Tokenizer as Kind, get_tokenizer};
        let Some(kind) = get_tokenizer(model.trim()) else {
            return Tokenizer::Estimate;
        };
        let name = match kind {
            Kind::O200kHarmony => "o200k_harmony",
            Kind::O200kBase => "o200k_base",
            Kind::Cl100kBase => "cl100k_base",
            Kind::P50kBase => "p50k_base",
            Kind::R50kBase => "r50k_base",
            Kind::P50kEdit => "p50k_edit",
            Kind::Gpt2 => "gpt2",
        };
        match tiktoken_rs::bpe_for_tokenizer(kind) {
            Ok(bpe) => Tokenizer::Bpe { bpe, name },
            Err(_) => Tokenizer::Estimate,
        }
    }

    #[cfg(feature = "hf-tokenizers")]
    fn from_file(path: &Path) -> Result<Self, String> {
        tokenizers::Tokenizer::from_file(path)
            .map(|t| Tokenizer::HuggingFace(std::sync::Arc::new(t)))
            .map_err(|e| e.to_string())
    }

    #[cfg(not(feature = "hf-tokenizers"))]
    fn from_file(_path: &Path) -> Result<Self, String> {
        Err(
            "this build has no Hugging Face tokenizers (build with --features hf-tokenizers)"
                .into(),
        )
    }

    /// `o200k_base`, `cl100k_base`, `huggingface` or `estimate`, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Tokenizer::Bpe { name, .. } => name,
            #[cfg(feature = "hf-tokenizers")]
            Tokenizer::HuggingFace(_) => "huggingface",
            Tokenizer::Estimate => "estimate",
        }
    }

    /// Whether counts are the model's own (not an estimate).
    pub fn is_exact(&self) -> bool {
        !matches!(self, Tokenizer::Estimate)
    }

    /// Tokens of a text.
    pub fn count(&self, text: &str) -> u64 {
        match self {
            Tokenizer::Bpe { bpe, .. } => bpe.count_ordinary(text) as u64,
            #[cfg(feature = "hf-tokenizers")]
            Tokenizer::HuggingFace(t) => t
                .encode_fast(text, false)
                .map(|e| e.len() as u64)
                .unwrap_or_else(|_| estimate_tokens(text)),
            Tokenizer::Estimate => estimate_tokens(text),
        }
    }

    /// Tokens of a chat prompt, framing included.
    pub fn count_prompt(&self, messages: &[PromptMessage]) -> u64 {
        messages
            .iter()
            .map(|m| match self {
                // The role is a token or two: part of the estimate's flat framing.
                Tokenizer::Estimate => estimate_tokens(&m.content) + 1 + MESSAGE_OVERHEAD,
                _ => self.count(&m.content) + self.count(&m.role) + MESSAGE_OVERHEAD,
            })
            .sum::<u64>()
            + REPLY_PRIMING
    }
}

/// About four characters a token for English text and JSON.
pub fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(role: &str, content: &str) -> PromptMessage {
        PromptMessage {
            role: role.into(),
            content: content.into(),
        }
    }

    #[test]
    fn openai_models_are_counted_with_their_own_encoding() {
        let t = Tokenizer::for_model("gpt-4o-mini");
        assert_eq!(t.name(), "o200k_base");
        assert!(t.is_exact());
        assert_eq!(t.count("hello world"), 2);
        assert_eq!(Tokenizer::for_model("gpt-4").name(), "cl100k_base");
        // OpenAI's cookbook: this chat costs 3 + (1 + 1 + 3) + 3 tokens of framing and content.
        assert_eq!(t.count_prompt(&[msg("user", "hello")]), 1 + 1 + 3 + 3);
    }

    #[test]
    fn other_models_are_estimated() {
        let t = Tokenizer::for_deployment("SmolLM2-135M-Instruct", None);
        assert_eq!(t.name(), "estimate");
        assert_eq!(t.count("abcdefgh"), 2);
        // A tokenizer file this build cannot read is not fatal.
        let t = Tokenizer::for_deployment("gpt-4o", Some(Path::new("/nonexistent/tokenizer.json")));
        assert_eq!(t.name(), "o200k_base");
    }

    #[test]
    fn json_and_code_are_where_the_estimate_is_wrong() {
        let t = Tokenizer::for_model("gpt-4o");
        let json = r#"{"stories":[{"id":"s1","cites":["C01/1700000000.000100"]}]}"#;
        let exact = t.count(json);
        let estimate = estimate_tokens(json);
        assert_ne!(exact, estimate, "{exact} vs {estimate}");
    }
}
