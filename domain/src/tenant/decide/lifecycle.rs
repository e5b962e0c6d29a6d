//! The rules of the operator's commands: create, rename, change plan, request provisioning,
//! suspend, reactivate, request deletion.

use chrono::{DateTime, Utc};

use super::{Decision, refused};
use crate::tenant::events::{
    PlanChanged, ProvisioningRequested, TenantCreated, TenantDeletionRequested, TenantReactivated,
    TenantRenamed, TenantSuspended,
};
use crate::{
    CreateTenant, HookName, Plan, ProvisioningStep, Tenant, TenantEvent, TenantName,
    TenantStatus as S,
};

pub(super) fn create(command: CreateTenant) -> Vec<TenantEvent> {
    let isolation = command.isolation.unwrap_or(command.plan.default_isolation);
    vec![
        TenantCreated {
            tenant_id: command.tenant_id,
            name: command.name,
            slug: command.slug,
            plan: command.plan.name,
            isolation,
            admin_email: command.admin_email,
            at: command.at,
        }
        .into(),
    ]
}

pub(super) fn rename(tenant: &Tenant, name: TenantName, at: DateTime<Utc>) -> Decision {
    if matches!(tenant.status, S::Deleting | S::Deleted) {
        return Err(refused("rename", tenant));
    }
    if name == tenant.name {
        return Ok(vec![]);
    }
    Ok(vec![
        TenantRenamed {
            tenant_id: tenant.id,
            name,
            previous_name: tenant.name.clone(),
            at,
        }
        .into(),
    ])
}

pub(super) fn change_plan(tenant: &Tenant, plan: Plan, at: DateTime<Utc>) -> Decision {
    if matches!(tenant.status, S::Deleting | S::Deleted) {
        return Err(refused("change the plan of", tenant));
    }
    if plan.name == tenant.plan {
        return Ok(vec![]);
    }
    Ok(vec![
        PlanChanged {
            tenant_id: tenant.id,
            plan: plan.name,
            previous_plan: tenant.plan.clone(),
            at,
        }
        .into(),
    ])
}

pub(super) fn request_provisioning(
    tenant: &Tenant,
    hooks: &[HookName],
    at: DateTime<Utc>,
) -> Decision {
    match tenant.status {
        // A failed tenant has had everything released (`CompleteRollback` saw to it), so a retry
        // starts from the first step.
        S::Pending | S::Failed => Ok(vec![
            ProvisioningRequested {
                tenant_id: tenant.id,
                attempt: tenant.provisioning.attempt + 1,
                isolation: tenant.isolation,
                steps: ProvisioningStep::sequence(tenant.isolation)
                    .iter()
                    .copied()
                    .chain(hooks.iter().copied().map(ProvisioningStep::Hook))
                    .collect(),
                at,
            }
            .into(),
        ]),
        S::Provisioning => Ok(vec![]),
        _ => Err(refused("provision", tenant)),
    }
}

pub(super) fn suspend(tenant: &Tenant, reason: Option<String>, at: DateTime<Utc>) -> Decision {
    match tenant.status {
        S::Active => Ok(vec![
            TenantSuspended {
                tenant_id: tenant.id,
                reason,
                at,
            }
            .into(),
        ]),
        S::Suspended => Ok(vec![]),
        _ => Err(refused("suspend", tenant)),
    }
}

pub(super) fn reactivate(tenant: &Tenant, at: DateTime<Utc>) -> Decision {
    match tenant.status {
        S::Suspended => Ok(vec![
            TenantReactivated {
                tenant_id: tenant.id,
                at,
            }
            .into(),
        ]),
        S::Active => Ok(vec![]),
        _ => Err(refused("reactivate", tenant)),
    }
}

pub(super) fn request_deletion(
    tenant: &Tenant,
    reason: Option<String>,
    at: DateTime<Utc>,
) -> Decision {
    match tenant.status {
        S::Deleting => Ok(vec![]),
        // Gone for good: a second deletion is a mistake worth telling, not a retry.
        S::Deleted => Err(refused("delete", tenant)),
        previous_status => Ok(vec![
            TenantDeletionRequested {
                tenant_id: tenant.id,
                previous_status,
                reason,
                at,
            }
            .into(),
        ]),
    }
}
