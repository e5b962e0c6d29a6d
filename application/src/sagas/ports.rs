//! What the saga runner needs besides the event store and the provisioner: to be the only
//! runner across processes, and to know which tenants are in flight.

use async_trait::async_trait;
use tenantry_domain::TenantId;

use crate::event_store::Checkpoint;

/// Leadership: at most one holder across processes at a time.
#[async_trait]
pub trait Lease: Send + Sync {
    /// Takes the lease if it is free (or already ours).
    async fn try_acquire(&self) -> anyhow::Result<bool>;
    /// Whether we still hold it (a lost connection loses it).
    async fn held(&self) -> bool;
    /// Gives it up.
    async fn release(&self);
}

/// The tenants the read models say need the saga, and how far those read models have read.
#[async_trait]
pub trait SagaWork: Send + Sync {
    /// Tenants that are `pending`, `provisioning`, `rolling_back` or `deleting`, and the
    /// `suspended` or `active` ones whose access still has to be switched off or on.
    async fn tenants_in_flight(&self) -> anyhow::Result<Vec<TenantId>>;
    /// The log position up to which [`SagaWork::tenants_in_flight`] is complete.
    async fn checkpoint(&self) -> anyhow::Result<Checkpoint>;
}
