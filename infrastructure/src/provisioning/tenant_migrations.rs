//! The tenant migrations (`migrations/tenant/`): the tables every tenant gets, applied to its
//! schema (`schema_per_tenant`, with the search_path set to that schema) or its database
//! (`database_per_tenant`, in `public`). sqlx's `_sqlx_migrations` table is created, unqualified,
//! in the first schema of the search_path, so each tenant schema keeps its own migration history
//! and version.
//!
//! sqlx's own migration lock is keyed by the database, which would make every tenant schema of
//! the control-plane database wait for every other (and for the control-plane migrations); a lock
//! per target is taken instead. Each migration runs in its own short transaction.

use sqlx::migrate::Migrator;
use sqlx::{Connection, Executor, PgConnection};
use tenantry_application::provisioning::{ProvisionError, TenantSpec};
use tenantry_domain::{IsolationModel, ProvisionedResource, ProvisioningStep};

use super::errors::OrFail;
use super::names::{TenantNames, quote_ident};
use super::{Ctx, LOCK_CLASS};

/// The tenant migration set, without sqlx's per-database lock (see the module docs).
pub static TENANT_MIGRATOR: Migrator = Migrator {
    locking: false,
    ..sqlx::migrate!("../migrations/tenant")
};

/// The version of the newest tenant migration this binary knows.
pub fn latest_version() -> i64 {
    TENANT_MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

pub(super) async fn apply(
    ctx: &Ctx,
    tenant: &TenantSpec,
) -> Result<ProvisionedResource, ProvisionError> {
    let names = TenantNames::of(tenant.id);
    let (conn, schema) = match tenant.isolation {
        IsolationModel::SchemaPerTenant => {
            let conn = ctx.dedicated_connection().await?;
            (conn, names.resource.clone())
        }
        IsolationModel::DatabasePerTenant => {
            let conn = ctx.connect_to(&names.resource).await?;
            (conn, "public".to_owned())
        }
        IsolationModel::SharedSchema => {
            return Err(ProvisionError::permanent(anyhow::anyhow!(
                "shared_schema tenants have no tenant migrations"
            )));
        }
    };
    let latest_version = migrate(conn, &names.resource, &schema, &names.resource).await?;
    Ok(ProvisionedResource::TenantMigrations {
        target: names.resource,
        latest_version,
    })
}

/// Runs the tenant migrations into `schema` over `conn` (connected to the right database), grants
/// `role` the use of what they made, and returns the applied version. Closes `conn`, which also
/// releases the migration lock.
pub(super) async fn migrate(
    mut conn: PgConnection,
    target: &str,
    schema: &str,
    role: &str,
) -> Result<i64, ProvisionError> {
    let result = migrate_over(&mut conn, target, schema, role).await;
    conn.close().await.ok();
    result
}

async fn migrate_over(
    conn: &mut PgConnection,
    target: &str,
    schema: &str,
    role: &str,
) -> Result<i64, ProvisionError> {
    let present: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)")
            .bind(schema)
            .fetch_one(&mut *conn)
            .await
            .or_fail(|| format!("failed to look up schema {schema}"))?;
    if !present {
        return Err(ProvisionError::permanent(anyhow::anyhow!(
            "schema {schema} does not exist: the {} step must come first",
            ProvisioningStep::Schema
        )));
    }
    // Held until the connection closes (the caller closes it, or dropping it does).
    sqlx::query("SELECT pg_advisory_lock($1, hashtext($2))")
        .bind(LOCK_CLASS)
        .bind(format!("migrate:{target}"))
        .execute(&mut *conn)
        .await
        .or_fail(|| format!("failed to lock {target} for migrating"))?;
    conn.execute(sqlx::raw_sql(&format!(
        "SET search_path TO {}",
        quote_ident(schema)
    )))
    .await
    .or_fail(|| format!("failed to select schema {schema}"))?;
    TENANT_MIGRATOR
        .run_direct(&mut *conn)
        .await
        .or_fail(|| format!("failed to apply the tenant migrations to {target}"))?;
    grant_use(conn, schema, role).await?;
    let version: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *conn)
            .await
            .or_fail(|| format!("failed to read the migration version of {target}"))?;
    Ok(version.unwrap_or(0))
}

/// Gives `role` the use of every table, sequence and function in `schema` (made by the migrations
/// as the control plane's user), now and for objects made later; but not the migration history.
async fn grant_use(
    conn: &mut PgConnection,
    schema: &str,
    role: &str,
) -> Result<(), ProvisionError> {
    let (schema, role) = (quote_ident(schema), quote_ident(role));
    conn.execute(sqlx::raw_sql(&format!(
        "GRANT USAGE ON SCHEMA {schema} TO {role};
         GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
             ON ALL TABLES IN SCHEMA {schema} TO {role};
         GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {role};
         GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {schema} TO {role};
         ALTER DEFAULT PRIVILEGES IN SCHEMA {schema}
             GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLES TO {role};
         ALTER DEFAULT PRIVILEGES IN SCHEMA {schema}
             GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {role};
         ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT EXECUTE ON FUNCTIONS TO {role};
         REVOKE ALL ON {schema}._sqlx_migrations FROM {role};"
    )))
    .await
    .or_fail(|| format!("failed to grant {role} the use of schema {schema}"))?;
    Ok(())
}
