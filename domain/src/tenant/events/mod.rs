//! The tenant's events: the facts its history is made of, and the only thing the event store keeps.
//!
//! Every event type is a struct of its own ([`TenantCreated`], [`SchemaProvisioned`], …), so a
//! projector can take exactly the one it handles; [`TenantEvent`] is the union of them, which the
//! aggregate decides and applies. Each type has a name (`event_type`, the variant's name) and a
//! schema version, which go into the stored envelope; the payload is the struct's JSON, without any
//! enum tag (see [`DomainEvent`](crate::kernel::DomainEvent), which [`crate::domain_events!`] implements).
//!
//! Every payload carries the tenant's id and `at`, the time the fact happened by the caller's
//! clock (the envelope's `recorded_at` is the store's).

mod access;
mod credentials;
mod domains;
mod lifecycle;
mod provisioning;
mod repairs;
mod resources;
mod schema;
mod workers;

pub use access::{AccessChangeFailed, AccessRestored, AccessSuspended};
pub use credentials::{
    CredentialsChange, CredentialsChangeFailed, TenantCredentialsApplied, TenantCredentialsRetired,
    TenantCredentialsRevealed, TenantCredentialsRotated,
};
pub use domains::{CertificateIssued, DomainActivated, DomainRegistered};
pub use lifecycle::{
    PlanChanged, TenantCreated, TenantDeleted, TenantDeletionRequested, TenantReactivated,
    TenantRenamed, TenantSuspended,
};
pub use provisioning::{
    ProvisioningCompleted, ProvisioningRequested, ProvisioningRetryScheduled,
    ProvisioningRollbackStarted, ProvisioningRolledBack, ProvisioningStepFailed, ResourceReleased,
};
pub use repairs::{RepairedKind, ResourceRepaired};
pub use resources::{
    DatabaseProvisioned, HookStepSucceeded, QueueProvisioned, RedisNamespaceProvisioned,
    SchemaProvisioned, SharedTenantRegistered, TenantMigrationsApplied,
};
pub use schema::{TenantMigrated, TenantMigrationFailed};
pub use workers::{WorkerStarted, WorkerStopped};

use chrono::{DateTime, Utc};

use crate::TenantId;

crate::domain_events! {
    /// Any event of the tenant aggregate.
    pub enum TenantEvent;
    common { tenant_id: TenantId, at: DateTime<Utc> }
    tenant: |event| Some(event.tenant_id());
    TenantCreated = 1,
    ProvisioningRequested = 1,
    SharedTenantRegistered = 1,
    SchemaProvisioned = 1,
    DatabaseProvisioned = 1,
    TenantMigrationsApplied = 1,
    RedisNamespaceProvisioned = 1,
    QueueProvisioned = 1,
    DomainRegistered = 1,
    DomainActivated = 1,
    CertificateIssued = 1,
    WorkerStarted = 1,
    WorkerStopped = 1,
    ProvisioningStepFailed = 1,
    ProvisioningRetryScheduled = 1,
    ProvisioningCompleted = 1,
    ProvisioningRollbackStarted = 1,
    ResourceReleased = 1,
    ProvisioningRolledBack = 1,
    TenantRenamed = 1,
    PlanChanged = 1,
    TenantSuspended = 1,
    TenantReactivated = 1,
    TenantDeletionRequested = 1,
    TenantDeleted = 1,
    ResourceRepaired = 1,
    AccessSuspended = 1,
    AccessRestored = 1,
    AccessChangeFailed = 1,
    TenantCredentialsRevealed = 1,
    HookStepSucceeded = 1,
    TenantMigrated = 1,
    TenantMigrationFailed = 1,
    TenantCredentialsRotated = 1,
    TenantCredentialsApplied = 1,
    TenantCredentialsRetired = 1,
    CredentialsChangeFailed = 1,
}
