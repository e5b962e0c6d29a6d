//! A tenant's display name: what operators see in the admin panel and members see in the portal.
//! Free text, kept verbatim apart from surrounding white space, but never empty, never huge, and
//! never carrying characters that would corrupt a table or a log line, or make the name display as
//! something it is not (the shared text rules, [`TextFault`]).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::{FieldError, TextFault};

/// A valid tenant name: trimmed, 1–200 characters, within the shared text rules.
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
    /// Breaks the shared text rules: a control or bidirectional character, or nothing visible.
    #[error("name {0}")]
    Text(TextFault),
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
        TextFault::check(name).map_err(TenantNameError::Text)?;
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
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

/// Reads a name as recorded (events, snapshots): by the rules it was recorded under. A name made
/// only of invisible characters was accepted before the shared text rules ([`TextFault`]) and
/// reads back as it was; the log is history, not rewritten. Anything the rules always refused is
/// still refused.
impl<'de> Deserialize<'de> for TenantName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        match Self::parse(&raw) {
            Err(TenantNameError::Text(TextFault::Invisible)) => Ok(Self(raw.trim().to_owned())),
            parsed => parsed.map_err(serde::de::Error::custom),
        }
    }
}
