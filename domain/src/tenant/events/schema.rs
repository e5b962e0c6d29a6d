//! The fleet migration's steps on one tenant: its schema (or database) was brought from one
//! version of the tenant migrations to another, or a migration failed and the tenant kept its
//! version. The error is the database's message, which names objects, never a secret.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::TenantId;

/// The tenant's migrations ran, in one transaction: it is now at version `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantMigrated {
    pub tenant_id: TenantId,
    /// The version before (0: none applied).
    pub from: i64,
    pub to: i64,
    pub at: DateTime<Utc>,
}

/// Migration `version` failed on the tenant; its transaction was rolled back, so the tenant keeps
/// the version it had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantMigrationFailed {
    pub tenant_id: TenantId,
    /// The version the fleet migration was bringing the tenant to.
    pub version: i64,
    pub error: String,
    pub at: DateTime<Utc>,
}
