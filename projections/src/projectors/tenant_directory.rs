//! The tenant directory (`read.tenant_directory`, `read.tenant_hosts`): for each live tenant, its
//! status, isolation model and the names that reach its data (database or schema and their roles,
//! Redis namespace and ACL user, secret *references*, default queue); and the extra hosts that lead
//! to it. The tenant's own `{slug}.{base domain}` is matched by slug at lookup time (see
//! `queries::directory`). A deleted tenant is removed, which frees its slug and hosts.

use anyhow::Context;
use async_trait::async_trait;
use sqlx::{PgConnection, Postgres, Transaction};
use tenantry_application::event_store::RecordedEvent;
use tenantry_domain::events::{
    DatabaseProvisioned, DomainActivated, DomainRegistered, ProvisioningCompleted,
    ProvisioningRequested, ProvisioningRollbackStarted, ProvisioningRolledBack, QueueProvisioned,
    RedisNamespaceProvisioned, ResourceReleased, SchemaProvisioned, TenantCreated, TenantDeleted,
    TenantDeletionRequested, TenantReactivated, TenantSuspended,
};
use tenantry_domain::{ProvisionedResource, TenantEvent, TenantStatus};
use uuid::Uuid;

use super::decode;
use super::event_names::event_types;
use crate::{EventTypes, Projector};

pub struct TenantDirectory;

impl TenantDirectory {
    pub const NAME: &'static str = "tenant_directory";
}

const EVENT_TYPES: &[&str] = event_types![
    TenantCreated,
    ProvisioningRequested,
    SchemaProvisioned,
    DatabaseProvisioned,
    RedisNamespaceProvisioned,
    QueueProvisioned,
    ProvisioningCompleted,
    ProvisioningRollbackStarted,
    ResourceReleased,
    ProvisioningRolledBack,
    TenantSuspended,
    TenantReactivated,
    TenantDeletionRequested,
    TenantDeleted,
    DomainRegistered,
    DomainActivated,
];

#[async_trait]
impl Projector for TenantDirectory {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn event_types(&self) -> EventTypes {
        EventTypes::Only(EVENT_TYPES)
    }

    fn tables(&self) -> &'static [&'static str] {
        &["tenant_directory", "tenant_hosts"]
    }

    async fn apply(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        events: &[RecordedEvent],
    ) -> anyhow::Result<()> {
        for envelope in events {
            let event = decode(envelope)?;
            apply(tx, &event).await.with_context(|| {
                format!(
                    "failed to apply {} at position {} to the directory",
                    envelope.event_type, envelope.position
                )
            })?;
        }
        Ok(())
    }
}

