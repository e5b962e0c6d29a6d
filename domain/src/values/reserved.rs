//! Reserved subdomains: the words a tenant may not take as its slug, because `{slug}.{base-domain}`
//! would then shadow a host the platform itself uses (its API, its admin panel, its mail).
//!
//! A few words are always reserved; operators add their own (`TENANTRY_RESERVED_SUBDOMAINS`), so
//! the list is a value passed to [`Slug::parse`](super::Slug::parse) rather than a constant.

use std::collections::BTreeSet;

/// The set of reserved words: the built-in ones plus those an operator configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservedSubdomains {
    /// Lower-case, trimmed, non-empty; always contains [`ReservedSubdomains::BUILT_IN`].
    words: BTreeSet<String>,
}

impl ReservedSubdomains {
    /// Reserved whatever the configuration says.
    pub const BUILT_IN: &'static [&'static str] = &[
        "admin", "api", "www", "platform", "sistema", "static", "mail",
    ];

    /// The built-in words plus `extra`. Extra words are trimmed and lower-cased; empty ones are
    /// ignored.
    pub fn new<I, S>(extra: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let built_in = Self::BUILT_IN.iter().map(|w| (*w).to_owned());
        let extra = extra
            .into_iter()
            .map(|w| w.as_ref().trim().to_lowercase())
            .filter(|w| !w.is_empty());
        Self {
            words: built_in.chain(extra).collect(),
        }
    }

    /// The built-in words plus those of a configuration string separated by commas and/or white
    /// space, as in `TENANTRY_RESERVED_SUBDOMAINS="chat, status billing"`.
    pub fn from_list(list: &str) -> Self {
        Self::new(list.split(|c: char| c == ',' || c.is_whitespace()))
    }

    /// Whether `word` is reserved (compared case-insensitively).
    pub fn contains(&self, word: &str) -> bool {
        self.words.contains(&word.to_lowercase())
    }

    /// Every reserved word, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.words.iter().map(String::as_str)
    }
}

impl Default for ReservedSubdomains {
    /// Only the built-in words.
    fn default() -> Self {
        Self::new(std::iter::empty::<&str>())
    }
}
