//! Applying an event to the state. Events are facts that already happened, so applying one never
//! fails and never checks a rule (that was `decide`'s job when the event was made); it only records
//! what the event says.

use super::events::TenantCreated;
use super::state::{AccessProgress, ProvisioningProgress, Suspension, TransientStreak};
use super::{Tenant, TenantEvent, TenantState, TenantStatus};

impl TenantState {
    /// The state after `event`.
    #[must_use]
    pub fn apply(mut self, event: &TenantEvent) -> Self {
        self.apply_mut(event);
        self
    }

    /// Applies `event` in place.
    pub fn apply_mut(&mut self, event: &TenantEvent) {
        self.version += 1;
        match (&mut self.tenant, event) {
            (None, TenantEvent::TenantCreated(created)) => self.tenant = Some(new_tenant(created)),
            (Some(tenant), event) => update(tenant, event),
            // A stream that does not start with `TenantCreated` is not a tenant's; nothing in it
            // can be recorded on a tenant that does not exist.
            (None, _) => {}
        }
    }
}

fn new_tenant(event: &TenantCreated) -> Tenant {
    Tenant {
        id: event.tenant_id,
        name: event.name.clone(),
        slug: event.slug.clone(),
        plan: event.plan.clone(),
        isolation: event.isolation,
        admin_email: event.admin_email.clone(),
        status: TenantStatus::Pending,
        created_at: event.at,
        updated_at: event.at,
        provisioning: ProvisioningProgress::default(),
        resources: Default::default(),
        domains: Default::default(),
        active_workers: Default::default(),
        suspension: None,
        access: AccessProgress::default(),
        migrated_to: None,
        credentials: Default::default(),
    }
}

fn update(tenant: &mut Tenant, event: &TenantEvent) {
    tenant.updated_at = event.at();
    if let Some(resource) = event.provisioned_resource() {
        tenant.resources.insert(resource.step(), resource);
        tenant.provisioning.next_retry_at = None;
        return;
    }
    use TenantEvent as E;
    match event {
        // A second `TenantCreated` in one stream cannot be decided; keep the first.
        E::TenantCreated(_) => {}
        E::ProvisioningRequested(e) => {
            tenant.status = TenantStatus::Provisioning;
            tenant.provisioning = ProvisioningProgress {
                attempt: e.attempt,
                steps: e.steps.clone(),
                ..ProvisioningProgress::default()
            };
        }
        E::ProvisioningStepFailed(e) => {
            let progress = &mut tenant.provisioning;
            if e.transient {
                match &mut progress.transient {
                    Some(streak) if streak.step == e.step => streak.failures += 1,
                    streak => {
                        *streak = Some(TransientStreak {
                            step: e.step,
                            since: e.at,
                            failures: 1,
                        })
                    }
                }
            } else {
                let failures = progress.failures.entry(e.step).or_default();
                *failures = (*failures).max(e.step_attempt);
                progress.transient = None;
            }
            progress.last_error = Some(e.error.clone());
        }
        E::ProvisioningRetryScheduled(e) => tenant.provisioning.next_retry_at = Some(e.retry_at),
        E::ProvisioningCompleted(_) => {
            tenant.status = TenantStatus::Active;
            tenant.provisioning.next_retry_at = None;
        }
        E::ProvisioningRollbackStarted(_) => {
            tenant.status = TenantStatus::RollingBack;
            tenant.provisioning.next_retry_at = None;
        }
        E::ResourceReleased(e) => {
            tenant.resources.remove(&e.step());
        }
        E::ProvisioningRolledBack(_) => tenant.status = TenantStatus::Failed,
        E::TenantRenamed(e) => tenant.name = e.name.clone(),
        E::PlanChanged(e) => tenant.plan = e.plan.clone(),
        E::TenantSuspended(e) => {
            tenant.status = TenantStatus::Suspended;
            tenant.suspension = Some(Suspension {
                reason: e.reason.clone(),
                since: e.at,
            });
            tenant.access.reset_attempts();
        }
        E::TenantReactivated(_) => {
            tenant.status = TenantStatus::Active;
            tenant.suspension = None;
            tenant.access.reset_attempts();
        }
        E::AccessSuspended(e) => {
            tenant.access.suspended.insert(e.resource);
            tenant.access.reset_attempts();
        }
        E::AccessRestored(e) => {
            tenant.access.suspended.remove(&e.resource);
            tenant.access.reset_attempts();
        }
        E::AccessChangeFailed(e) => {
            let access = &mut tenant.access;
            access.failures = e.failures;
            access.transient_since = if e.transient {
                access.transient_since.or(Some(e.at))
            } else {
                None
            };
            access.next_retry_at = Some(e.retry_at);
            access.last_error = Some(e.error.clone());
        }
        E::TenantDeletionRequested(_) => {
            tenant.status = TenantStatus::Deleting;
            tenant.suspension = None;
            tenant.provisioning.next_retry_at = None;
        }
        E::TenantDeleted(_) => tenant.status = TenantStatus::Deleted,
        E::DomainRegistered(e) => {
            tenant.domains.entry(e.host.clone()).or_default();
        }
        E::DomainActivated(e) => tenant.domains.entry(e.host.clone()).or_default().active = true,
        E::CertificateIssued(e) => {
            tenant
                .domains
                .entry(e.host.clone())
                .or_default()
                .certificate_expires_at = Some(e.expires_at);
        }
        E::WorkerStarted(e) => {
            tenant.active_workers.insert(e.worker_id);
        }
        E::WorkerStopped(e) => {
            tenant.active_workers.remove(&e.worker_id);
        }
        // The resource was the tenant's already (its step's event is in the stream); a repair
        // makes it exist again without changing what the tenant holds.
        E::ResourceRepaired(_) => {}
        // An audit record: nothing about the tenant changes.
        E::TenantCredentialsRevealed(_) => {}
        // The version lives in the tenant's own migration history; the events are its record
        // (the highest recorded is kept, so that recording the same migration again is nothing).
        E::TenantMigrated(e) => {
            tenant.migrated_to = Some(tenant.migrated_to.map_or(e.to, |v| v.max(e.to)));
        }
        E::TenantMigrationFailed(_) => {}
        E::TenantCredentialsRotated(e) => {
            let credentials = &mut tenant.credentials;
            credentials.requested = e.rotation;
            credentials.grace_until = Some(e.grace_until);
            credentials.reset_attempts();
        }
        E::TenantCredentialsApplied(e) => {
            tenant.credentials.applied = e.rotation;
            tenant.credentials.reset_attempts();
        }
        E::TenantCredentialsRetired(e) => {
            tenant.credentials.retired = e.rotation;
            tenant.credentials.reset_attempts();
        }
        E::CredentialsChangeFailed(e) => {
            let credentials = &mut tenant.credentials;
            credentials.failures = e.failures;
            credentials.next_retry_at = Some(e.retry_at);
            credentials.last_error = Some(e.error.clone());
        }
        // Handled above through `provisioned_resource`.
        E::SharedTenantRegistered(_)
        | E::SchemaProvisioned(_)
        | E::DatabaseProvisioned(_)
        | E::TenantMigrationsApplied(_)
        | E::RedisNamespaceProvisioned(_)
        | E::QueueProvisioned(_)
        | E::HookStepSucceeded(_) => {}
    }
}

impl AccessProgress {
    /// A new change starts (or the last one succeeded): no failures, no retry waiting.
    fn reset_attempts(&mut self) {
        self.failures = 0;
        self.transient_since = None;
        self.next_retry_at = None;
        self.last_error = None;
    }
}
