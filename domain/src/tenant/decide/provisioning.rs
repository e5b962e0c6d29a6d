//! The rules of the sagas' commands: recording step outcomes, retries, completion, rollback,
//! released resources and the end of a deletion. They guard the promise that a tenant ends fully
//! provisioned or fully rolled back: steps are recorded in order, every resource made is tracked,
//! and nothing is declared finished while something is still held.

use chrono::{DateTime, Utc};

use super::{Decision, refused};
use crate::tenant::events::{
    ProvisioningCompleted, ProvisioningRetryScheduled, ProvisioningRollbackStarted,
    ProvisioningRolledBack, ProvisioningStepFailed, RepairedKind, ResourceReleased,
    ResourceRepaired, TenantDeleted,
};
use crate::{DomainError, ProvisionedResource, ProvisioningStep, Tenant, TenantStatus as S};

pub(super) fn record_step_succeeded(
    tenant: &Tenant,
    resource: ProvisionedResource,
    at: DateTime<Utc>,
) -> Decision {
    // Rolling back or deleting, a step that was in flight may still report success; what it made
    // must be recorded, or nobody would ever release it.
    if !matches!(
        tenant.status,
        S::Provisioning | S::RollingBack | S::Deleting
    ) {
        return Err(refused("record a provisioned resource for", tenant));
    }
    let step = resource.step();
    check_planned(tenant, step)?;
    if let Some(held) = tenant.resources.get(&step) {
        return if *held == resource {
            Ok(vec![])
        } else {
            Err(DomainError::StepAlreadyRecorded { step })
        };
    }
    if tenant.status == S::Provisioning {
        check_next(tenant, step)?;
    }
    Ok(vec![resource.into_event(
        tenant.id,
        tenant.provisioning.attempt,
        at,
    )])
}

pub(super) fn record_step_failed(
    tenant: &Tenant,
    step: ProvisioningStep,
    error: String,
    transient: bool,
    at: DateTime<Utc>,
) -> Decision {
    if tenant.status != S::Provisioning {
        return Err(refused("record a failed provisioning step for", tenant));
    }
    check_planned(tenant, step)?;
    check_next(tenant, step)?;
    Ok(vec![
        ProvisioningStepFailed {
            tenant_id: tenant.id,
            attempt: tenant.provisioning.attempt,
            step,
            step_attempt: failures(tenant, step) + 1,
            error,
            transient,
            at,
        }
        .into(),
    ])
}

