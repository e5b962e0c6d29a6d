//! The tenant directory's lookup: which tenant a request's host belongs to, and how to reach its
//! data. For the SaaS application's routing and the tenant portal's host check.
//!
//! Hosts arise two ways. Every tenant has `{slug}.{base domain}`, with the base domain from
//! configuration, matched here by slug (so changing the base domain needs no rebuild). Other hosts
//! (custom domains, `chat.{slug}.…` subdomains) come from `DomainRegistered` and resolve only once
//! `DomainActivated` has proven them; an exact host match wins over the slug rule.

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tenantry_domain::{IsolationModel, TenantStatus};
use uuid::Uuid;

use super::QueryError;

/// A tenant as the directory knows it. Secrets appear only as references into the secret store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectoryEntry {
    pub tenant_id: Uuid,
    pub slug: String,
    /// Routing decides what a non-`active` tenant gets (e.g. a "suspended" page).
    pub status: TenantStatus,
    pub isolation: IsolationModel,
    /// `database_per_tenant`, once provisioned.
    pub database: Option<DatabaseAccess>,
    /// `schema_per_tenant`, once provisioned.
    pub schema: Option<SchemaAccess>,
    pub redis: Option<RedisAccess>,
    /// The default job queue's stream key.
    pub queue: Option<String>,
    /// The credential rotation whose login is given out, and the latest retired (from the
    /// tenant panel's read model, which follows rotations): see [`DirectoryEntry::rotations`].
    pub credentials_applied: u32,
    pub credentials_retired: u32,
}

impl DirectoryEntry {
    /// The tenant's credential rotations, as far as choosing its current login goes.
    pub fn rotations(&self) -> tenantry_domain::CredentialRotations {
        tenantry_domain::CredentialRotations {
            requested: self.credentials_applied,
            applied: self.credentials_applied,
            retired: self.credentials_retired,
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseAccess {
    pub name: String,
    pub role: String,
    pub password_secret: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaAccess {
    pub name: String,
    /// The tenant's login (issue 12: the schema's role logs in).
    pub role: String,
    /// The reference of its password in the secret store.
    pub password_secret: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedisAccess {
    pub namespace: String,
    pub acl_user: String,
    pub password_secret: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    tenant_id: Uuid,
    slug: String,
    status: String,
    isolation: String,
    database: Option<String>,
    database_role: Option<String>,
    database_secret: Option<String>,
    schema_name: Option<String>,
    schema_role: Option<String>,
    redis_namespace: Option<String>,
    redis_acl_user: Option<String>,
    redis_secret: Option<String>,
    queue: Option<String>,
    credentials_applied: Option<i32>,
    credentials_retired: Option<i32>,
}

const COLUMNS: &str = "d.tenant_id, d.slug, d.status, d.isolation, d.database, d.database_role, \
    d.database_secret, d.schema_name, d.schema_role, d.redis_namespace, d.redis_acl_user, \
    d.redis_secret, d.queue, p.credentials_applied, p.credentials_retired";

/// The tenant that `host` (a `Host` header: case and a port are ignored) leads to, if any.
async fn resolve_once(
    pool: &PgPool,
    base_domain: &str,
    host: &str,
) -> Result<Option<DirectoryEntry>, QueryError> {
    let host = normalize(host);
    let exact: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM read.tenant_hosts h JOIN read.tenant_directory d USING (tenant_id) \
         LEFT JOIN read.tenant_panel p USING (tenant_id) \
         WHERE h.host = $1 AND h.active"
    ))
    .bind(&host)
    .fetch_optional(pool)
    .await?;
    if let Some(row) = exact {
        return entry(row).map(Some);
    }
    let base = normalize(base_domain);
    let Some(slug) = host
        .strip_suffix(&base)
        .and_then(|rest| rest.strip_suffix('.'))
        .filter(|slug| !slug.is_empty() && !slug.contains('.'))
    else {
        return Ok(None);
    };
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM read.tenant_directory d \
         LEFT JOIN read.tenant_panel p USING (tenant_id) WHERE d.slug = $1 LIMIT 1"
    ))
    .bind(slug)
    .fetch_optional(pool)
    .await?;
    row.map(entry).transpose()
}

/// Lower case, without a port or a trailing dot.
fn normalize(host: &str) -> String {
    let host = host.trim();
    let host = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

fn entry(row: Row) -> Result<DirectoryEntry, QueryError> {
    let corrupt = |e: String| QueryError::Corrupt(format!("tenant {}: {e}", row.tenant_id));
    let status = row.status.parse().map_err(|e| corrupt(format!("{e}")))?;
    let isolation = IsolationModel::parse(&row.isolation).map_err(|e| corrupt(format!("{e}")))?;
    Ok(DirectoryEntry {
        tenant_id: row.tenant_id,
        slug: row.slug,
        status,
        isolation,
        database: match (row.database, row.database_role, row.database_secret) {
            (Some(name), Some(role), Some(password_secret)) => Some(DatabaseAccess {
                name,
                role,
                password_secret,
            }),
            _ => None,
        },
        schema: match (row.schema_name, row.schema_role) {
            (Some(name), Some(role)) => Some(SchemaAccess {
                name,
                role,
                password_secret: tenantry_domain::TenantNames::of(
                    tenantry_domain::TenantId::from_uuid(row.tenant_id),
                )
                .postgres_secret()
                .to_string(),
            }),
            _ => None,
        },
        redis: match (row.redis_namespace, row.redis_acl_user, row.redis_secret) {
            (Some(namespace), Some(acl_user), Some(password_secret)) => Some(RedisAccess {
                namespace,
                acl_user,
                password_secret,
            }),
            _ => None,
        },
        queue: row.queue,
        credentials_applied: row.credentials_applied.unwrap_or(0).max(0) as u32,
        credentials_retired: row.credentials_retired.unwrap_or(0).max(0) as u32,
    })
}

/// See [`resolve_once`]; once more if the read lost a deadlock to a rebuild's swap.
pub async fn resolve(
    pool: &PgPool,
    base_domain: &str,
    host: &str,
) -> Result<Option<DirectoryEntry>, QueryError> {
    super::retry_deadlock(|| resolve_once(pool, base_domain, host)).await
}
