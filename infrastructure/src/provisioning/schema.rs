//! `schema_per_tenant`, the schema step: a schema `tenant_{hex}` in the control-plane database and
//! a `LOGIN` role of the same name, with a generated password (kept in the secret store), that can
//! use that schema and nothing else.
//!
//! The application connects as that role (issue 12: a connection router picks the tenant's
//! credentials by its alias, the same way for a schema as for a database of its own); a shared
//! login that `SET ROLE`s would need its pool to reset the role on every checkout, and a bug there
//! would leak one tenant's session into another's. Before issue 12 the role was `NOLOGIN` without a
//! password; such a tenant gets its password on its first reveal (`access.rs`) or when this step
//! runs again. The schema belongs to the control plane, which runs the tenant migrations; the
//! role gets `USAGE, CREATE` on it and the use of every table, sequence and function in it
//! (default privileges), and PUBLIC gets nothing — the control-plane migrations also took `public`
//! away from PUBLIC.

use sqlx::Executor;
use tenantry_application::provisioning::{FaultPoint, ProvisionError, SecretValue, TenantSpec};
use tenantry_domain::{ProvisionedResource, ProvisioningStep, TenantId, TenantNames, TenantSecret};

use super::errors::OrFail;
use super::ident::quote_ident;
use super::{Ctx, roles};

pub(super) async fn apply(
    ctx: &Ctx,
    tenant: &TenantSpec,
) -> Result<ProvisionedResource, ProvisionError> {
    let names = TenantNames::of(tenant.id);
    let (schema, role) = (names.schema(), names.role());
    let password = ctx
        .secrets
        .put_if_absent(&names.postgres_secret(), &SecretValue::generate())
        .await
        .or_fail(|| format!("failed to store the password of role {role}"))?;
    let mut conn = ctx.admin_connection().await?;
    roles::ensure(&mut conn, role, Some(&password)).await?;
    ctx.faults
        .checkpoint(FaultPoint::DuringApply, tenant.id, ProvisioningStep::Schema);
    let (ident, role_ident) = (quote_ident(schema), quote_ident(role));
    // One implicit transaction: the schema exists with its grants, or not at all. The grants on
    // what is already in it matter only when the role is made again for a schema that has tables
    // (a repair: `tenantry doctor --fix` after the role was dropped); on a new schema they grant
    // nothing, and the default privileges cover what the tenant migrations create.
    conn.execute(sqlx::raw_sql(&format!(
        "CREATE SCHEMA IF NOT EXISTS {ident};
         REVOKE ALL ON SCHEMA {ident} FROM PUBLIC;
         GRANT USAGE, CREATE ON SCHEMA {ident} TO {role_ident};
         ALTER DEFAULT PRIVILEGES IN SCHEMA {ident}
             GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLES TO {role_ident};
         ALTER DEFAULT PRIVILEGES IN SCHEMA {ident}
             GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {role_ident};
         ALTER DEFAULT PRIVILEGES IN SCHEMA {ident} GRANT EXECUTE ON FUNCTIONS TO {role_ident};
         GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
             ON ALL TABLES IN SCHEMA {ident} TO {role_ident};
         GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {ident} TO {role_ident};
         GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {ident} TO {role_ident};"
    )))
    .await
    .or_fail(|| format!("failed to create schema {schema}"))?;
    Ok(ProvisionedResource::Schema {
        schema: schema.to_owned(),
        role: role.to_owned(),
    })
}

/// Drops the schema with everything in it, then the role, then its password.
pub(super) async fn release(ctx: &Ctx, tenant: TenantId) -> Result<(), ProvisionError> {
    let names = TenantNames::of(tenant);
    let schema = names.schema();
    let mut conn = ctx.admin_connection().await?;
    conn.execute(sqlx::raw_sql(&format!(
        "DROP SCHEMA IF EXISTS {} CASCADE",
        quote_ident(schema)
    )))
    .await
    .or_fail(|| format!("failed to drop schema {schema}"))?;
    ctx.faults
        .checkpoint(FaultPoint::DuringRelease, tenant, ProvisioningStep::Schema);
    roles::drop_with_logins(&mut conn, &names).await?;
    super::rotation::forget(ctx, &names, TenantSecret::Postgres).await?;
    ctx.secrets
        .delete(&names.postgres_secret())
        .await
        .or_fail(|| format!("failed to delete the password of role {}", names.role()))
}
