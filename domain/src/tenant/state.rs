//! The tenant aggregate's state: what its events say about it so far, and no more than the
//! decisions need (plus what the tests and "time travel" want to look at). Read models keep the
//! richer views; this one is rebuilt from the tenant's stream before every command.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::events::CredentialsChange;
use super::{ProvisionedResource, ProvisioningStep, TenantEvent, TenantId, TenantStatus};
use crate::{
    AccessAction, AccessResource, Email, HookName, IsolationModel, PlanName, Slug, TenantName,
};

/// The state of one tenant stream: nothing before `TenantCreated`, then a [`Tenant`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantState {
    pub(super) tenant: Option<Tenant>,
    /// How many events have been applied: the stream version to expect when appending.
    pub(super) version: u64,
}

impl TenantState {
    /// The state after `events`, in order, from nothing: the aggregate as the application loads it,
    /// and, given a prefix of the stream, as it was at that moment ("time travel").
    pub fn fold<I>(events: I) -> Self
    where
        I: IntoIterator,
        I::Item: Borrow<TenantEvent>,
    {
        events
            .into_iter()
            .fold(Self::default(), |state, event| state.apply(event.borrow()))
    }

    /// The tenant, once created.
    pub fn tenant(&self) -> Option<&Tenant> {
        self.tenant.as_ref()
    }

    pub fn status(&self) -> Option<TenantStatus> {
        self.tenant.as_ref().map(|tenant| tenant.status)
    }

    /// The number of events applied, i.e. the version of the stream they came from.
    pub fn version(&self) -> u64 {
        self.version
    }
}

/// A tenant, as its events describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub name: TenantName,
    pub slug: Slug,
    pub plan: PlanName,
    pub isolation: IsolationModel,
    pub admin_email: Option<Email>,
    pub status: TenantStatus,
    pub created_at: DateTime<Utc>,
    /// The `at` of the last event.
    pub updated_at: DateTime<Utc>,
    /// The current (or last) provisioning attempt.
    pub provisioning: ProvisioningProgress,
    /// What provisioning steps made and nobody has released yet, by step. This is what a rollback
    /// or a deletion must release before it may finish.
    pub resources: BTreeMap<ProvisioningStep, ProvisionedResource>,
    /// The tenant's extra hosts, by host name.
    pub domains: BTreeMap<String, DomainState>,
    /// Workers started and not yet stopped.
    pub active_workers: BTreeSet<Uuid>,
    /// While `suspended`: the operator's reason and when.
    pub suspension: Option<Suspension>,
    /// Where the suspension's work on the tenant's access stands.
    pub access: AccessProgress,
    /// The highest version a `TenantMigrated` recorded (a fleet migration's), if any.
    pub migrated_to: Option<i64>,
    /// Where the rotations of its passwords stand.
    pub credentials: CredentialRotations,
}

/// The rotations of a tenant's passwords (`POST …/credentials/rotate`). Rotation `n` (1, 2, …)
/// is asked for, then applied (its new passwords work, beside the old ones), then, once its
/// grace period has ended, retired (the old ones no longer work). One at a time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialRotations {
    /// The latest rotation asked for (0: none yet).
    pub requested: u32,
    /// The latest rotation whose new passwords are in place: the one given out.
    pub applied: u32,
    /// The latest rotation whose old passwords no longer work.
    pub retired: u32,
    /// Until when the passwords before the latest rotation keep working.
    pub grace_until: Option<DateTime<Utc>>,
    /// Failures in a row of the change in progress.
    pub failures: u32,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

impl CredentialRotations {
    /// The rotation whose passwords and login are given out now.
    pub fn current(&self) -> u32 {
        self.applied
    }

    /// Whether the passwords from before [`current`](Self::current) still work too.
    pub fn in_grace(&self) -> bool {
        self.retired < self.applied
    }

    /// The PostgreSQL login given out now (for the models whose tenant role logs in).
    pub fn login(&self, names: &crate::TenantNames) -> String {
        names.login(self.applied)
    }

    /// Where the password of `kind` given out now is: the rotation's own copy while in its grace
    /// period, else the provisioned reference (a retirement copies it there).
    pub fn secret(
        &self,
        names: &crate::TenantNames,
        kind: crate::TenantSecret,
    ) -> crate::SecretRef {
        if self.in_grace() {
            names.rotated_secret(kind, self.applied)
        } else {
            names.secret(kind)
        }
    }

    /// Whether a rotation was asked for and is not retired yet (another one must wait).
    pub fn in_progress(&self) -> bool {
        self.retired < self.requested
    }

    /// The saga's next work on the rotations, and when it is due (`None`: now).
    pub fn work(&self) -> Option<(u32, CredentialsChange, Option<DateTime<Utc>>)> {
        let retry = self.next_retry_at;
        if self.applied < self.requested {
            Some((self.requested, CredentialsChange::Apply, retry))
        } else if self.retired < self.requested {
            let due = match (self.grace_until, retry) {
                (Some(grace), Some(retry)) => Some(grace.max(retry)),
                (grace, retry) => grace.or(retry),
            };
            Some((self.requested, CredentialsChange::Retire, due))
        } else {
            None
        }
    }

