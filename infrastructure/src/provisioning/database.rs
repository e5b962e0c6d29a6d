//! `database_per_tenant`, the database step: a `LOGIN` role `tenant_{hex}` with a generated
//! password (kept in the secret store; the resource carries only its reference) and a database of
//! the same name owned by it, copied from the tenant template (already migrated), closed to
//! everyone else (`REVOKE CONNECT … FROM PUBLIC`).
//!
//! `CREATE DATABASE` cannot run in a transaction, so a crash can leave the role without the
//! database: a re-run finds the role (and its stored password) and makes the database.

use sqlx::{Executor, PgConnection};
use tenantry_application::provisioning::{FaultPoint, ProvisionError, SecretValue, TenantSpec};
use tenantry_domain::{ProvisionedResource, ProvisioningStep, TenantId, TenantNames, TenantSecret};

use super::errors::OrFail;
use super::ident::quote_ident;
use super::{Ctx, roles, template};

pub(super) async fn apply(
    ctx: &Ctx,
    tenant: &TenantSpec,
) -> Result<ProvisionedResource, ProvisionError> {
    let names = TenantNames::of(tenant.id);
    let (name, role, secret) = (names.database(), names.role(), names.postgres_secret());
    let password = ctx
        .secrets
        .put_if_absent(&secret, &SecretValue::generate())
        .await
        .or_fail(|| format!("failed to store the password of role {role}"))?;
    // One admin connection for the whole step (the template lock is taken on it too).
    let mut conn = ctx.admin_connection().await?;
    roles::ensure(&mut conn, role, Some(&password)).await?;
    ctx.faults.checkpoint(
        FaultPoint::DuringApply,
        tenant.id,
        ProvisioningStep::Database,
    );
    if owner(&mut conn, name).await?.is_none() {
        template::create_database(ctx, &mut conn, name, role).await?;
    }
    match owner(&mut conn, name).await? {
        Some(owner) if owner == role => {}
        Some(owner) => {
            return Err(ProvisionError::permanent(anyhow::anyhow!(
                "database {name} exists and is owned by {owner}, not by {role}"
            )));
        }
        None => {
            return Err(ProvisionError::retryable(anyhow::anyhow!(
                "database {name} was dropped while it was being provisioned"
            )));
        }
    }
    // The control plane keeps CONNECT (to run the tenant migrations) even when it is not a
    // superuser; the owner has it anyway.
    conn.execute(sqlx::raw_sql(&format!(
        "REVOKE CONNECT, TEMPORARY ON DATABASE {db} FROM PUBLIC;
         GRANT CONNECT ON DATABASE {db} TO CURRENT_USER;",
        db = quote_ident(name)
    )))
    .await
    .or_fail(|| format!("failed to close database {name} to others"))?;
    Ok(ProvisionedResource::Database {
        database: name.to_owned(),
        role: role.to_owned(),
        password_secret: secret,
    })
}

/// Drops the database (ending its sessions), then the role, then the password.
pub(super) async fn release(ctx: &Ctx, tenant: TenantId) -> Result<(), ProvisionError> {
    let names = TenantNames::of(tenant);
    let (name, role) = (names.database(), names.role());
    let mut conn = ctx.admin_connection().await?;
    conn.execute(sqlx::raw_sql(&format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        quote_ident(name)
    )))
    .await
    .or_fail(|| format!("failed to drop database {name}"))?;
    ctx.faults.checkpoint(
        FaultPoint::DuringRelease,
        tenant,
        ProvisioningStep::Database,
    );
    roles::drop_with_logins(&mut conn, &names).await?;
    super::rotation::forget(ctx, &names, TenantSecret::Postgres).await?;
    ctx.secrets
        .delete(&names.postgres_secret())
        .await
        .or_fail(|| format!("failed to delete the password of role {role}"))
}

/// The owner of database `name`, if it exists.
async fn owner(conn: &mut PgConnection, name: &str) -> Result<Option<String>, ProvisionError> {
    sqlx::query_scalar("SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await
        .or_fail(|| format!("failed to look up database {name}"))
}
