//! The tenant's commands: what someone asks of a tenant. Operators (through the API) send the
//! lifecycle commands; the provisioning and deletion sagas send the rest, to record what they did.
//!
//! Commands carry already-parsed values and the time (`at`) by the caller's clock, so deciding
//! needs nothing from outside. Which command is allowed in which status is documented on
//! [`TenantState::decide`](super::TenantState::decide).

use chrono::{DateTime, Utc};

use super::events::{CredentialsChange, RepairedKind};
use super::{
    AccessAction, AccessResource, HookName, ProvisionedResource, ProvisioningStep, TenantId,
};
use crate::{Email, IsolationModel, Plan, Slug, TenantName};

/// A command to the tenant aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantCommand {
    /// Create the tenant (on an empty stream only).
    Create(CreateTenant),
    Rename {
        name: TenantName,
        at: DateTime<Utc>,
    },
    /// Move the tenant to another plan. Its isolation model stays as it is.
    ChangePlan {
        plan: Plan,
        at: DateTime<Utc>,
    },
    /// Start provisioning a `pending` tenant, or retry a `failed` one.
    RequestProvisioning {
        at: DateTime<Utc>,
    },
    /// [`TenantCommand::RequestProvisioning`] with the tenant's plan's hook steps, which run after
    /// the built-in steps, in this order.
    RequestProvisioningWithHooks {
        hooks: Vec<HookName>,
        at: DateTime<Utc>,
    },
    Suspend {
        reason: Option<String>,
        at: DateTime<Utc>,
    },
    Reactivate {
        at: DateTime<Utc>,
    },
    RequestDeletion {
        reason: Option<String>,
        at: DateTime<Utc>,
    },

    // Sent by the provisioning saga.
    /// A step succeeded and made `resource`.
    RecordStepSucceeded {
        resource: ProvisionedResource,
        at: DateTime<Utc>,
    },
    /// A try of `step` failed.
    RecordStepFailed {
        step: ProvisioningStep,
        error: String,
        at: DateTime<Utc>,
    },
    /// A try of `step` failed for a reason outside the tenant's control (a dependency down,
    /// unreachable or not answering): recorded as a transient `ProvisioningStepFailed`, which does
    /// not count against the step's tries.
    RecordTransientStepFailure {
        step: ProvisioningStep,
        error: String,
        at: DateTime<Utc>,
    },
    /// The failed `step` will be tried again at `retry_at`.
    ScheduleRetry {
        step: ProvisioningStep,
        retry_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    /// Every step succeeded.
    CompleteProvisioning {
        at: DateTime<Utc>,
    },
    /// Give up on this attempt and release what it made.
    StartRollback {
        reason: String,
        at: DateTime<Utc>,
    },

    // Sent by the provisioning saga (rolling back) and the deletion saga.
    /// What `step` made has been released.
    RecordResourceReleased {
        step: ProvisioningStep,
        at: DateTime<Utc>,
    },
    /// Everything the attempt made is released; the tenant becomes `failed`.
    CompleteRollback {
        at: DateTime<Utc>,
    },
    /// Everything the tenant had is released; the tenant becomes `deleted`.
    MarkDeleted {
        at: DateTime<Utc>,
    },

    // Sent by the saga while a tenant is suspended or after it was reactivated.
    /// `resource` is switched off (the tenant is suspended).
    RecordAccessSuspended {
        resource: AccessResource,
        at: DateTime<Utc>,
    },
    /// `resource` is switched on again (the tenant was reactivated).
    RecordAccessRestored {
        resource: AccessResource,
        at: DateTime<Utc>,
    },
    /// A try of switching `resource` off or on failed; the next try is at `retry_at`.
    RecordAccessChangeFailed {
        resource: AccessResource,
        action: AccessAction,
        error: String,
        transient: bool,
        retry_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },

    // Sent by the reconciler (`tenantry doctor --fix`, the background reconciler).
    /// A missing resource of an active or suspended tenant was made again.
    RecordResourceRepaired {
        kind: RepairedKind,
        name: String,
        reason: String,
        at: DateTime<Utc>,
    },

    // Sent by the API when it shows the tenant's passwords.
    /// Record that `by` (from `ip`) was shown the tenant's credentials.
    RecordCredentialsRevealed {
        by: String,
        ip: Option<String>,
        at: DateTime<Utc>,
    },
    // Sent by the API (`POST …/credentials/rotate`): new passwords, the old ones working until
    // `grace_until`.
    RotateCredentials {
        by: String,
        ip: Option<String>,
        grace_until: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    // Sent by the saga as it applies and retires a rotation.
    RecordCredentialsApplied {
        rotation: u32,
        at: DateTime<Utc>,
    },
    RecordCredentialsRetired {
        rotation: u32,
        at: DateTime<Utc>,
    },
    RecordCredentialsChangeFailed {
        rotation: u32,
        change: CredentialsChange,
        error: String,
        transient: bool,
        retry_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    // Sent by the fleet migration (`tenantry migrations apply`).
    /// The tenant's migrations ran: it went from version `from` to `to`.
    RecordMigrated {
        from: i64,
        to: i64,
        at: DateTime<Utc>,
    },
    /// Bringing the tenant to `version` failed; it keeps the version it had.
    RecordMigrationFailed {
        version: i64,
        error: String,
        at: DateTime<Utc>,
    },
}

/// The fields of [`TenantCommand::Create`]. The application layer has already checked that the
/// slug is free and looked the plan up in the [`PlanCatalog`](crate::PlanCatalog).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateTenant {
    /// Chosen by the caller (a UUID v7), so a retried request can name the same tenant.
    pub tenant_id: TenantId,
    pub name: TenantName,
    pub slug: Slug,
    pub plan: Plan,
    /// `None`: the plan's default isolation model.
    pub isolation: Option<IsolationModel>,
    pub admin_email: Option<Email>,
    pub at: DateTime<Utc>,
}

impl TenantCommand {
    /// The command's name, for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Create(_) => "create",
            Self::Rename { .. } => "rename",
            Self::ChangePlan { .. } => "change_plan",
            Self::RequestProvisioning { .. } | Self::RequestProvisioningWithHooks { .. } => {
                "request_provisioning"
            }
            Self::Suspend { .. } => "suspend",
            Self::Reactivate { .. } => "reactivate",
            Self::RequestDeletion { .. } => "request_deletion",
            Self::RecordStepSucceeded { .. } => "record_step_succeeded",
            Self::RecordStepFailed { .. } => "record_step_failed",
            Self::RecordTransientStepFailure { .. } => "record_transient_step_failure",
            Self::ScheduleRetry { .. } => "schedule_retry",
            Self::CompleteProvisioning { .. } => "complete_provisioning",
            Self::StartRollback { .. } => "start_rollback",
            Self::RecordResourceReleased { .. } => "record_resource_released",
            Self::CompleteRollback { .. } => "complete_rollback",
            Self::MarkDeleted { .. } => "mark_deleted",
            Self::RecordResourceRepaired { .. } => "record_resource_repaired",
            Self::RecordAccessSuspended { .. } => "record_access_suspended",
            Self::RecordAccessRestored { .. } => "record_access_restored",
            Self::RecordAccessChangeFailed { .. } => "record_access_change_failed",
            Self::RecordCredentialsRevealed { .. } => "record_credentials_revealed",
            Self::RotateCredentials { .. } => "rotate_credentials",
            Self::RecordCredentialsApplied { .. } => "record_credentials_applied",
            Self::RecordCredentialsRetired { .. } => "record_credentials_retired",
            Self::RecordCredentialsChangeFailed { .. } => "record_credentials_change_failed",
            Self::RecordMigrated { .. } => "record_migrated",
            Self::RecordMigrationFailed { .. } => "record_migration_failed",
        }
    }
}
