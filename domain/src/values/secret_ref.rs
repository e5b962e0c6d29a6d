//! A reference to a secret (a database password, a Redis ACL password) held in the secret store.
//! Events and read models carry this, never the secret: the event log is kept forever and read
//! widely, so a password written into it could never be taken back.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// The key of a secret in the secret store, e.g. `tenant/0190…/postgres`. Its alphabet
/// (`A-Z a-z 0-9 / _ - . :`, at most 255 characters) leaves no room for most generated passwords,
/// which makes it hard to pass a secret where its reference belongs by mistake.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct SecretRef(String);

/// Why a string is not a valid secret reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("secret reference must be 1-255 characters of A-Z, a-z, 0-9, '/', '_', '-', '.' and ':'")]
pub struct SecretRefError;

impl SecretRef {
    pub const MAX_LEN: usize = 255;

    pub fn parse(input: &str) -> Result<Self, SecretRefError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || "/_-.:".contains(c);
        if input.is_empty() || input.len() > Self::MAX_LEN || !input.chars().all(allowed) {
            return Err(SecretRefError);
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}
