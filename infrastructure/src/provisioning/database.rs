//! `database_per_tenant`, the database step: a `LOGIN` role `tenant_{hex}` with a generated
//! password (kept in the secret store; the resource carries only its reference) and a database of
//! the same name owned by it, copied from the tenant template (already migrated), closed to
//! everyone else (`REVOKE CONNECT … FROM PUBLIC`).
//!
//! `CREATE DATABASE` cannot run in a transaction, so a crash can leave the role without the
//! database: a re-run finds the role (and its stored password) and makes the database.

use tenantry_application::provisioning::{FaultPoint, ProvisionError, SecretValue, TenantSpec};
use tenantry_domain::{ProvisionedResource, ProvisioningStep, TenantId};

use super::errors::OrFail;
use super::names::TenantNames;
use super::{Ctx, roles, template};

pub(super) async fn apply(
    ctx: &Ctx,
    tenant: &TenantSpec,
) -> Result<ProvisionedResource, ProvisionError> {
    let names = TenantNames::of(tenant.id);
    let name = &names.resource;
    let password = ctx
        .secrets
        .put_if_absent(&names.postgres_secret, &SecretValue::generate())
        .await
        .or_fail(|| format!("failed to store the password of role {name}"))?;
    roles::ensure(&ctx.pool, name, Some(&password)).await?;
    ctx.faults.checkpoint(
        FaultPoint::DuringApply,
        tenant.id,
        ProvisioningStep::Database,
    );
    if owner(ctx, name).await?.is_none() {
        template::create_database(ctx, name, name).await?;
    }
    match owner(ctx, name).await? {
        Some(owner) if owner == *name => {}
        Some(owner) => {
            return Err(ProvisionError::permanent(anyhow::anyhow!(
                "database {name} exists and is owned by {owner}, not by {name}"
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
    sqlx::raw_sql(&format!(
        "REVOKE CONNECT, TEMPORARY ON DATABASE {db} FROM PUBLIC;
         GRANT CONNECT ON DATABASE {db} TO CURRENT_USER;",
        db = names.ident()
    ))
    .execute(&ctx.pool)
    .await
    .or_fail(|| format!("failed to close database {name} to others"))?;
    Ok(ProvisionedResource::Database {
        database: names.resource.clone(),
        role: names.resource,
        password_secret: names.postgres_secret,
    })
}

/// Drops the database (ending its sessions), then the role, then the password.
pub(super) async fn release(ctx: &Ctx, tenant: TenantId) -> Result<(), ProvisionError> {
    let names = TenantNames::of(tenant);
    sqlx::raw_sql(&format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        names.ident()
    ))
    .execute(&ctx.pool)
    .await
    .or_fail(|| format!("failed to drop database {}", names.resource))?;
    ctx.faults.checkpoint(
        FaultPoint::DuringRelease,
        tenant,
        ProvisioningStep::Database,
    );
    roles::drop(&ctx.pool, &names.resource).await?;
    ctx.secrets
        .delete(&names.postgres_secret)
        .await
        .or_fail(|| format!("failed to delete the password of role {}", names.resource))
}

/// The owner of database `name`, if it exists.
async fn owner(ctx: &Ctx, name: &str) -> Result<Option<String>, ProvisionError> {
    sqlx::query_scalar("SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&ctx.pool)
        .await
        .or_fail(|| format!("failed to look up database {name}"))
}
