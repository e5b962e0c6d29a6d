//! The process managers (sagas) that give tenants their infrastructure and take it away again.
//!
//! [`TenantSaga`] drives one tenant as far as it can go now: a `pending` tenant starts
//! provisioning; a `provisioning` one runs its next step (retrying a failure with backoff and
//! jitter, the retry time recorded in `ProvisioningRetryScheduled` so a restart keeps the
//! schedule, and starting a rollback when the step's limit is reached; a failure because a
//! dependency is down or not answering is recorded as transient and retried without spending a
//! try, up to a deadline: [`TransientRetries`]); a `rolling_back` or
//! `deleting` one releases everything its isolation model may have made, in reverse order, then
//! becomes `failed` or `deleted`; a `suspended` one has each of its accesses switched off (its
//! database login, its Redis user: `AccessSuspended`), and a reactivated one on again
//! (`AccessRestored`), retried with backoff until done. Every outcome is recorded as the tenant's events, through the
//! same command handlers as the API, so the saga's state is the tenant's own history and a crash at
//! any point resumes where the events say it stands. Steps are idempotent, so a step done but not
//! recorded before a crash is simply done again.
//!
//! [`SagaRunner`] runs the saga for many tenants at once (bounded), as one instance across
//! processes (a [`Lease`], heartbeated by the runner and checked by each drive before each
//! step's apply or release and before each record: a drive that finds it lost stops, and the
//! runner cancels the drives in flight, [`TenantSaga::drive_fenced`]), woken by new events and by a periodic sweep of the tenants the read
//! models say are in flight ([`SagaWork`]); the commands of its own process hint it directly
//! ([`SagaHints`], an observer of the tenant repository's appends).
//!
//! Everything the saga appends carries the correlation id of the request that started the work
//! and, as causation, the id of the event it reacted to; its actor is `saga:provisioning`,
//! `saga:deletion` while it deletes, or `saga:access` while it switches access off or on.

mod backoff;
mod hints;
mod ports;
mod runner;
mod tenant;

pub use backoff::Backoff;
pub use hints::SagaHints;
pub use ports::{Lease, SagaWork};
pub use runner::{SagaConfig, SagaHandle, SagaRunner};
pub use tenant::{Outcome, SagaError, TenantSaga, TransientRetries};

use tenantry_domain::EventPayload;
use tenantry_domain::events::{
    ProvisioningRequested, TenantCreated, TenantCredentialsRotated, TenantDeletionRequested,
    TenantReactivated, TenantSuspended,
};

/// The event types that start the sagas' work on a tenant: a tenant needs the saga at once after
/// one, and everything the saga appends for that work carries its correlation.
pub const STARTERS: [&str; 6] = [
    TenantCreated::EVENT_TYPE,
    ProvisioningRequested::EVENT_TYPE,
    TenantDeletionRequested::EVENT_TYPE,
    TenantSuspended::EVENT_TYPE,
    TenantReactivated::EVENT_TYPE,
    TenantCredentialsRotated::EVENT_TYPE,
];

#[cfg(test)]
mod tests {
    use tenantry_domain::kernel::registry;

    #[test]
    fn the_saga_wakes_on_registered_event_types_only() {
        for event_type in super::STARTERS {
            assert!(registry::is_registered(event_type), "{event_type}");
        }
    }
}
