//! `shared_schema`, the register step: the tenant's row in `shared.tenants` (control-plane
//! migration `20261122000005`). Its data lives in the other tables of schema `shared`, kept apart
//! by row-level security on `tenant_id`; releasing the tenant deletes its rows from every table of
//! that schema that has a `tenant_id` column, in small batches so no transaction runs long.
//!
//! Each statement runs with `app.tenant_id` set to the tenant (transaction-local), so it passes
//! the row-level security policies even when the control plane's login is not a superuser.

use sqlx::{Connection, PgConnection, Postgres, Transaction};
use tenantry_application::provisioning::{FaultPoint, ProvisionError, TenantSpec};
use tenantry_domain::{ProvisionedResource, ProvisioningStep, TenantId};

use super::Ctx;
use super::errors::OrFail;
use super::ident::quote_ident;

/// Rows deleted per transaction on release.
const DELETE_BATCH: i64 = 5_000;

pub(super) async fn apply(
    ctx: &Ctx,
    tenant: &TenantSpec,
) -> Result<ProvisionedResource, ProvisionError> {
    let what = || format!("failed to register tenant {} in shared.tenants", tenant.id);
    let mut conn = ctx.admin_connection().await?;
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
