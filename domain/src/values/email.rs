//! An email address, such as a tenant's first administrator's. Parsed pragmatically: the forms
//! people really type (`name+tag@sub.example.com`, `josé@exemplo.com.br`) pass, while RFC 5322
//! exotica (quoted local parts, IP-literal domains, comments) are refused, because a mail we
//! cannot deliver is worse than a clear "please check the address".
//!
//! The shared text rules ([`TextFault`]) hold for it as for every text field.
//!
//! The domain is lower-cased (DNS is case-insensitive); the local part is kept as typed, since
//! some mail servers do treat it case-sensitively.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::{FieldError, TextFault};

/// A plausible, deliverable-looking email address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

/// Why a string is not an email address we accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("email must not be empty")]
    Empty,
    #[error("email must be at most {max} characters long, got {len}", max = Email::MAX_LEN)]
    TooLong { len: usize },
    #[error("email must contain '@', as in name@example.com")]
    MissingAt,
    #[error("email must have a name before '@', as in name@example.com")]
    EmptyLocalPart,
    #[error("the part of an email before '@' must be at most {max} characters long, got {len}", max = Email::MAX_LOCAL_LEN)]
    LocalPartTooLong { len: usize },
    #[error("the part of an email before '@' must not contain {ch:?}")]
    InvalidLocalCharacter { ch: char },
    #[error("the part of an email before '@' must not start or end with '.' or contain \"..\"")]
    MisplacedDot,
    /// Breaks the shared text rules (a control or bidirectional character).
    #[error("email {0}")]
    Text(TextFault),
    #[error("email domain {domain:?} is not valid: {reason}")]
    InvalidDomain {
        domain: String,
        reason: &'static str,
    },
}

impl FieldError for EmailError {
    fn field(&self) -> &'static str {
        "email"
    }

    fn code(&self) -> &'static str {
        "invalid_email"
    }
}

impl Email {
    /// RFC 5321's limit on a forward path.
    pub const MAX_LEN: usize = 254;
    pub const MAX_LOCAL_LEN: usize = 64;

    /// Trims `input`, checks it, and lower-cases its domain.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        Self::parse_with(input, true)
    }

    /// `parse`, with or without the shared text rules (see the `Deserialize` impl).
    fn parse_with(input: &str, text_rules: bool) -> Result<Self, EmailError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(EmailError::Empty);
        }
        let len = input.chars().count();
        if len > Self::MAX_LEN {
            return Err(EmailError::TooLong { len });
        }
        if text_rules {
            TextFault::check(input).map_err(EmailError::Text)?;
        }
        // The last '@': a '@' before it is then caught as a bad local-part character.
        let (local, domain) = input.rsplit_once('@').ok_or(EmailError::MissingAt)?;
        check_local_part(local)?;
        let domain = domain.to_lowercase();
        check_domain(&domain)?;
        Ok(Self(format!("{local}@{domain}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before `@`, as typed.
    pub fn local_part(&self) -> &str {
        self.split().0
    }

    /// The part after `@`, lower-cased.
    pub fn domain(&self) -> &str {
        self.split().1
    }

    fn split(&self) -> (&str, &str) {
        self.0
            .rsplit_once('@')
            .expect("a parsed email always contains '@'")
    }
}

fn check_local_part(local: &str) -> Result<(), EmailError> {
    if local.is_empty() {
        return Err(EmailError::EmptyLocalPart);
    }
    let len = local.chars().count();
    if len > Email::MAX_LOCAL_LEN {
        return Err(EmailError::LocalPartTooLong { len });
    }
    if let Some(ch) = local
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "\"(),:;<>@[\\]".contains(*c))
    {
        return Err(EmailError::InvalidLocalCharacter { ch });
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(EmailError::MisplacedDot);
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), EmailError> {
    let invalid = |reason| EmailError::InvalidDomain {
        domain: domain.to_owned(),
        reason,
    };
    if domain.is_empty() {
        return Err(invalid("it is empty"));
    }
    if !domain.contains('.') {
        return Err(invalid("it must contain a '.', as in example.com"));
    }
    for label in domain.split('.') {
        if label.is_empty() {
            return Err(invalid(
                "it must not start or end with '.' or contain \"..\"",
            ));
        }
        if label.chars().count() > 63 {
            return Err(invalid(
                "each part between dots must be at most 63 characters long",
            ));
        }
        if !label.chars().all(|c| c.is_alphanumeric() || c == '-') {
            return Err(invalid("it may contain only letters, digits, '-' and '.'"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(invalid("no part between dots may start or end with '-'"));
        }
    }
    Ok(())
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Reads an address as recorded (events, snapshots): by the rules it was recorded under. One with
/// a bidirectional character before its '@' was accepted before the shared text rules
/// ([`TextFault`]) and reads back as it was; the log is history, not rewritten.
impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        match Self::parse(&raw) {
            Err(EmailError::Text(TextFault::Bidi(_))) => Self::parse_with(&raw, false),
            parsed => parsed,
        }
        .map_err(serde::de::Error::custom)
    }
}
