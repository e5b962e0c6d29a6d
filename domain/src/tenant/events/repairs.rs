//! Repairs: a resource an `active` or `suspended` tenant should have was found missing (a Redis
//! restarted without persistence, a role or database dropped by hand) and was made again, by
//! `tenantry doctor --fix` or the background reconciler, from the tenant's stored secrets.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::TenantId;

/// What was repaired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepairedKind {
    /// The tenant's row in `shared.tenants` (`shared_schema`).
    SharedTenant,
    /// The tenant's schema, re-created empty and migrated (its data was lost).
    Schema,
    /// The tenant's database, re-created empty from the migrated template (its data was lost).
    Database,
    /// The tenant's PostgreSQL role, with its stored password (if it logs in) and its grants.
    Role,
    /// The tenant's Redis ACL user, with its stored password.
    RedisUser,
    /// The tenant's default queue (a Redis stream) and its consumer group.
    Queue,
}

impl RepairedKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SharedTenant => "shared_tenant",
            Self::Schema => "schema",
            Self::Database => "database",
            Self::Role => "role",
            Self::RedisUser => "redis_user",
            Self::Queue => "queue",
        }
    }
}

impl fmt::Display for RepairedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A missing resource of the tenant was made again. Carries names only, never a secret: a
/// password is the one the secret store kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRepaired {
    pub tenant_id: TenantId,
    pub kind: RepairedKind,
    /// The resource's name: the role, schema, database or Redis user, the queue's stream key, or
    /// the tenant id for its shared-tenant row.
    pub name: String,
    /// Why it was repaired and how, for the operator, e.g. "missing (Redis user not found);
    /// restored with its stored password".
    pub reason: String,
    pub at: DateTime<Utc>,
}