    /// A change succeeded, or a new one starts.
    pub(super) fn reset_attempts(&mut self) {
        self.failures = 0;
        self.next_retry_at = None;
        self.last_error = None;
    }
}

/// Why and since when a tenant is suspended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suspension {
    pub reason: Option<String>,
    pub since: DateTime<Utc>,
}

/// The tenant's accesses switched off, and the failures of the change in progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessProgress {
    /// The accesses switched off now (`AccessSuspended` and no `AccessRestored` since).
    pub suspended: BTreeSet<AccessResource>,
    /// Failures in a row of the change in progress (reset by its success and by every
    /// suspension or reactivation).
    pub failures: u32,
    /// When the transient failures in a row of the change in progress started, if its last
    /// failure was transient.
    pub transient_since: Option<DateTime<Utc>>,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// Progress of the current (or last) provisioning attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvisioningProgress {
    /// 0 before provisioning was first requested; then 1, 2, … one per request.
    pub attempt: u32,
    /// The attempt's steps, in order.
    pub steps: Vec<ProvisioningStep>,
    /// Failed tries per step in this attempt.
    pub failures: BTreeMap<ProvisioningStep, u32>,
    pub last_error: Option<String>,
    /// When the failed step runs again, if a retry is scheduled.
    pub next_retry_at: Option<DateTime<Utc>>,
    /// The transient failures in a row of the step that failed last (none since its last
    /// counted failure), which did not count against its tries.
    pub transient: Option<TransientStreak>,
}

impl ProvisioningProgress {
    /// The streak of transient failures of `step`, if its last failure was transient.
    pub fn transient_streak(&self, step: ProvisioningStep) -> Option<&TransientStreak> {
        self.transient.as_ref().filter(|streak| streak.step == step)
    }
}

/// Transient failures in a row of one step: a dependency down or unreachable since `since`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransientStreak {
    pub step: ProvisioningStep,
    /// The `at` of the first of them.
    pub since: DateTime<Utc>,
    /// How many.
    pub failures: u32,
}

/// One of the tenant's extra hosts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainState {
    /// Proven and routing to the tenant.
    pub active: bool,
    /// When its TLS certificate expires, once one was issued.
    pub certificate_expires_at: Option<DateTime<Utc>>,
}

impl Tenant {
    /// The first step of the current attempt that has not succeeded yet, or `None` when all have.
    pub fn next_step(&self) -> Option<ProvisioningStep> {
        self.provisioning
            .steps
            .iter()
            .copied()
            .find(|step| !self.resources.contains_key(step))
    }

    /// The steps of the current attempt that have not succeeded yet, in order.
    pub fn missing_steps(&self) -> Vec<ProvisioningStep> {
        self.provisioning
            .steps
            .iter()
            .copied()
            .filter(|step| !self.resources.contains_key(step))
            .collect()
    }

    /// The credentials change the saga has to make, when it is due (`None`: now): only while
    /// the tenant is `active` (a suspended tenant's logins are off; the work waits for its
    /// reactivation).
    pub fn credentials_work(&self) -> Option<(u32, CredentialsChange, Option<DateTime<Utc>>)> {
        match self.status {
            super::TenantStatus::Active => self.credentials.work(),
            _ => None,
        }
    }

    /// The access change the tenant needs now, if any: while `suspended`, the first of its
    /// model's accesses not yet switched off; while `active`, the first still switched off.
    pub fn access_work(&self) -> Option<(AccessResource, AccessAction)> {
        match self.status {
            super::TenantStatus::Suspended => self
                .isolation
                .access_resources()
                .into_iter()
                .find(|access| !self.access.suspended.contains(access))
                .map(|access| (access, AccessAction::Suspend)),
            super::TenantStatus::Active => self
                .access
                .suspended
                .first()
                .map(|&access| (access, AccessAction::Restore)),
            _ => None,
        }
    }

    /// What is still held, in the order to release it: the reverse of provisioning order.
    pub fn resources_to_release(&self) -> Vec<&ProvisionedResource> {
        let hooks = self.hooks_to_release();
        let held_hooks = hooks
            .iter()
            .filter_map(|hook| self.resources.get(&ProvisioningStep::Hook(*hook)));
        // `ProvisioningStep`'s order is provisioning order for the built-in steps (see its docs).
        let built_in = self
            .resources
            .iter()
            .rev()
            .filter(|(step, _)| step.hook().is_none())
            .map(|(_, resource)| resource);
        held_hooks.chain(built_in).collect()
    }

    /// The hook steps a rollback or deletion must release, in the order to release them (all
    /// before the built-in steps): the current attempt's hooks in reverse of their declared order
    /// (released whether recorded or not: a hook may have done its work and the saga crashed
    /// before its event), after any hook still held that the attempt does not list.
    pub fn hooks_to_release(&self) -> Vec<HookName> {
        let planned: Vec<HookName> = self
            .provisioning
            .steps
            .iter()
            .filter_map(|step| step.hook())
            .collect();
        let mut hooks: Vec<HookName> = self
            .resources
            .keys()
            .filter_map(|step| step.hook())
            .filter(|hook| !planned.contains(hook))
            .collect();
        hooks.extend(planned.into_iter().rev());
        hooks
    }
}
