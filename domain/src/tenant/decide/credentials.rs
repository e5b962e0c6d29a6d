//! The rules of credential rotation: one rotation at a time, asked for and carried out only while
//! the tenant is `active` (a suspended tenant's logins are off; its rotation's work waits for the
//! reactivation), applied before it is retired, and each record only for the change still
//! needed, so a record that arrives twice (a saga that crashed after its append) is nothing.

use chrono::{DateTime, Utc};

use super::{Decision, refused};
use crate::tenant::events::{
    CredentialsChange, CredentialsChangeFailed, TenantCredentialsApplied, TenantCredentialsRetired,
    TenantCredentialsRotated,
};
use crate::{DomainError, Tenant, TenantStatus};

pub(super) fn rotate(
    tenant: &Tenant,
    by: String,
    ip: Option<String>,
    grace_until: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Decision {
    if tenant.status != TenantStatus::Active {
        return Err(refused("rotate the credentials of", tenant));
    }
    let credentials = &tenant.credentials;
    if credentials.in_progress() {
        return Err(DomainError::RotationInProgress {
            rotation: credentials.requested,
            grace_until: credentials.grace_until,
        });
    }
    Ok(vec![
        TenantCredentialsRotated {
            tenant_id: tenant.id,
            rotation: credentials.requested + 1,
            by,
            ip,
            grace_until: grace_until.max(at),
            at,
        }
        .into(),
    ])
}

pub(super) fn applied(tenant: &Tenant, rotation: u32, at: DateTime<Utc>) -> Decision {
    if tenant.status == TenantStatus::Active && tenant.credentials.applied >= rotation {
        return Ok(vec![]);
    }
    if tenant.credentials_work().map(|(r, c, _)| (r, c))
        != Some((rotation, CredentialsChange::Apply))
    {
        return Err(refused("record credentials applied for", tenant));
    }
    Ok(vec![
        TenantCredentialsApplied {
            tenant_id: tenant.id,
            rotation,
            at,
        }
        .into(),
    ])
}

pub(super) fn retired(tenant: &Tenant, rotation: u32, at: DateTime<Utc>) -> Decision {
    if tenant.status == TenantStatus::Active && tenant.credentials.retired >= rotation {
        return Ok(vec![]);
    }
    if tenant.credentials_work().map(|(r, c, _)| (r, c))
        != Some((rotation, CredentialsChange::Retire))
    {
        return Err(refused("record credentials retired for", tenant));
    }
    Ok(vec![
        TenantCredentialsRetired {
            tenant_id: tenant.id,
            rotation,
            at,
        }
        .into(),
    ])
}

pub(super) fn failed(
    tenant: &Tenant,
    rotation: u32,
    change: CredentialsChange,
    error: String,
    transient: bool,
    retry_at: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Decision {
    if tenant.credentials_work().map(|(r, c, _)| (r, c)) != Some((rotation, change)) {
        return Err(refused("record a credentials change failed for", tenant));
    }
    Ok(vec![
        CredentialsChangeFailed {
            tenant_id: tenant.id,
            rotation,
            change,
            failures: tenant.credentials.failures + 1,
            error,
            transient,
            retry_at,
            at,
        }
        .into(),
    ])
}
