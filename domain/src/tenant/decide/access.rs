//! The rules of the suspension's work on a tenant's access: an access is switched off only while
//! the tenant is suspended, and on again only once it is active, so a record that arrives after
//! the operator changed their mind is refused and the saga decides again.

use chrono::{DateTime, Utc};

use super::{Decision, refused};
use crate::tenant::events::{AccessChangeFailed, AccessRestored, AccessSuspended};
use crate::{AccessAction, AccessResource, Tenant, TenantStatus as S};

pub(super) fn suspended(tenant: &Tenant, resource: AccessResource, at: DateTime<Utc>) -> Decision {
    if tenant.status != S::Suspended || !tenant.isolation.access_resources().contains(&resource) {
        return Err(refused("record an access suspended for", tenant));
    }
    if tenant.access.suspended.contains(&resource) {
        return Ok(vec![]);
    }
    Ok(vec![
        AccessSuspended {
            tenant_id: tenant.id,
            resource,
            at,
        }
        .into(),
    ])
}

pub(super) fn restored(tenant: &Tenant, resource: AccessResource, at: DateTime<Utc>) -> Decision {
    if tenant.status != S::Active {
        return Err(refused("record an access restored for", tenant));
    }
    if !tenant.access.suspended.contains(&resource) {
        return Ok(vec![]);
    }
    Ok(vec![
        AccessRestored {
            tenant_id: tenant.id,
            resource,
            at,
        }
        .into(),
    ])
}

pub(super) fn failed(
    tenant: &Tenant,
    resource: AccessResource,
    action: AccessAction,
    error: String,
    transient: bool,
    retry_at: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Decision {
    if tenant.access_work() != Some((resource, action)) {
        return Err(refused("record an access change failed for", tenant));
    }
    Ok(vec![
        AccessChangeFailed {
            tenant_id: tenant.id,
            resource,
            action,
            failures: tenant.access.failures + 1,
            error,
            transient,
            retry_at,
            at,
        }
        .into(),
    ])
}