pub(super) fn schedule_retry(
    tenant: &Tenant,
    step: ProvisioningStep,
    retry_at: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Decision {
    if tenant.status != S::Provisioning {
        return Err(refused("schedule a provisioning retry for", tenant));
    }
    check_planned(tenant, step)?;
    check_next(tenant, step)?;
    let failed = failures(tenant, step);
    if failed == 0 && tenant.provisioning.transient_streak(step).is_none() {
        return Err(DomainError::NoFailureToRetry { step });
    }
    Ok(vec![
        ProvisioningRetryScheduled {
            tenant_id: tenant.id,
            attempt: tenant.provisioning.attempt,
            step,
            step_attempt: failed + 1,
            retry_at,
            at,
        }
        .into(),
    ])
}

pub(super) fn complete(tenant: &Tenant, at: DateTime<Utc>) -> Decision {
    match tenant.status {
        S::Provisioning => {
            let missing = tenant.missing_steps();
            if !missing.is_empty() {
                return Err(DomainError::StepsIncomplete { missing });
            }
            Ok(vec![
                ProvisioningCompleted {
                    tenant_id: tenant.id,
                    attempt: tenant.provisioning.attempt,
                    at,
                }
                .into(),
            ])
        }
        // Only a completed provisioning leads to either.
        S::Active | S::Suspended => Ok(vec![]),
        _ => Err(refused("complete provisioning of", tenant)),
    }
}

pub(super) fn start_rollback(tenant: &Tenant, reason: String, at: DateTime<Utc>) -> Decision {
    match tenant.status {
        S::Provisioning => Ok(vec![
            ProvisioningRollbackStarted {
                tenant_id: tenant.id,
                attempt: tenant.provisioning.attempt,
                failed_step: tenant.next_step(),
                reason,
                at,
            }
            .into(),
        ]),
        S::RollingBack => Ok(vec![]),
        _ => Err(refused("roll back provisioning of", tenant)),
    }
}

pub(super) fn record_resource_released(
    tenant: &Tenant,
    step: ProvisioningStep,
    at: DateTime<Utc>,
) -> Decision {
    if !matches!(tenant.status, S::RollingBack | S::Deleting) {
        return Err(refused("release resources of", tenant));
    }
    // Nothing recorded for the step: either released already (a retried command) or never made.
    // Either way the log already says it does not exist.
    let Some(resource) = tenant.resources.get(&step) else {
        return Ok(vec![]);
    };
    Ok(vec![
        ResourceReleased {
            tenant_id: tenant.id,
            resource: resource.clone(),
            at,
        }
        .into(),
    ])
}

pub(super) fn complete_rollback(tenant: &Tenant, at: DateTime<Utc>) -> Decision {
    match tenant.status {
        S::RollingBack => {
            check_nothing_held(tenant, "complete the rollback")?;
            Ok(vec![
                ProvisioningRolledBack {
                    tenant_id: tenant.id,
                    attempt: tenant.provisioning.attempt,
                    at,
                }
                .into(),
            ])
        }
        S::Failed => Ok(vec![]),
        _ => Err(refused("complete the rollback of", tenant)),
    }
}

pub(super) fn mark_deleted(tenant: &Tenant, at: DateTime<Utc>) -> Decision {
    match tenant.status {
        S::Deleting => {
            check_nothing_held(tenant, "finish deleting the tenant")?;
            Ok(vec![
                TenantDeleted {
                    tenant_id: tenant.id,
                    slug: tenant.slug.clone(),
                    at,
                }
                .into(),
            ])
        }
        S::Deleted => Ok(vec![]),
        _ => Err(refused("finish deleting", tenant)),
    }
}

fn check_planned(tenant: &Tenant, step: ProvisioningStep) -> Result<(), DomainError> {
    if tenant.provisioning.steps.contains(&step) {
        Ok(())
    } else {
        Err(DomainError::StepNotPlanned {
            step,
            isolation: tenant.isolation,
        })
    }
}

fn check_next(tenant: &Tenant, step: ProvisioningStep) -> Result<(), DomainError> {
    let expected = tenant.next_step();
    if expected == Some(step) {
        Ok(())
    } else {
        Err(DomainError::StepOutOfOrder { step, expected })
    }
}

fn check_nothing_held(tenant: &Tenant, action: &'static str) -> Result<(), DomainError> {
    if tenant.resources.is_empty() {
        Ok(())
    } else {
        Err(DomainError::ResourcesHeld {
            action,
            held: tenant.resources.keys().copied().collect(),
        })
    }
}

/// Failed tries of `step` in the current attempt.
fn failures(tenant: &Tenant, step: ProvisioningStep) -> u32 {
    tenant
        .provisioning
        .failures
        .get(&step)
        .copied()
        .unwrap_or(0)
}

/// A repair is recorded only for a tenant that should hold its resources: one the sagas are not
/// working on, and not failed or deleted (whose resources are orphans, released instead).
pub(super) fn record_resource_repaired(
    tenant: &Tenant,
    kind: RepairedKind,
    name: String,
    reason: String,
    at: DateTime<Utc>,
) -> Decision {
    if !matches!(tenant.status, S::Active | S::Suspended) {
        return Err(refused("record a repaired resource of", tenant));
    }
    Ok(vec![
        ResourceRepaired {
            tenant_id: tenant.id,
            kind,
            name,
            reason,
            at,
        }
        .into(),
    ])
}
