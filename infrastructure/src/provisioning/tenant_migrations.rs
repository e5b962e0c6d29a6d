//! The tenant migrations (`migrations/tenant/`): the tables every tenant gets, applied to its
//! schema (`schema_per_tenant`, with the search_path set to that schema) or its database
//! (`database_per_tenant`, in `public`). sqlx's `_sqlx_migrations` table is created, unqualified,
//! in the first schema of the search_path, so each tenant schema keeps its own migration history
//! and version.
//!
//! sqlx's own migration lock is keyed by the database, which would make every tenant schema of
//! the control-plane database wait for every other (and for the control-plane migrations); a lock
//! per target is taken instead. Everything runs in one transaction (each migration in a
//! savepoint of it): the lock, the `search_path` and the grants, so a target's migrations are
//! applied with their grants or not at all, and a pooled connection serves the schema model
//! (nothing outlives the transaction). A fresh connection per tenant schema cost a backend start
//! and cold catalog caches, and the migrations took about five times as long under load.

use sqlx::migrate::Migrator;
use sqlx::{Connection, Executor, PgConnection};
use tenantry_application::provisioning::{ProvisionError, TenantSpec};
use tenantry_domain::{IsolationModel, ProvisionedResource, ProvisioningStep, TenantNames};

use super::errors::OrFail;
use super::ident::quote_ident;
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
    let role = names.role();
    let latest_version = match tenant.isolation {
        IsolationModel::SchemaPerTenant => {
            let mut conn = ctx.admin_connection().await?;
            let schema = names.schema();
            migrate(&mut conn, schema, schema, role, Grants::ByDefault).await?
        }
        IsolationModel::DatabasePerTenant => {
            let database = names.database();
            let mut conn = ctx.connect_to(database).await?;
            let migrated = migrate(&mut conn, database, "public", role, Grants::All).await;
            // Not kept: a connection to one tenant's database serves no other.
            conn.close().await;
            migrated?
        }
        IsolationModel::SharedSchema => {
            return Err(ProvisionError::permanent(anyhow::anyhow!(
                "shared_schema tenants have no tenant migrations"
            )));
        }
    };
    Ok(ProvisionedResource::TenantMigrations {
        target: names.resource().to_owned(),
        latest_version,
    })
}

/// How `role` comes to use what the migrations made.
#[derive(Debug, Clone, Copy)]
enum Grants {
    /// The schema step's default privileges gave it everything made in the schema: only the
    /// migration history is taken back.
    ByDefault,
    /// Grant it everything in the schema (a database copied from the template, whose default
    /// privileges know nothing of this role).
    All,
}

/// Runs the tenant migrations into `schema` over `conn` (connected to the right database) in one
/// transaction, gives `role` the use of what they made, and returns the applied version.
async fn migrate(
    conn: &mut PgConnection,
    target: &str,
    schema: &str,
    role: &str,
    grants: Grants,
) -> Result<i64, ProvisionError> {
    let mut tx = conn
        .begin()
        .await
        .or_fail(|| format!("failed to begin migrating {target}"))?;
    let present: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)")
            .bind(schema)
            .fetch_one(&mut *tx)
            .await
            .or_fail(|| format!("failed to look up schema {schema}"))?;
    if !present {
        return Err(ProvisionError::permanent(anyhow::anyhow!(
            "schema {schema} does not exist: the {} step must come first",
            ProvisioningStep::Schema
        )));
    }
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(LOCK_CLASS)
        .bind(format!("migrate:{target}"))
        .execute(&mut *tx)
        .await
        .or_fail(|| format!("failed to lock {target} for migrating"))?;
    tx.execute(sqlx::raw_sql(&format!(
        "SET LOCAL search_path TO {}",
        quote_ident(schema)
    )))
    .await
    .or_fail(|| format!("failed to select schema {schema}"))?;
    TENANT_MIGRATOR
        .run_direct(&mut *tx)
        .await
        .or_fail(|| format!("failed to apply the tenant migrations to {target}"))?;
    grant_use(&mut tx, schema, role, grants).await?;
    let version: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *tx)
            .await
            .or_fail(|| format!("failed to read the migration version of {target}"))?;
    tx.commit()
        .await
        .or_fail(|| format!("failed to commit the migrations of {target}"))?;
    Ok(version.unwrap_or(0))
}

/// Gives `role` the use of what the migrations made in `schema` (see [`Grants`]), but not the
/// migration history, which is the control plane's.
async fn grant_use(
    conn: &mut PgConnection,
    schema: &str,
    role: &str,
    grants: Grants,
) -> Result<(), ProvisionError> {
    let (schema, role) = (quote_ident(schema), quote_ident(role));
    let everything = format!(
        "GRANT USAGE ON SCHEMA {schema} TO {role};
         GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
             ON ALL TABLES IN SCHEMA {schema} TO {role};
         GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {role};
         GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {schema} TO {role};
         ALTER DEFAULT PRIVILEGES IN SCHEMA {schema}
             GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLES TO {role};
         ALTER DEFAULT PRIVILEGES IN SCHEMA {schema}
             GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {role};
         ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT EXECUTE ON FUNCTIONS TO {role};"
    );
    let history = format!("REVOKE ALL ON {schema}._sqlx_migrations FROM {role};");
    let sql = match grants {
        Grants::All => format!("{everything}\n{history}"),
        Grants::ByDefault => history,
    };
    conn.execute(sqlx::raw_sql(&sql))
        .await
        .or_fail(|| format!("failed to grant {role} the use of schema {schema}"))?;
    Ok(())
}
