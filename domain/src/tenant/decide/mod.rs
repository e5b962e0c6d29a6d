//! Deciding: the tenant's business rules. Given the state and a command, either the events the
//! command causes or the rule it breaks. Pure: no clock, no IO, no randomness; the command brings
//! everything from outside.
//!
//! A command whose outcome already holds (suspending a suspended tenant, a saga recording a step a
//! second time after a crash) decides *no* events rather than failing, so retries are harmless.

mod access;
mod credentials;
mod lifecycle;
mod provisioning;

use super::events::TenantCredentialsRevealed;
use super::{Tenant, TenantCommand, TenantEvent, TenantId, TenantState};
use crate::DomainError;
use crate::TenantStatus;

type Decision = Result<Vec<TenantEvent>, DomainError>;

impl TenantState {
    /// Decides what `command` does to this tenant.
    ///
    /// | command | emits in | no events in | refused in |
    /// |---|---|---|---|
    /// | `Create` | (no tenant yet) | | any existing tenant (`AlreadyExists`) |
    /// | `Rename`, `ChangePlan` | every status but deleting, deleted | unchanged value | deleting, deleted |
    /// | `RequestProvisioning` | pending, failed (a retry: attempt + 1) | provisioning | active, suspended, rolling_back, deleting, deleted |
    /// | `Suspend` | active | suspended | all others |
    /// | `Reactivate` | suspended | active | all others |
    /// | `RequestDeletion` | every status but deleting, deleted | deleting | deleted |
    /// | `RecordStepSucceeded` | provisioning (the next step only); rolling_back, deleting (any step of the attempt, so what it made gets released) | step already recorded alike | all others |
    /// | `RecordStepFailed`, `RecordTransientStepFailure` | provisioning (the next step only) | | all others |
    /// | `ScheduleRetry` | provisioning (the next step, after it failed, transiently or not) | | all others |
    /// | `CompleteProvisioning` | provisioning, once every step succeeded | active, suspended | all others |
    /// | `StartRollback` | provisioning | rolling_back | all others |
    /// | `RecordResourceReleased` | rolling_back, deleting (a held resource) | same, nothing held for the step | all others |
    /// | `CompleteRollback` | rolling_back, once nothing is held | failed | all others |
    /// | `MarkDeleted` | deleting, once nothing is held | deleted | all others |
    /// | `RecordResourceRepaired` | active, suspended | | all others |
    /// | `RecordAccessSuspended` | suspended (an access of its model not yet off) | suspended, already off | all others |
    /// | `RecordAccessRestored` | active (an access that is off) | active, already on | all others |
    /// | `RecordAccessChangeFailed` | suspended (a suspend), active (a restore), while that change is still needed | | all others |
    ///
    /// A suspension during provisioning is refused (409), not queued: suspend once the tenant is
    /// `active`. Deleting a suspended tenant releases everything as for any other.
    /// | `RecordCredentialsRevealed` | active, suspended (they have credentials) | | all others |
    /// | `RecordMigrated`, `RecordMigrationFailed` | active, suspended | | all others |
    /// | `RotateCredentials` | active, no rotation in progress | | active with one in progress (`RotationInProgress`), all others |
    /// | `RecordCredentialsApplied`, `RecordCredentialsRetired` | active, the rotation's next change | that change already recorded | all others |
    /// | `RecordCredentialsChangeFailed` | active, while that change is still needed | | all others |
    ///
    /// Every command but `Create` on a stream without a tenant is refused with `NotFound`.
    pub fn decide(&self, command: TenantCommand) -> Decision {
        match (self.tenant(), command) {
            (None, TenantCommand::Create(create)) => Ok(lifecycle::create(create)),
            (None, _) => Err(DomainError::NotFound),
            (Some(tenant), command) => decide_for(tenant, command),
        }
    }
}

impl crate::kernel::Aggregate for TenantState {
    type Id = TenantId;
    type Command = TenantCommand;
    type Event = TenantEvent;
    type Error = DomainError;
    const STREAM_PREFIX: &'static str = TenantId::STREAM_PREFIX;

    fn decide(&self, command: TenantCommand) -> Decision {
        TenantState::decide(self, command)
    }

    fn apply(&mut self, event: &TenantEvent) {
        self.apply_mut(event);
    }
}

