//! The suspension's work on a tenant's access: each access (its database login, its Redis user)
//! switched off after `TenantSuspended`, and on again after `TenantReactivated`, one event per
//! access, by the saga (`saga:access`). A failed try is recorded with the time of the next, so a
//! restarted saga keeps the schedule.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{AccessAction, AccessResource, TenantId};

/// The tenant's `resource` is switched off: nothing can log in with it, and its open sessions or
/// clients were ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessSuspended {
    pub tenant_id: TenantId,
    pub resource: AccessResource,
    pub at: DateTime<Utc>,
}

/// The tenant's `resource` is switched on again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRestored {
    pub tenant_id: TenantId,
    pub resource: AccessResource,
    pub at: DateTime<Utc>,
}

/// A try to switch the tenant's `resource` off (or on) failed; the next is at `retry_at`. Access
/// changes are retried for as long as it takes (there is nothing to roll back to).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessChangeFailed {
    pub tenant_id: TenantId,
    pub resource: AccessResource,
    pub action: AccessAction,
    /// Failures in a row of this change, this one included.
    pub failures: u32,
    /// What went wrong, for the operator. Never a secret.
    pub error: String,
    /// A dependency was down, unreachable or not answering (retried at the transient backoff).
    #[serde(default)]
    pub transient: bool,
    pub retry_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
}
