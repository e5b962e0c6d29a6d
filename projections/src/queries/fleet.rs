//! The fleet's versions as the tenant panel read model tells them (`GET
//! /platform/api/migrations`): how many tenants holding a schema or a database (active or
//! suspended, as the fleet migration takes them) are at each tenant migration version. The
//! version is the one their events recorded (`schema_version`), not read from each tenant's
//! `_sqlx_migrations`: an API read stays one query whatever the fleet's size.

use sqlx::PgPool;

use super::{QueryError, retry_deadlock};

/// Tenants per recorded version, oldest version first; `None`: no version recorded yet (a tenant
/// provisioned before versions were recorded, until `tenantry projections rebuild tenant_panel`).
pub async fn tenants_by_version(pool: &PgPool) -> Result<Vec<(Option<i64>, i64)>, QueryError> {
    retry_deadlock(|| async {
        Ok(sqlx::query_as(
            "SELECT schema_version, count(*) FROM read.tenant_panel
             WHERE status IN ('active', 'suspended')
               AND isolation IN ('schema_per_tenant', 'database_per_tenant')
             GROUP BY schema_version ORDER BY schema_version NULLS FIRST",
        )
        .fetch_all(pool)
        .await?)
    })
    .await
}
