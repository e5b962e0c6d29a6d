//! `shared_schema`, the register step: the tenant's row in `shared.tenants` (control-plane
//! migration `20261122000005`). Its data lives in the other tables of schema `shared`, kept apart
//! by row-level security on `tenant_id`; releasing the tenant deletes its rows from every table of
//! that schema that has a `tenant_id` column, in small batches so no transaction runs long.
//!
//! With the SaaS's own tenant migrations (`TENANTRY_TENANT_MIGRATIONS_DIR`) the shared tables are
//! migrated once, into schema `shared` (its own `_sqlx_migrations`), before the first tenant is
//! registered (and again when the set has grown): in one transaction (per stage, with
//! `-- no-transaction` migrations) that is rolled back when a table of the schema lacks a
//! `tenant_id` column, row-level security or a policy, with an error naming the table. The shared
//! app role (`tenantry_shared_app`) gets the use of the new tables. The built-in set is not
//! applied here: the shared model's tables are the control plane's own.
//!
//! Each statement runs with `app.tenant_id` set to the tenant (transaction-local), so it passes
//! the row-level security policies even when the control plane's login is not a superuser.

use std::sync::atomic::Ordering;

use sqlx::{Connection, Executor, PgConnection, Postgres, Transaction};
use tenantry_application::provisioning::{FaultPoint, ProvisionError, TenantSpec};
use tenantry_domain::{ProvisionedResource, ProvisioningStep, TenantId};

use super::Ctx;
use super::admin::AdminConnection;
use super::errors::OrFail;
use super::ident::quote_ident;
use super::migration_stages::{AfterStage, run as tenant_migrations_run};

/// Rows deleted per transaction on release.
const DELETE_BATCH: i64 = 5_000;

pub(super) async fn apply(
    ctx: &Ctx,
    tenant: &TenantSpec,
) -> Result<ProvisionedResource, ProvisionError> {
    let what = || format!("failed to register tenant {} in shared.tenants", tenant.id);
    let mut conn = ctx.admin_connection().await?;
    if ctx.migrations.is_custom() && !ctx.shared_migrated.load(Ordering::Acquire) {
        migrate_shared(ctx, &mut conn).await?;
        ctx.shared_migrated.store(true, Ordering::Release);
    }
    let mut tx = begin_as(&mut conn, tenant.id).await?;
    sqlx::query(
        "INSERT INTO shared.tenants (tenant_id, slug) VALUES ($1, $2) \
         ON CONFLICT (tenant_id) DO NOTHING",
    )
    .bind(tenant.id.as_uuid())
    .bind(tenant.slug.as_str())
    .execute(&mut *tx)
    .await
    .or_fail(what)?;
    tx.commit().await.or_fail(what)?;
    Ok(ProvisionedResource::SharedTenant)
}

pub(super) async fn release(ctx: &Ctx, tenant: TenantId) -> Result<(), ProvisionError> {
    let mut conn = ctx.admin_connection().await?;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.oid \
         WHERE n.nspname = 'shared' AND c.relkind = 'r' AND c.relname <> 'tenants' \
           AND a.attname = 'tenant_id' AND NOT a.attisdropped \
         ORDER BY c.relname",
    )
    .fetch_all(&mut *conn)
    .await
    .or_fail(|| "failed to list the shared tenant tables")?;
    for table in &tables {
        delete_rows(&mut conn, tenant, table).await?;
    }
    ctx.faults.checkpoint(
        FaultPoint::DuringRelease,
        tenant,
        ProvisioningStep::RegisterSharedTenant,
    );
    delete_rows(&mut conn, tenant, "tenants").await
}

/// Deletes `tenant`'s rows of `shared.<table>`, a batch per transaction.
async fn delete_rows(
    conn: &mut PgConnection,
    tenant: TenantId,
    table: &str,
) -> Result<(), ProvisionError> {
    let what = || format!("failed to delete tenant {tenant}'s rows of shared.{table}");
    let table = quote_ident(table);
    loop {
        let mut tx = begin_as(&mut *conn, tenant).await?;
        let deleted = sqlx::query(&format!(
            "DELETE FROM shared.{table} WHERE ctid = ANY (ARRAY(
                 SELECT ctid FROM shared.{table} WHERE tenant_id = $1 LIMIT $2))"
        ))
        .bind(tenant.as_uuid())
        .bind(DELETE_BATCH)
        .execute(&mut *tx)
        .await
        .or_fail(what)?
        .rows_affected();
        tx.commit().await.or_fail(what)?;
        if deleted < DELETE_BATCH as u64 {
            return Ok(());
        }
    }
}

/// A transaction in which row-level security sees `tenant`.
async fn begin_as(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> Result<Transaction<'_, Postgres>, ProvisionError> {
    let mut tx = conn
        .begin()
        .await
        .or_fail(|| "failed to begin a transaction")?;
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(tenant.to_string())
        .execute(&mut *tx)
        .await
        .or_fail(|| "failed to set app.tenant_id")?;
    Ok(tx)
}

/// Migrates the shared tables with the SaaS's tenant migrations, in one transaction (per stage,
/// with `-- no-transaction` migrations), and checks in it that every table of schema `shared`
/// keeps tenants apart (see the module docs).
async fn migrate_shared(ctx: &Ctx, conn: &mut AdminConnection) -> Result<(), ProvisionError> {
    let after = SharedTablesApart {
        source: ctx.migrations.source(),
    };
    tenant_migrations_run(&ctx.migrations, conn, "shared", "shared", &after).await?;
    Ok(())
}

/// After each stage of the shared tables' migrations: every table keeps tenants apart (else the
/// stage's transaction rolls back), and `tenantry_shared_app` gets the use of them.
struct SharedTablesApart<'a> {
    /// Where the migrations came from, for the error.
    source: &'a str,
}

#[async_trait::async_trait]
impl AfterStage for SharedTablesApart<'_> {
    async fn after(&self, conn: &mut PgConnection) -> Result<(), ProvisionError> {
        let unsafe_tables: Vec<(String, bool, bool, bool)> = sqlx::query_as(
            "SELECT c.relname::text,
                    EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid
                            AND a.attname = 'tenant_id' AND NOT a.attisdropped),
                    c.relrowsecurity,
                    EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid)
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'shared' AND c.relkind IN ('r', 'p') AND c.relname <> '_sqlx_migrations'
             ORDER BY c.relname",
        )
        .fetch_all(&mut *conn)
        .await
        .or_fail(|| "failed to check the shared tables")?;
        for (table, tenant_id, rls, policy) in unsafe_tables {
            let missing: Vec<&str> = [
                (!tenant_id).then_some("tenant_id column"),
                (!rls).then_some(
                    "row-level security enabled (ALTER TABLE … ENABLE ROW LEVEL SECURITY)",
                ),
                (!policy).then_some("row-level security policy (CREATE POLICY …)"),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !missing.is_empty() {
                // Dropping the transaction rolls the migrations back.
                return Err(ProvisionError::permanent(anyhow::anyhow!(
                    "tenant migrations ({}) refused for the shared_schema model: table shared.{table} \
                     has no {}; every shared table must keep tenants apart",
                    self.source,
                    missing.join(", no ")
                )));
            }
        }
        conn.execute(sqlx::raw_sql(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA shared TO tenantry_shared_app;
             GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA shared TO tenantry_shared_app;
             REVOKE ALL ON shared._sqlx_migrations FROM tenantry_shared_app;",
        ))
        .await
        .or_fail(|| "failed to grant tenantry_shared_app the use of the shared tables")?;
        Ok(())
    }
}
