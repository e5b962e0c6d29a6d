//! The key that encrypts the secret store: `TENANTRY_SECRET_KEY` (32 bytes, as 64 hex digits or
//! base64), or — for development only — a key generated on first start and kept in the
//! `platform_secrets` table, beside the very values it encrypts.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// The row of `platform_secrets` that holds a generated key.
const GENERATED_KEY_NAME: &str = "secret_store_key";

/// A 256-bit key. Its `Debug` shows only its fingerprint.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

/// Why a configured key is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("TENANTRY_SECRET_KEY must be 32 bytes written as 64 hex digits or as base64: {0}")]
pub struct SecretKeyError(String);

impl SecretKey {
    pub const LEN: usize = 32;

    /// Parses 64 hex digits or base64 (standard or URL-safe, padded or not) of 32 bytes.
    pub fn parse(input: &str) -> Result<Self, SecretKeyError> {
        let input = input.trim();
        let bytes = if input.len() == 2 * Self::LEN && input.bytes().all(|b| b.is_ascii_hexdigit())
        {
            decode_hex(input)
        } else {
            [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
                .iter()
                .find_map(|engine| engine.decode(input).ok())
                .ok_or_else(|| SecretKeyError("it is neither hex nor base64".to_owned()))?
        };
        let bytes: [u8; Self::LEN] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| SecretKeyError(format!("it decodes to {} bytes", b.len())))?;
        Ok(Self(bytes))
    }

    /// A random key.
    pub fn generate() -> Self {
        Self(rand::random())
    }

    /// The configured key, or else the generated one kept in `platform_secrets` (created by
    /// whichever process starts first), with a warning: a key stored beside the ciphertexts it
    /// protects protects nothing, so this is for development only.
    pub async fn load(configured: Option<&str>, pool: &PgPool) -> anyhow::Result<Self> {
        if let Some(configured) = configured.filter(|s| !s.trim().is_empty()) {
            return Ok(Self::parse(configured)?);
        }
        let (stored, created) =
            crate::platform_secrets::get_or_create(pool, GENERATED_KEY_NAME, || {
                STANDARD.encode(Self::generate().0)
            })
            .await?;
        tracing::warn!(
            created,
            "TENANTRY_SECRET_KEY is not set: the secret store is encrypted with a key kept in the \
             same database (platform_secrets), which is for development only; set \
             TENANTRY_SECRET_KEY (32 bytes, hex or base64) in production"
        );
        Ok(Self::parse(&stored)?)
    }

    pub(super) fn bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }

    /// A short fingerprint stored beside each value, so that a value encrypted under another key
    /// is reported as such. Reveals nothing useful about the key (32 bits of a hash of it).
    pub fn id(&self) -> String {
        let digest = Sha256::new()
            .chain_update(b"tenantry secret key id\0")
            .chain_update(self.0)
            .finalize();
        digest[..4].iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.id())
    }
}

/// Decodes an even number of hex digits (checked by the caller).
fn decode_hex(input: &str) -> Vec<u8> {
    input
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
            digit(pair[0]) << 4 | digit(pair[1])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_every_base64_flavour_parse_to_the_same_key() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i * 7 + 250) as u8);
        let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
        let expected = SecretKey(bytes).id();
        for input in [
            hex.clone(),
            hex.to_lowercase(),
            STANDARD.encode(bytes),
            STANDARD_NO_PAD.encode(bytes),
            URL_SAFE.encode(bytes),
            format!("  {}\n", URL_SAFE_NO_PAD.encode(bytes)),
        ] {
            assert_eq!(SecretKey::parse(&input).unwrap().id(), expected, "{input}");
        }
    }

    #[test]
    fn wrong_lengths_and_garbage_are_refused_with_the_reason() {
        let short = SecretKey::parse(&STANDARD.encode([1u8; 16])).unwrap_err();
        assert!(short.to_string().contains("decodes to 16 bytes"), "{short}");
        let garbage = SecretKey::parse("not a key!").unwrap_err();
        assert!(
            garbage.to_string().contains("neither hex nor base64"),
            "{garbage}"
        );
    }

    #[test]
    fn debug_shows_only_the_fingerprint() {
        let key = SecretKey::generate();
        assert_eq!(format!("{key:?}"), format!("SecretKey({})", key.id()));
        assert_ne!(key.id(), SecretKey::generate().id());
    }
}
