//! The failure-injecting decorator: wraps the real provisioner and consults [`Faults`] around each
//! call, so the saga above it meets injected failures and crashes exactly as it would meet real
//! ones. With no faults configured it only forwards.

use std::sync::Arc;

use async_trait::async_trait;
use tenantry_domain::events::CredentialsChange;
use tenantry_domain::{
    AccessAction, AccessResource, ProvisionedResource, ProvisioningStep, TenantId,
};

use super::{FaultOp, FaultPoint, Faults, ProvisionError, Provisioner, TenantSpec};

/// A [`Provisioner`] that injects the failures and crashes of a [`Faults`] around another one.
pub struct FaultInjectingProvisioner {
    inner: Arc<dyn Provisioner>,
    faults: Arc<Faults>,
}

impl FaultInjectingProvisioner {
    pub fn new(inner: Arc<dyn Provisioner>, faults: Arc<Faults>) -> Self {
        Self { inner, faults }
    }

    /// `inner` itself when `faults` is empty, else `inner` wrapped.
    pub fn wrap(inner: Arc<dyn Provisioner>, faults: Arc<Faults>) -> Arc<dyn Provisioner> {
        if faults.is_empty() {
            inner
        } else {
            Arc::new(Self::new(inner, faults))
        }
    }
}

#[async_trait]
impl Provisioner for FaultInjectingProvisioner {
    /// An injected apply failure comes after the real work: the step's resources exist, as after
    /// a timeout that struck when the server had finished. A saga that gives up must release the
    /// failed step too, not only the ones that succeeded.
    async fn apply(
        &self,
        tenant: &TenantSpec,
        step: ProvisioningStep,
    ) -> Result<ProvisionedResource, ProvisionError> {
        self.faults
            .checkpoint(FaultPoint::BeforeApply, tenant.id, step);
        let resource = self.inner.apply(tenant, step).await?;
        if let Some(message) = self.faults.failure(FaultOp::Apply, tenant.id, step) {
            return Err(ProvisionError::Retryable(anyhow::anyhow!(message)));
        }
        self.faults
            .checkpoint(FaultPoint::AfterApply, tenant.id, step);
        Ok(resource)
    }

    /// An injected release failure comes first: nothing is released.
    async fn release(
        &self,
        tenant: TenantId,
        step: ProvisioningStep,
    ) -> Result<(), ProvisionError> {
        self.faults
            .checkpoint(FaultPoint::BeforeRelease, tenant, step);
        if let Some(message) = self.faults.failure(FaultOp::Release, tenant, step) {
            return Err(ProvisionError::Retryable(anyhow::anyhow!(message)));
        }
        self.inner.release(tenant, step).await?;
        self.faults
            .checkpoint(FaultPoint::AfterRelease, tenant, step);
        Ok(())
    }

    /// An injected failure (`access:<resource>:<times>`) comes first and is transient, as a
    /// Redis or PostgreSQL that is down would be: nothing is changed.
    async fn set_access(
        &self,
        tenant: &TenantSpec,
        resource: AccessResource,
        action: AccessAction,
    ) -> Result<(), ProvisionError> {
        if let Some(message) = self.faults.access_failure(tenant.id, resource, action) {
            return Err(ProvisionError::unavailable(anyhow::anyhow!(message)));
        }
        self.inner.set_access(tenant, resource, action).await
    }

    async fn change_credentials(
        &self,
        tenant: &TenantSpec,
        rotation: u32,
        change: CredentialsChange,
    ) -> Result<(), ProvisionError> {
        self.inner
            .change_credentials(tenant, rotation, change)
            .await
    }

    async fn leading(&self, leading: bool) {
        self.inner.leading(leading).await;
    }
}
