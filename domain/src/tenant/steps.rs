//! Provisioning steps: the units of work that give a tenant its infrastructure. Which of them each
//! isolation model needs, in order, and what each makes, is in `infrastructure`
//! ([`ProvisioningStep::sequence`], [`ProvisioningStep::output`]). The provisioning saga runs them;
//! the aggregate checks that their outcomes arrive in that order and remembers what each one made,
//! so that a rollback or a deletion knows what to release.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One provisioning step. Serialized in snake_case (`register_shared_tenant`, …).
///
/// The variants are declared in the one order that every isolation model's sequence follows, so
/// sorting steps sorts them in provisioning order, and reversing that gives the release order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProvisioningStep {
    /// `shared_schema`: a row for the tenant in the shared tenant tables.
    RegisterSharedTenant,
    /// `schema_per_tenant`: the tenant's schema and a role that can use only it.
    Schema,
    /// `database_per_tenant`: the tenant's role (with a generated password) and database.
    Database,
    /// The per-tenant migration set, applied to the tenant's schema or database.
    TenantMigrations,
    /// A Redis ACL user that can touch only the tenant's `tenant:{id}:` keys.
    RedisNamespace,
    /// The tenant's default job queue, in its Redis namespace.
    Queue,
}

impl ProvisioningStep {
    pub const ALL: [Self; 6] = [
        Self::RegisterSharedTenant,
        Self::Schema,
        Self::Database,
        Self::TenantMigrations,
        Self::RedisNamespace,
        Self::Queue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RegisterSharedTenant => "register_shared_tenant",
            Self::Schema => "schema",
            Self::Database => "database",
            Self::TenantMigrations => "tenant_migrations",
            Self::RedisNamespace => "redis_namespace",
            Self::Queue => "queue",
        }
    }
}

impl fmt::Display for ProvisioningStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
