//! The slug: a tenant's short, unique, URL- and DNS-safe handle. It becomes the tenant's host
//! (`{slug}.{base-domain}`), so its rules are those of a DNS label, narrowed to what reads well in
//! a URL: 3–63 characters of `a-z`, `0-9` and `-`, no `-` at either end, and not a word the
//! platform keeps for itself ([`ReservedSubdomains`]).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::{FieldError, ReservedSubdomains};

/// A valid slug. Made by [`Slug::parse`] or [`Slug::from_name`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Slug(String);

/// Why a string is not a valid slug.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    #[error("slug must be at least {min} characters long, got {len}", min = Slug::MIN_LEN)]
    TooShort { len: usize },
    #[error("slug must be at most {max} characters long, got {len}", max = Slug::MAX_LEN)]
    TooLong { len: usize },
    #[error("slug may contain only a-z, 0-9 and '-', found {ch:?}")]
    InvalidCharacter { ch: char },
    #[error("slug must not start or end with '-'")]
    HyphenAtEdge,
    /// `ab--…` labels are reserved for internationalised domain names (RFC 5891 §4.2.3.1): a
    /// browser would show `xn--…` as some other, possibly look-alike, name.
    #[error("slug must not have '--' as its 3rd and 4th characters")]
    IdnaPrefix,
    #[error("slug {slug:?} is reserved")]
    Reserved { slug: String },
    /// [`Slug::from_name`] found too little in the name to make a slug of.
    #[error("cannot derive a slug from the name {name:?}; give a slug explicitly")]
    CannotDerive { name: String },
}

impl FieldError for SlugError {
    fn field(&self) -> &'static str {
        "slug"
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Reserved { .. } => "reserved_slug",
            _ => "invalid_slug",
        }
    }
}

impl Slug {
    pub const MIN_LEN: usize = 3;
    pub const MAX_LEN: usize = 63;

    /// Parses a slug as given, without changing it: `"DrMarco"` is refused, not lower-cased, so
    /// that nobody ends up with a slug they did not type.
    pub fn parse(input: &str, reserved: &ReservedSubdomains) -> Result<Self, SlugError> {
        let slug = Self::parse_shape(input)?;
        if reserved.contains(&slug.0) {
            return Err(SlugError::Reserved { slug: slug.0 });
        }
        Ok(slug)
    }

    /// Derives a slug from a tenant's name: accents folded and other scripts transliterated to
    /// ASCII, lower-cased, apostrophes dropped, every other run of non-alphanumerics turned into
    /// one `-`, then cut to 63 characters. `"Clínica São José"` → `clinica-sao-jose`.
    ///
    /// Fails with [`SlugError::CannotDerive`] when fewer than 3 characters survive, and with
    /// [`SlugError::Reserved`] when the result is a reserved word.
    pub fn from_name(name: &str, reserved: &ReservedSubdomains) -> Result<Self, SlugError> {
        let ascii = deunicode::deunicode(name).to_lowercase();
        let mut slug = String::with_capacity(ascii.len());
        for ch in ascii.chars() {
            match ch {
                'a'..='z' | '0'..='9' => slug.push(ch),
                // "O'Brien's" reads as one word, not as "o-brien-s".
                '\'' => {}
                _ if !slug.is_empty() && !slug.ends_with('-') => slug.push('-'),
                _ => {}
            }
        }
        // Everything left is ASCII, so byte length is character length.
        slug.truncate(Self::MAX_LEN);
        let slug = slug.trim_end_matches('-');
        match Self::parse(slug, reserved) {
            Err(SlugError::TooShort { .. }) => Err(SlugError::CannotDerive {
                name: name.to_owned(),
            }),
            other => other,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }

    /// The rules that hold for every slug ever accepted. Reserved words are left out: they are
    /// configuration, and a slug recorded in an event stays readable if the list grows later.
    fn parse_shape(input: &str) -> Result<Self, SlugError> {
        let len = input.chars().count();
        if len < Self::MIN_LEN {
            return Err(SlugError::TooShort { len });
        }
        if len > Self::MAX_LEN {
            return Err(SlugError::TooLong { len });
        }
        if let Some(ch) = input
            .chars()
            .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-'))
        {
            return Err(SlugError::InvalidCharacter { ch });
        }
        if input.starts_with('-') || input.ends_with('-') {
            return Err(SlugError::HyphenAtEdge);
        }
        if input.get(2..4) == Some("--") {
            return Err(SlugError::IdnaPrefix);
        }
        Ok(Self(input.to_owned()))
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Slug {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Reading a slug back (from an event, a read model) checks its shape but not the reserved words,
/// which may have grown since the slug was accepted.
impl<'de> Deserialize<'de> for Slug {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse_shape(&raw).map_err(serde::de::Error::custom)
    }
}
