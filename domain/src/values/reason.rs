//! Why an operator suspended or deleted a tenant: free text kept in the tenant's history and shown
//! in the audit log, so it follows the shared text rules ([`TextFault`]) and has a length cap.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::{FieldError, TextFault};

/// A valid reason: trimmed, 1–500 characters, within the shared text rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Reason(String);

/// Why a string is not a valid reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReasonError {
    #[error("reason must not be empty; leave it out to give none")]
    Empty,
    #[error("reason must be at most {max} characters long, got {len}", max = Reason::MAX_LEN)]
    TooLong { len: usize },
    /// Breaks the shared text rules: a control or bidirectional character, or nothing visible.
    #[error("reason {0}")]
    Text(TextFault),
}

impl FieldError for ReasonError {
    fn field(&self) -> &'static str {
        "reason"
    }

    fn code(&self) -> &'static str {
        "invalid_reason"
    }
}

impl Reason {
    pub const MAX_LEN: usize = 500;

    /// Trims `input` and checks what is left.
    pub fn parse(input: &str) -> Result<Self, ReasonError> {
        let reason = input.trim();
        if reason.is_empty() {
            return Err(ReasonError::Empty);
        }
        let len = reason.chars().count();
        if len > Self::MAX_LEN {
            return Err(ReasonError::TooLong { len });
        }
        TextFault::check(reason).map_err(ReasonError::Text)?;
        Ok(Self(reason.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Reason {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Reason {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}
