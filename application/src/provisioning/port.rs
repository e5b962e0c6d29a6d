//! The provisioner port: apply or release one provisioning step of one tenant.

use async_trait::async_trait;
use tenantry_domain::events::CredentialsChange;
use tenantry_domain::{
    AccessAction, AccessResource, IsolationModel, ProvisionedResource, ProvisioningStep, Slug,
    TenantId,
};

use super::ProvisionError;

/// What a provisioner needs to know about the tenant it provisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSpec {
    pub id: TenantId,
    /// Stored beside the tenant's row in the shared tenant tables (`shared_schema`).
    pub slug: Slug,
    /// Decides what [`ProvisioningStep::TenantMigrations`] migrates: the tenant's schema or its
    /// database. A step outside `ProvisioningStep::sequence(isolation)` is refused.
    pub isolation: IsolationModel,
}

impl TenantSpec {
    /// The spec of `tenant` as its events describe it.
    pub fn of(tenant: &tenantry_domain::Tenant) -> Self {
        Self {
            id: tenant.id,
            slug: tenant.slug.clone(),
            isolation: tenant.isolation,
        }
    }
}

/// Applies and releases provisioning steps. Held as `Arc<dyn Provisioner>`.
///
/// Every name a step makes is derived from the tenant id
/// ([`TenantNames`](tenantry_domain::TenantNames)), so both operations can find what an earlier, interrupted run left, and `release` needs nothing but the
/// tenant id: it works for a tenant whose history is partial, failed or unknown (an orphan).
#[async_trait]
pub trait Provisioner: Send + Sync {
    /// Makes sure `step`'s resources exist for `tenant` and returns what they are. Idempotent:
    /// applying a step that is already (or half) applied completes it and returns the same
    /// resource. Secrets the step generates are kept in the secret store; the resource carries
    /// only their references.
    async fn apply(
        &self,
        tenant: &TenantSpec,
        step: ProvisioningStep,
    ) -> Result<ProvisionedResource, ProvisionError>;

    /// Removes whatever `step` made for `tenant`, including its secrets. Idempotent: releasing
    /// what does not exist (never applied, half applied, already released) succeeds. Release the
    /// steps of a sequence in reverse order. Releasing `TenantMigrations` alone does nothing: the
    /// migrated objects live in the tenant's schema or database, which releasing `Schema` or
    /// `Database` drops.
    async fn release(&self, tenant: TenantId, step: ProvisioningStep)
    -> Result<(), ProvisionError>;

    /// Switches `resource` of `tenant` off (`Suspend`: nothing logs in with it, and its open
    /// sessions or clients are ended) or on again (`Restore`). Idempotent, like the steps; an
    /// access whose resource does not exist (lost, or never made) is left alone and succeeds (the
    /// drift report lists what is missing). The saga's suspension work, and the reconciler after
    /// it made a suspended tenant's resource again.
    async fn set_access(
        &self,
        tenant: &TenantSpec,
        resource: AccessResource,
        action: AccessAction,
    ) -> Result<(), ProvisionError>;

    /// Carries out `change` of credential rotation `rotation` of `tenant` (see
    /// [`CredentialRotations`](tenantry_domain::CredentialRotations)): `Apply` puts the new
    /// passwords in place beside the old ones, `Retire` makes the old ones invalid. Idempotent.
    /// The saga's rotation work. By default refused (permanently): an adapter that holds no
    /// credentials has none to rotate.
    async fn change_credentials(
        &self,
        tenant: &TenantSpec,
        rotation: u32,
        change: CredentialsChange,
    ) -> Result<(), ProvisionError> {
        let _ = (tenant, rotation);
        Err(ProvisionError::permanent(anyhow::anyhow!(
            "this provisioner cannot {change} credentials"
        )))
    }

    /// This process starts (`true`) or stops leading the saga. An adapter may hold what only a
    /// leader needs for as long as it leads, and give it back after: the PostgreSQL adapter keeps
    /// its provisioning connections open while leading, so that a process that does not lead
    /// holds none of the server's connection slots (issue 11). Nothing by default.
    async fn leading(&self, _leading: bool) {}
}
