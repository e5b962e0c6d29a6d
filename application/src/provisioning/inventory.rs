//! The inventory port: what tenant infrastructure actually exists, whatever the event log says.
//! The drift report (`tenantry doctor`) compares it with the read models to find orphans (exist,
//! but no tenant should have them) and missing resources.

use async_trait::async_trait;
use tenantry_domain::{ProvisioningStep, TenantId};

/// The kinds of things provisioning makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceKind {
    /// A row in `shared.tenants` (`shared_schema`).
    SharedTenant,
    /// A schema `tenant_{hex}` in the control-plane database (`schema_per_tenant`).
    Schema,
    /// A database `tenant_{hex}` (`database_per_tenant`).
    Database,
    /// A PostgreSQL role `tenant_{hex}` (either per-tenant model).
    Role,
    /// A Redis ACL user `tenant_{hex}`.
    RedisUser,
    /// Keys under a Redis namespace `tenant:{uuid}:` (queues included).
    RedisKeys,
    /// A secret `tenant/{uuid}/…` in the secret store.
    Secret,
}

/// One thing that exists.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExistingResource {
    pub kind: ResourceKind,
    /// Its name as the backend spells it: `tenant_0190…`, `tenant:0190…:`, `tenant/0190…/redis`,
    /// or the tenant id for a shared-tenant row.
    pub name: String,
    /// The tenant its name belongs to; `None` when the name has the tenant prefix but no valid id
    /// after it (made by hand, or by something else).
    pub tenant: Option<TenantId>,
}

impl ExistingResource {
    /// The step whose `release` removes this resource, when it belongs to a tenant. (A role is
    /// dropped by releasing either `Schema` or `Database`; this names `Schema`.)
    pub fn released_by(&self) -> Option<ProvisioningStep> {
        self.tenant?;
        Some(match self.kind {
            ResourceKind::SharedTenant => ProvisioningStep::RegisterSharedTenant,
            ResourceKind::Schema | ResourceKind::Role => ProvisioningStep::Schema,
            ResourceKind::Database => ProvisioningStep::Database,
            ResourceKind::RedisUser | ResourceKind::RedisKeys => ProvisioningStep::RedisNamespace,
            ResourceKind::Secret if self.name.ends_with("/postgres") => ProvisioningStep::Database,
            ResourceKind::Secret => ProvisioningStep::RedisNamespace,
        })
    }
}

/// Listing what exists failed.
#[derive(Debug, thiserror::Error)]
#[error("failed to list the tenant resources: {0:#}")]
pub struct InventoryError(#[from] pub anyhow::Error);

/// The inventory port. Held as `Arc<dyn ResourceInventory>`.
#[async_trait]
pub trait ResourceInventory: Send + Sync {
    /// Everything tenant-shaped that exists: schemas (in the control-plane database), databases
    /// and roles named `tenant_%`, rows of `shared.tenants`, Redis ACL users `tenant_*`, Redis key
    /// namespaces `tenant:{uuid}:` that hold keys, and secrets under `tenant/`. Databases, roles
    /// and Redis are shared by everything on the server: the list includes what other control
    /// planes on the same servers made. Sorted.
    async fn list(&self) -> Result<Vec<ExistingResource>, InventoryError>;
}
