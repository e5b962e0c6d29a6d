//! Where a tenant is in its life. The status is what the admin panel shows first and what every
//! command is checked against (see [`TenantState::decide`](super::TenantState::decide)).
//!
//! ```text
//! pending ─► provisioning ─► active ◄─► suspended
//!               │   ▲
//!               ▼   │ retry
//!         rolling_back ─► failed
//!
//! any status but deleted ─► deleting ─► deleted
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::FieldError;

/// A tenant's status. Serialized in snake_case, as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    /// Created; nothing provisioned yet.
    Pending,
    /// The provisioning saga is running the steps of the tenant's isolation model.
    Provisioning,
    /// Fully provisioned and serving.
    Active,
    /// Provisioned but refused service by an operator; can be reactivated.
    Suspended,
    /// Provisioning gave up; the saga is releasing what the completed steps made.
    RollingBack,
    /// Provisioning was rolled back and nothing is left of it; an operator may retry.
    Failed,
    /// Deletion was requested; the deletion saga is releasing everything the tenant has.
    Deleting,
    /// Gone. Its history stays in the event log; its slug may be taken again.
    Deleted,
}

/// The input names no status (e.g. in a `?status=` filter).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown status {value:?}; expected one of pending, provisioning, active, suspended, rolling_back, failed, deleting, deleted"
)]
pub struct TenantStatusError {
    pub value: String,
}

impl FieldError for TenantStatusError {
    fn field(&self) -> &'static str {
        "status"
    }

    fn code(&self) -> &'static str {
        "unknown_status"
    }
}

impl TenantStatus {
    pub const ALL: [Self; 8] = [
        Self::Pending,
        Self::Provisioning,
        Self::Active,
        Self::Suspended,
        Self::RollingBack,
        Self::Failed,
        Self::Deleting,
        Self::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Provisioning => "provisioning",
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::RollingBack => "rolling_back",
            Self::Failed => "failed",
            Self::Deleting => "deleting",
            Self::Deleted => "deleted",
        }
    }
}

impl FromStr for TenantStatus {
    type Err = TenantStatusError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| TenantStatusError {
                value: s.to_owned(),
            })
    }
}

impl fmt::Display for TenantStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
