//! The inventory adapter: what tenant-shaped things exist in PostgreSQL, Redis and the secret
//! store, read from the catalogs, `ACL USERS` and a SCAN of the `tenant:*` keys. Tenant-shaped
//! means named with one of [`TenantNames`]' prefixes; whose each thing is, [`TenantNames`] reads
//! back from its name.

use std::collections::BTreeSet;

use anyhow::Context;
use async_trait::async_trait;
use tenantry_application::provisioning::{
    ExistingResource, InventoryError, ResourceInventory, ResourceKind,
};
use tenantry_domain::{TenantId, TenantNames};
use uuid::Uuid;

use super::TenantProvisioner;

/// Keys per SCAN round.
const SCAN_BATCH: usize = 1_000;

#[async_trait]
impl ResourceInventory for TenantProvisioner {
    /// `shared.tenants` is read as the control plane's user, which must bypass row-level security
    /// (a superuser, or a role with BYPASSRLS) to see every row.
    async fn list(&self) -> Result<Vec<ExistingResource>, InventoryError> {
        let ctx = &self.ctx;
        let mut found = BTreeSet::new();
        // `tenant\_%`: the prefix taken literally (`_` is a LIKE wildcard).
        let like = format!("{}%", TenantNames::RESOURCE_PREFIX.replace('_', r"\_"));
        for (kind, sql) in [
            (
                ResourceKind::Schema,
                "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE $1",
            ),
            (
                ResourceKind::Database,
                "SELECT datname::text FROM pg_database WHERE datname LIKE $1",
            ),
            (
                ResourceKind::Role,
                "SELECT rolname::text FROM pg_roles WHERE rolname LIKE $1",
            ),
        ] {
            let names: Vec<String> = sqlx::query_scalar(sql)
                .bind(&like)
                .fetch_all(&ctx.pool)
                .await
                .with_context(|| format!("failed to list {kind:?}s"))?;
            found.extend(names.into_iter().map(|name| resource(kind, name)));
        }
        let shared: Vec<Uuid> = sqlx::query_scalar("SELECT tenant_id FROM shared.tenants")
            .fetch_all(&ctx.pool)
            .await
            .context("failed to list shared.tenants")?;
        found.extend(shared.into_iter().map(|id| ExistingResource {
            kind: ResourceKind::SharedTenant,
            name: id.to_string(),
            tenant: Some(TenantId::from_uuid(id)),
        }));
        let mut conn = ctx.redis_connection().await.map_err(anyhow::Error::from)?;
        let users: Vec<String> = redis::cmd("ACL")
            .arg("USERS")
            .query_async(&mut conn)
            .await
            .context("failed to list the Redis ACL users")?;
        found.extend(
            users
                .into_iter()
                .filter(|u| u.starts_with(TenantNames::RESOURCE_PREFIX))
                .map(|u| resource(ResourceKind::RedisUser, u)),
        );
        found.extend(redis_namespaces(&mut conn).await?);
        let secrets = ctx
            .secrets
            .list(TenantNames::SECRET_PREFIX)
            .await
            .map_err(anyhow::Error::from)?;
        found.extend(secrets.into_iter().map(|reference| ExistingResource {
            kind: ResourceKind::Secret,
            tenant: TenantNames::tenant_of_secret(reference.as_str()),
            name: reference.as_str().to_owned(),
        }));
        Ok(found.into_iter().collect())
    }
}

fn resource(kind: ResourceKind, name: String) -> ExistingResource {
    ExistingResource {
        kind,
        tenant: TenantNames::tenant_of_resource(&name),
        name,
    }
}

/// The distinct namespaces (`tenant:{id}:`) of the keys in database 0.
async fn redis_namespaces(
    conn: &mut redis::aio::ConnectionManager,
) -> anyhow::Result<BTreeSet<ExistingResource>> {
    let mut found = BTreeSet::new();
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{}*", TenantNames::NAMESPACE_PREFIX))
            .arg("COUNT")
            .arg(SCAN_BATCH)
            .query_async(conn)
            .await
            .context("failed to scan the Redis keys")?;
        for key in keys {
            let key = String::from_utf8_lossy(&key);
            let Some(namespace) = TenantNames::namespace_of_key(&key) else {
                continue;
            };
            found.insert(ExistingResource {
                kind: ResourceKind::RedisKeys,
                name: namespace.to_owned(),
                tenant: TenantNames::tenant_of_namespace(namespace),
            });
        }
        if next == 0 {
            return Ok(found);
        }
        cursor = next;
    }
}
