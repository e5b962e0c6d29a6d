//! Switching a tenant's access off (suspension) and on again (reactivation):
//!
//! - **database login**: its role `tenant_{hex}` and its credential rotations' logins
//!   (`{role}_a`, `{role}_b`) become `NOLOGIN`, then every session of each is ended
//!   (`pg_terminate_backend`); restoring makes them `LOGIN` again (their passwords were never
//!   touched), but for a login a rotation retired. Only for isolation models whose role logs in
//!   ([`IsolationModel::role_logs_in`](tenantry_domain::IsolationModel::role_logs_in)).
//! - **Redis user**: `ACL SETUSER tenant_{hex} off` (new connections cannot authenticate as it),
//!   then `CLIENT KILL USER` ends the clients already authenticated as it, then `ACL SAVE` when
//!   Redis has an ACL file; restoring is `ACL SETUSER … on` and `ACL SAVE`. Its password, key
//!   and command rules stay as they are.
//!
//! A resource that does not exist is left alone (`ACL SETUSER` would create a user): the drift
//! report lists it as missing, and the reconciler switches it off again after making it.

use tenantry_application::provisioning::{ProvisionError, TenantSpec};
use tenantry_domain::{AccessAction, AccessResource, TenantNames};

use super::errors::OrFail;
use super::ident::quote_ident;
use super::{Ctx, redis, roles};

pub(super) async fn set(
    ctx: &Ctx,
    tenant: &TenantSpec,
    resource: AccessResource,
    action: AccessAction,
) -> Result<(), ProvisionError> {
    let names = TenantNames::of(tenant.id);
    match resource {
        // Only a role that is meant to log in gets its login back.
        AccessResource::DatabaseLogin
            if action == AccessAction::Restore && !tenant.isolation.role_logs_in() =>
        {
            Ok(())
        }
        AccessResource::DatabaseLogin => database_logins(ctx, &names, action).await,
        AccessResource::RedisUser => redis::set_enabled(ctx, names.redis_user(), action).await,
    }
}

/// Every login of the tenant (its role, and the logins of credential rotations,
/// `TenantNames::logins`): all switched off, or on again but for a rotation's retired login
/// (`VALID UNTIL 'epoch'`, see `rotation.rs`).
async fn database_logins(
    ctx: &Ctx,
    names: &TenantNames,
    action: AccessAction,
) -> Result<(), ProvisionError> {
    let mut conn = ctx.admin_connection().await?;
    for role in names.logins() {
        let role = role.as_str();
        if !roles::exists(&mut conn, role).await? {
            continue;
        }
        let login = match action {
            AccessAction::Suspend => "NOLOGIN",
            AccessAction::Restore if retired(&mut conn, role).await? => continue,
            AccessAction::Restore => "LOGIN",
        };
        sqlx::query(&format!("ALTER ROLE {} {login}", quote_ident(role)))
            .execute(&mut *conn)
            .await
            .or_fail(|| format!("failed to make role {role} {login}"))?;
        if action == AccessAction::Suspend {
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1",
            )
            .bind(role)
            .execute(&mut *conn)
            .await
            .or_fail(|| format!("failed to end the sessions of role {role}"))?;
        }
    }
    Ok(())
}

/// Whether `role` is a login a credential rotation retired.
async fn retired(conn: &mut sqlx::PgConnection, role: &str) -> Result<bool, ProvisionError> {
    sqlx::query_scalar(
        "SELECT COALESCE(rolvaliduntil < now(), false) FROM pg_roles WHERE rolname = $1",
    )
    .bind(role)
    .fetch_one(&mut *conn)
    .await
    .or_fail(|| format!("failed to look up role {role}"))
}
