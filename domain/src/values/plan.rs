//! Plans: what a tenant pays for. A plan has a name, the isolation model a new tenant on it gets
//! unless told otherwise, and the limits it grants. Operators configure the set of plans (see
//! [`PlanCatalog`](super::PlanCatalog)); tenants and events refer to a plan by its [`PlanName`].

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::{FieldError, IsolationModel};

/// A plan's name: 1–50 characters of `a-z`, `0-9`, `_` and `-`, starting with a letter. Being an
/// identifier, it is safe in URLs, metrics labels and configuration keys.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct PlanName(String);

/// Why a string is not a valid plan name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanNameError {
    #[error("plan must not be empty")]
    Empty,
    #[error("plan must be at most {max} characters long, got {len}", max = PlanName::MAX_LEN)]
    TooLong { len: usize },
    #[error("plan may contain only a-z, 0-9, '_' and '-', and must start with a letter")]
    InvalidCharacter,
}

impl FieldError for PlanNameError {
    fn field(&self) -> &'static str {
        "plan"
    }

    fn code(&self) -> &'static str {
        "invalid_plan"
    }
}

impl PlanName {
    pub const MAX_LEN: usize = 50;

    pub fn parse(input: &str) -> Result<Self, PlanNameError> {
        let Some(first) = input.chars().next() else {
            return Err(PlanNameError::Empty);
        };
        let len = input.chars().count();
        if len > Self::MAX_LEN {
            return Err(PlanNameError::TooLong { len });
        }
        let allowed = |c: char| matches!(c, 'a'..='z' | '0'..='9' | '_' | '-');
        if !first.is_ascii_lowercase() || !input.chars().all(allowed) {
            return Err(PlanNameError::InvalidCharacter);
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PlanName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for PlanName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for PlanName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// What a plan grants. `None` means "no limit"; a missing field in a configuration file too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlanLimits {
    /// `tenantry worker` processes the tenant may run at once, across its queues.
    pub max_workers: Option<u32>,
    /// Domains besides the tenant's own `{slug}.{base-domain}`: `chat.`/`api.` subdomains and
    /// custom domains.
    pub max_domains: Option<u32>,
    /// Job queues in the tenant's Redis namespace, the default queue included.
    pub max_queues: Option<u32>,
    /// Members (tenant users) the tenant may have.
    pub max_members: Option<u32>,
}

impl PlanLimits {
    /// No limit on anything.
    pub const UNLIMITED: Self = Self {
        max_workers: None,
        max_domains: None,
        max_queues: None,
        max_members: None,
    };
}

/// A configured plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub name: PlanName,
    /// The isolation model a tenant created on this plan gets when the request names none.
    pub default_isolation: IsolationModel,
    #[serde(default)]
    pub limits: PlanLimits,
}