fn decide_for(tenant: &Tenant, command: TenantCommand) -> Decision {
    use TenantCommand as C;
    match command {
        C::Create(_) => Err(DomainError::AlreadyExists {
            tenant_id: tenant.id,
        }),
        C::Rename { name, at } => lifecycle::rename(tenant, name, at),
        C::ChangePlan { plan, at } => lifecycle::change_plan(tenant, plan, at),
        C::RequestProvisioning { at } => lifecycle::request_provisioning(tenant, &[], at),
        C::RequestProvisioningWithHooks { hooks, at } => {
            lifecycle::request_provisioning(tenant, &hooks, at)
        }
        C::Suspend { reason, at } => lifecycle::suspend(tenant, reason, at),
        C::Reactivate { at } => lifecycle::reactivate(tenant, at),
        C::RequestDeletion { reason, at } => lifecycle::request_deletion(tenant, reason, at),
        C::RecordStepSucceeded { resource, at } => {
            provisioning::record_step_succeeded(tenant, resource, at)
        }
        C::RecordStepFailed { step, error, at } => {
            provisioning::record_step_failed(tenant, step, error, false, at)
        }
        C::RecordTransientStepFailure { step, error, at } => {
            provisioning::record_step_failed(tenant, step, error, true, at)
        }
        C::ScheduleRetry { step, retry_at, at } => {
            provisioning::schedule_retry(tenant, step, retry_at, at)
        }
        C::CompleteProvisioning { at } => provisioning::complete(tenant, at),
        C::StartRollback { reason, at } => provisioning::start_rollback(tenant, reason, at),
        C::RecordResourceReleased { step, at } => {
            provisioning::record_resource_released(tenant, step, at)
        }
        C::CompleteRollback { at } => provisioning::complete_rollback(tenant, at),
        C::MarkDeleted { at } => provisioning::mark_deleted(tenant, at),
        C::RecordResourceRepaired {
            kind,
            name,
            reason,
            at,
        } => provisioning::record_resource_repaired(tenant, kind, name, reason, at),
        C::RecordAccessSuspended { resource, at } => access::suspended(tenant, resource, at),
        C::RecordAccessRestored { resource, at } => access::restored(tenant, resource, at),
        C::RecordAccessChangeFailed {
            resource,
            action,
            error,
            transient,
            retry_at,
            at,
        } => access::failed(tenant, resource, action, error, transient, retry_at, at),
        C::RecordCredentialsRevealed { by, ip, at } => match tenant.status {
            TenantStatus::Active | TenantStatus::Suspended => Ok(vec![
                TenantCredentialsRevealed {
                    tenant_id: tenant.id,
                    by,
                    ip,
                    at,
                }
                .into(),
            ]),
            _ => Err(refused("reveal the credentials of", tenant)),
        },
        C::RotateCredentials {
            by,
            ip,
            grace_until,
            at,
        } => credentials::rotate(tenant, by, ip, grace_until, at),
        C::RecordCredentialsApplied { rotation, at } => credentials::applied(tenant, rotation, at),
        C::RecordCredentialsRetired { rotation, at } => credentials::retired(tenant, rotation, at),
        C::RecordCredentialsChangeFailed {
            rotation,
            change,
            error,
            transient,
            retry_at,
            at,
        } => credentials::failed(tenant, rotation, change, error, transient, retry_at, at),
        // Already recorded (a resumed run found it by a read model that lagged): nothing.
        C::RecordMigrated { to, .. } if tenant.migrated_to.is_some_and(|v| v >= to) => Ok(vec![]),
        C::RecordMigrated { from, to, at } => migration(
            tenant,
            crate::events::TenantMigrated {
                tenant_id: tenant.id,
                from,
                to,
                at,
            }
            .into(),
        ),
        C::RecordMigrationFailed { version, error, at } => migration(
            tenant,
            crate::events::TenantMigrationFailed {
                tenant_id: tenant.id,
                version,
                error,
                at,
            }
            .into(),
        ),
    }
}

/// A fleet migration's step is recorded only on a tenant that holds its resources.
fn migration(tenant: &Tenant, event: crate::TenantEvent) -> Decision {
    if !matches!(
        tenant.status,
        crate::TenantStatus::Active | crate::TenantStatus::Suspended
    ) {
        return Err(refused("record a migration of", tenant));
    }
    Ok(vec![event])
}

/// The refusal of `action` in the tenant's current status.
fn refused(action: &'static str, tenant: &Tenant) -> DomainError {
    DomainError::InvalidState {
        action,
        status: tenant.status,
    }
}
