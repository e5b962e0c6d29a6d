//! The inventory port: what tenant infrastructure actually exists, whatever the event log says.
//! The drift report (`tenantry doctor`) compares it with the read models to find orphans (exist,
//! but no tenant should have them) and missing resources.

use async_trait::async_trait;
use tenantry_domain::{IsolationModel, ProvisioningStep, ResourceKind, TenantId, TenantSecret};

/// One thing that exists.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExistingResource {
    pub kind: ResourceKind,
    /// Its name as the backend spells it: `tenant_0190…`, `tenant:0190…:`, `tenant/0190…/redis`,
    /// or the tenant id for a shared-tenant row.
    pub name: String,
    /// The tenant its name belongs to; `None` when the name has the tenant prefix but is no name
    /// that a tenant's provisioning makes ([`TenantNames`](tenantry_domain::TenantNames)): made by
    /// hand, or by something else.
    pub tenant: Option<TenantId>,
}

impl ExistingResource {
    /// The step whose `release` removes this resource, for a tenant of `isolation`: the step that
    /// made it ([`IsolationModel::step_making`]). `None` when it belongs to no tenant, or no step of
    /// `isolation` makes it (a schema of a `database_per_tenant` tenant, a secret of another kind).
    pub fn released_by(&self, isolation: IsolationModel) -> Option<ProvisioningStep> {
        self.tenant?;
        match self.kind {
            ResourceKind::Secret => {
                isolation.step_making_secret(TenantSecret::of_reference(&self.name)?)
            }
            kind => isolation.step_making(kind),
        }
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

#[cfg(test)]
mod tests {
    use tenantry_domain::TenantNames;

    use super::*;

    fn found(kind: ResourceKind, name: String, tenant: TenantId) -> ExistingResource {
        ExistingResource {
            kind,
            name,
            tenant: Some(tenant),
        }
    }

    #[test]
    fn a_resource_is_released_by_the_step_that_made_it() {
        use IsolationModel::*;
        let tenant = TenantId::from_uuid(uuid::Uuid::now_v7());
        let names = TenantNames::of(tenant);
        let role = found(ResourceKind::Role, names.role().to_owned(), tenant);
        assert_eq!(
            role.released_by(SchemaPerTenant),
            Some(ProvisioningStep::Schema)
        );
        assert_eq!(
            role.released_by(DatabasePerTenant),
            Some(ProvisioningStep::Database)
        );
        assert_eq!(role.released_by(SharedSchema), None);
        let postgres = found(
            ResourceKind::Secret,
            names.postgres_secret().to_string(),
            tenant,
        );
        assert_eq!(
            postgres.released_by(DatabasePerTenant),
            Some(ProvisioningStep::Database)
        );
        let redis = found(
            ResourceKind::Secret,
            names.redis_secret().to_string(),
            tenant,
        );
        assert_eq!(
            redis.released_by(SharedSchema),
            Some(ProvisioningStep::RedisNamespace)
        );
        let other = found(
            ResourceKind::Secret,
            format!("{}tls", names.secret_prefix()),
            tenant,
        );
        assert_eq!(other.released_by(DatabasePerTenant), None);
        let keys = ExistingResource {
            tenant: None,
            ..found(ResourceKind::RedisKeys, "tenant:x:".into(), tenant)
        };
        assert_eq!(keys.released_by(SharedSchema), None, "no tenant's");
    }
}
