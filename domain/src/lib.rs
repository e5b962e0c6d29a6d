//! Tenantry's domain: the Tenant aggregate, its commands, events and value objects.
//!
//! This crate is synchronous and does no IO. Anything external (a clock, an id, whether a slug is
//! taken) is looked up by the application layer and passed in.
//!
//! A tour: the value objects first ([`Slug`], [`TenantName`], [`Email`], [`PlanCatalog`]: what
//! valid input is), then [`TenantStatus`] (the lifecycle), [`TenantCommand`] and
//! [`TenantState::decide`] (the rules), [`TenantEvent`] and [`events`] (the facts), and
//! [`TenantState::apply`] / [`TenantState::fold`] (how history becomes state). Every aggregate
//! (tenant, slug claim, staff account, invitation) is written with the [`kernel`].

mod error;
pub mod invitation;
pub mod kernel;
pub mod slug_claim;
pub mod staff;
mod tenant;
mod values;

pub use error::DomainError;
/// A tenant's infrastructure: what each isolation model makes, and what it is called.
pub use tenant::{
    AccessAction, AccessResource, ResourceKind, StepOutput, TenantLogin, TenantNames, TenantSecret,
};
pub use tenant::{
    AccessProgress, CreateTenant, CredentialRotations, DomainState, ProvisionedResource,
    ProvisioningProgress, ProvisioningStep, Suspension, Tenant, TenantCommand, TenantEvent,
    TenantId, TenantState, TenantStatus, TenantStatusError, TransientStreak,
};
pub use tenant::{HookName, HookNameError};
pub use values::{
    Email, EmailError, FieldError, IsolationModel, IsolationModelError, Plan, PlanCatalog,
    PlanCatalogError, PlanError, PlanLimits, PlanName, PlanNameError, Reason, ReasonError,
    ReservedSubdomains, SecretRef, SecretRefError, Slug, SlugError, TenantName, TenantNameError,
    TextFault,
};

pub use kernel::{
    Aggregate, DomainEvent, EncodedEvent, EventDecodeError, EventEncodeError, EventPayload,
};

/// The payload types of the tenant's events, one struct per event type.
pub mod events {
    pub use crate::kernel::EventPayload;
    pub use crate::tenant::events::{
        AccessChangeFailed, AccessRestored, AccessSuspended, CertificateIssued,
        DatabaseProvisioned, DomainActivated, DomainRegistered, HookStepSucceeded, PlanChanged,
        ProvisioningCompleted, ProvisioningRequested, ProvisioningRetryScheduled,
        ProvisioningRollbackStarted, ProvisioningRolledBack, ProvisioningStepFailed,
        QueueProvisioned, RedisNamespaceProvisioned, RepairedKind, ResourceReleased,
        ResourceRepaired, SchemaProvisioned, SharedTenantRegistered, TenantCreated,
        TenantCredentialsRevealed, TenantDeleted, TenantDeletionRequested, TenantMigrationsApplied,
        TenantReactivated, TenantRenamed, TenantSuspended, WorkerStarted, WorkerStopped,
    };
    pub use crate::tenant::events::{
        CredentialsChange, CredentialsChangeFailed, TenantCredentialsApplied,
        TenantCredentialsRetired, TenantCredentialsRotated,
    };
    pub use crate::tenant::events::{TenantMigrated, TenantMigrationFailed};
}
