//! A tenant's display name: what operators see in the admin panel and members see in the portal.
//! Free text, kept verbatim apart from surrounding white space, but never empty, never huge, and
//! never carrying characters that would corrupt a table or a log line.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::FieldError;

/// A valid tenant name: trimmed, 1–200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct TenantName(String);

/// Why a string is not a valid tenant name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantNameError {
    #[error("name must not be empty")]
    Empty,
    #[error("name must be at most {max} characters long, got {len}", max = TenantName::MAX_LEN)]
    TooLong { len: usize },
    #[error("name must not contain control characters (found U+{code:04X})", code = u32::from(*ch))]
    ControlCharacter { ch: char },
}

impl FieldError for TenantNameError {
    fn field(&self) -> &'static str {
        "name"
    }

    fn code(&self) -> &'static str {
        "invalid_name"
    }
}

impl TenantName {
    pub const MAX_LEN: usize = 200;

    /// Trims `input` and checks what is left.
    pub fn parse(input: &str) -> Result<Self, TenantNameError> {
        let name = input.trim();
        if name.is_empty() {
            return Err(TenantNameError::Empty);
        }
        let len = name.chars().count();
        if len > Self::MAX_LEN {
            return Err(TenantNameError::TooLong { len });
        }
        if let Some(ch) = name.chars().find(|c| is_forbidden(*c)) {
            return Err(TenantNameError::ControlCharacter { ch });
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// C0/C1 controls (tabs and newlines included: a name is one line), plus the line separators and
/// the bidirectional overrides, which can make a name display as something it is not.
fn is_forbidden(ch: char) -> bool {
    ch.is_control()
        || matches!(ch, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

impl fmt::Display for TenantName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for TenantName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for TenantName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}
