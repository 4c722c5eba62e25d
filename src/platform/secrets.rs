//! Bot tokens encrypted at rest (ChaCha20-Poly1305, an AEAD), with key rotation.
//!
//! A sealed token is `key id (4 bytes) ‖ nonce (12 bytes) ‖ ciphertext+tag`. The key id is the start
//! of the key's SHA-256, so a blob says which key opened it: after a rotation the previous keys stay
//! listed in `CHIEF_SECRET_KEY_PREVIOUS` until `chief rotate-key` has re-sealed every token with the
//! current `CHIEF_SECRET_KEY`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretsError {
    #[error("CHIEF_SECRET_KEY must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)")]
    BadKey,
    #[error("no CHIEF_SECRET_KEY: multi-workspace installs store tokens encrypted and need one")]
    NoKey,
    #[error("a stored token was sealed with a key that is not configured (key id {0})")]
    UnknownKey(String),
    #[error("a stored token is corrupt or was tampered with")]
    Corrupt,
}

struct SealKey {
    id: [u8; 4],
    cipher: ChaCha20Poly1305,
}

impl SealKey {
    fn parse(encoded: &str) -> Result<Self, SecretsError> {
        let bytes = STANDARD
            .decode(encoded.trim())
            .map_err(|_| SecretsError::BadKey)?;
        if bytes.len() != 32 {
            return Err(SecretsError::BadKey);
        }
        let digest = Sha256::digest(&bytes);
        Ok(SealKey {
            id: [digest[0], digest[1], digest[2], digest[3]],
            cipher: ChaCha20Poly1305::new(Key::from_slice(&bytes)),
        })
    }
}

/// Seals with the current key; opens with the current or any previous key.
pub struct TokenCipher {
    current: SealKey,
    previous: Vec<SealKey>,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCipher([redacted])")
    }
}

impl TokenCipher {
    /// `current` and `previous` are base64 32-byte keys; `previous` is comma-separated.
    pub fn new(
        current: &SecretString,
        previous: Option<&SecretString>,
    ) -> Result<Self, SecretsError> {
        let previous = previous
            .map(|p| {
                p.expose_secret()
                    .split(',')
                    .filter(|k| !k.trim().is_empty())
                    .map(SealKey::parse)
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        Ok(TokenCipher {
            current: SealKey::parse(current.expose_secret())?,
            previous,
        })
    }

    pub fn seal(&self, token: &SecretString) -> Vec<u8> {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        // Encryption with a valid key and nonce cannot fail for inputs of this size.
        let ciphertext = self
            .current
            .cipher
            .encrypt(&nonce, token.expose_secret().as_bytes())
            .unwrap_or_default();
        let mut sealed = Vec::with_capacity(4 + 12 + ciphertext.len());
        sealed.extend_from_slice(&self.current.id);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    pub fn open(&self, sealed: &[u8]) -> Result<SecretString, SecretsError> {
        if sealed.len() < 4 + 12 + 16 {
            return Err(SecretsError::Corrupt);
        }
        let (id, rest) = sealed.split_at(4);
        let (nonce, ciphertext) = rest.split_at(12);
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == id)
            .ok_or_else(|| SecretsError::UnknownKey(hex::encode(id)))?;
        let plain = key
            .cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| SecretsError::Corrupt)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| SecretsError::Corrupt)
    }

    /// Whether a sealed value was sealed with the current key (else `rotate-key` re-seals it).
    pub fn is_current(&self, sealed: &[u8]) -> bool {
        sealed.get(..4) == Some(&self.current.id[..])
    }
}

/// A fresh random key, base64-encoded, for `CHIEF_SECRET_KEY`.
pub fn generate_key() -> String {
    STANDARD.encode(ChaCha20Poly1305::generate_key(&mut OsRng))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretString {
        SecretString::from(generate_key())
    }

    #[test]
    fn a_sealed_token_opens_and_does_not_contain_the_plaintext() {
        let cipher = TokenCipher::new(&key(), None).unwrap();
        let sealed = cipher.seal(&SecretString::from("xoxb-secret-token"));
        assert!(!String::from_utf8_lossy(&sealed).contains("xoxb"));
        assert_eq!(
            cipher.open(&sealed).unwrap().expose_secret(),
            "xoxb-secret-token"
        );
        assert_ne!(
            sealed,
            cipher.seal(&SecretString::from("xoxb-secret-token")),
            "fresh nonce"
        );
    }

    #[test]
    fn after_rotation_old_tokens_open_with_the_previous_key() {
        let old = key();
        let new = key();
        let sealed = TokenCipher::new(&old, None)
            .unwrap()
            .seal(&SecretString::from("xoxb-1"));
        let rotated = TokenCipher::new(&new, Some(&old)).unwrap();
        assert!(!rotated.is_current(&sealed));
        assert_eq!(rotated.open(&sealed).unwrap().expose_secret(), "xoxb-1");
        let without_old = TokenCipher::new(&new, None).unwrap();
        assert!(matches!(
            without_old.open(&sealed),
            Err(SecretsError::UnknownKey(_))
        ));
    }

    #[test]
    fn tampering_and_bad_keys_are_errors() {
        let cipher = TokenCipher::new(&key(), None).unwrap();
        let mut sealed = cipher.seal(&SecretString::from("xoxb-1"));
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(cipher.open(&sealed).unwrap_err(), SecretsError::Corrupt);
        assert_eq!(cipher.open(b"short").unwrap_err(), SecretsError::Corrupt);
        assert_eq!(
            TokenCipher::new(&SecretString::from("too-short"), None).unwrap_err(),
            SecretsError::BadKey
        );
    }
}