async fn apply(conn: &mut PgConnection, event: &TenantEvent) -> sqlx::Result<()> {
    use TenantEvent as E;
    let id = event.tenant_id().as_uuid();
    if let Some(resource) = event.provisioned_resource() {
        return provisioned(conn, id, &resource).await;
    }
    match event {
        E::TenantCreated(e) => {
            sqlx::query(
                "INSERT INTO tenant_directory (tenant_id, slug, status, isolation) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id) DO NOTHING",
            )
            .bind(id)
            .bind(e.slug.as_str())
            .bind(TenantStatus::Pending.as_str())
            .bind(e.isolation.as_str())
            .execute(conn)
            .await?;
        }
        E::ProvisioningRequested(_) => status(conn, id, TenantStatus::Provisioning).await?,
        E::ProvisioningCompleted(_) | E::TenantReactivated(_) => {
            status(conn, id, TenantStatus::Active).await?
        }
        E::ProvisioningRollbackStarted(_) => status(conn, id, TenantStatus::RollingBack).await?,
        E::ProvisioningRolledBack(_) => status(conn, id, TenantStatus::Failed).await?,
        E::TenantSuspended(_) => status(conn, id, TenantStatus::Suspended).await?,
        E::TenantDeletionRequested(_) => status(conn, id, TenantStatus::Deleting).await?,
        E::ResourceReleased(e) => released(conn, id, &e.resource).await?,
        E::TenantDeleted(_) => {
            sqlx::query("DELETE FROM tenant_directory WHERE tenant_id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            sqlx::query("DELETE FROM tenant_hosts WHERE tenant_id = $1")
                .bind(id)
                .execute(conn)
                .await?;
        }
        // The latest registration of a host wins; it routes only once activated.
        E::DomainRegistered(e) => host(conn, id, &e.host, false).await?,
        E::DomainActivated(e) => host(conn, id, &e.host, true).await?,
        _ => {}
    }
    Ok(())
}

async fn status(conn: &mut PgConnection, id: Uuid, status: TenantStatus) -> sqlx::Result<()> {
    sqlx::query("UPDATE tenant_directory SET status = $2 WHERE tenant_id = $1")
        .bind(id)
        .bind(status.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

async fn host(conn: &mut PgConnection, id: Uuid, host: &str, active: bool) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO tenant_hosts (host, tenant_id, active) VALUES ($1, $2, $3) \
         ON CONFLICT (host) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, active = EXCLUDED.active",
    )
    .bind(host)
    .bind(id)
    .bind(active)
    .execute(conn)
    .await?;
    Ok(())
}

async fn provisioned(
    conn: &mut PgConnection,
    id: Uuid,
    resource: &ProvisionedResource,
) -> sqlx::Result<()> {
    let query = match resource {
        ProvisionedResource::Schema { schema, role } => sqlx::query(
            "UPDATE tenant_directory SET schema_name = $2, schema_role = $3 WHERE tenant_id = $1",
        )
        .bind(id)
        .bind(schema)
        .bind(role),
        ProvisionedResource::Database {
            database,
            role,
            password_secret,
        } => sqlx::query(
            "UPDATE tenant_directory SET database = $2, database_role = $3, database_secret = $4 \
             WHERE tenant_id = $1",
        )
        .bind(id)
        .bind(database)
        .bind(role)
        .bind(password_secret.as_str()),
        ProvisionedResource::RedisNamespace {
            namespace,
            acl_user,
            password_secret,
        } => sqlx::query(
            "UPDATE tenant_directory SET redis_namespace = $2, redis_acl_user = $3, \
             redis_secret = $4 WHERE tenant_id = $1",
        )
        .bind(id)
        .bind(namespace)
        .bind(acl_user)
        .bind(password_secret.as_str()),
        ProvisionedResource::Queue { queue } => {
            sqlx::query("UPDATE tenant_directory SET queue = $2 WHERE tenant_id = $1")
                .bind(id)
                .bind(queue)
        }
        ProvisionedResource::SharedTenant
        | ProvisionedResource::TenantMigrations { .. }
        | ProvisionedResource::Hook { .. } => {
            return Ok(());
        }
    };
    query.execute(conn).await?;
    Ok(())
}

async fn released(
    conn: &mut PgConnection,
    id: Uuid,
    resource: &ProvisionedResource,
) -> sqlx::Result<()> {
    let sql = match resource {
        ProvisionedResource::Schema { .. } => {
            "UPDATE tenant_directory SET schema_name = NULL, schema_role = NULL WHERE tenant_id = $1"
        }
        ProvisionedResource::Database { .. } => {
            "UPDATE tenant_directory SET database = NULL, database_role = NULL, \
             database_secret = NULL WHERE tenant_id = $1"
        }
        ProvisionedResource::RedisNamespace { .. } => {
            "UPDATE tenant_directory SET redis_namespace = NULL, redis_acl_user = NULL, \
             redis_secret = NULL WHERE tenant_id = $1"
        }
        ProvisionedResource::Queue { .. } => {
            "UPDATE tenant_directory SET queue = NULL WHERE tenant_id = $1"
        }
        ProvisionedResource::SharedTenant
        | ProvisionedResource::TenantMigrations { .. }
        | ProvisionedResource::Hook { .. } => {
            return Ok(());
        }
    };
    sqlx::query(sql).bind(id).execute(conn).await?;
    Ok(())
}
