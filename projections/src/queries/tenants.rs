//! The tenant panel's queries: one tenant (`GET /platform/api/tenants/{id}`) and the filtered,
//! paginated list (`GET /platform/api/tenants`), newest first, with their provisioning steps.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, QueryBuilder};
use tenantry_domain::{IsolationModel, TenantStatus};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{QueryError, cursor, page_size};

/// A tenant, as `GET /platform/api/tenants/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = Tenant)]
pub struct TenantView {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub plan: String,
    #[schema(schema_with = super::schema::isolation)]
    pub isolation: IsolationModel,
    /// `deleted` once the deletion saga is done: a deleted tenant stays readable by its id.
    #[schema(schema_with = super::schema::status)]
    pub status: TenantStatus,
    /// The tenant stream's version this view shows (for `If-Match`).
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub provisioning: ProvisioningView,
    pub infrastructure: InfrastructureView,
    pub domains: Vec<DomainView>,
    pub active_workers: u32,
    /// While `suspended`: the operator's reason and since when; `null` otherwise.
    pub suspension: Option<SuspensionView>,
    /// The tenant's accesses switched off now, and whether a change is still under way.
    pub access: AccessView,
    /// Where the rotation of its passwords stands.
    pub credentials: CredentialsView,
}

/// The tenant's credential rotations (`POST …/credentials/rotate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = Credentials)]
pub struct CredentialsView {
    /// The latest rotation asked for (0: none yet).
    pub rotation: u32,
    /// The rotation whose login and passwords are given out now (`GET …/connection`, reveal).
    pub current: u32,
    /// Whether the passwords from before `current` still work too (its grace period).
    pub in_grace: bool,
    /// When the grace period of the latest rotation ends (or ended).
    pub grace_until: Option<DateTime<Utc>>,
    /// `applying`, `in_grace`, `done` (the latest rotation is retired), or `none`.
    pub status: String,
    /// The last failure of the change under way, if it failed.
    pub last_error: Option<String>,
}

impl CredentialsView {
    /// As the domain counts them, for the adapters that pick logins and secrets by rotation.
    pub fn rotations(&self) -> tenantry_domain::CredentialRotations {
        tenantry_domain::CredentialRotations {
            requested: self.rotation,
            applied: self.current,
            retired: if self.in_grace {
                self.current.saturating_sub(1)
            } else {
                self.current
            },
            grace_until: self.grace_until,
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = Suspension)]
pub struct SuspensionView {
    /// As given to `suspend` (`null` if none was).
    pub reason: Option<String>,
    pub suspended_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = Access)]
pub struct AccessView {
    /// The accesses switched off: `database_login` (its roles that log in are `NOLOGIN`),
    /// `redis_user` (its Redis ACL user is `off`). All of the model's once a suspension is done,
    /// none once a reactivation is.
    pub suspended: Vec<String>,
    /// The saga still has an access to switch off (suspended) or on (reactivated).
    pub pending: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = Provisioning)]
pub struct ProvisioningView {
    /// `not_started`, `running`, `retrying`, `completed`, `rolling_back` or `failed`.
    pub status: String,
    /// 0 before the first request, then 1, 2, … one per (re)try of the whole provisioning.
    pub attempt: u32,
    /// The step in progress, while one is (an addition to API.md's shape).
    pub current_step: Option<String>,
    pub steps: Vec<StepView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = ProvisioningStep)]
pub struct StepView {
    pub name: String,
    /// `pending`, `running`, `failed`, `retry_scheduled`, `succeeded`, `skipped` or `released`.
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// A hook step's outputs (`hook:{name}`): the JSON its `apply` answered, while it is held;
    /// `null` for the built-in steps, a hook not (or no longer) applied, or one that answered no
    /// body.
    pub outputs: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = Infrastructure)]
pub struct InfrastructureView {
    pub database: Option<String>,
    pub schema: Option<String>,
    pub redis_namespace: Option<String>,
    pub queues: Vec<String>,
    /// The version of the tenant migrations its schema or database is at (the newest file's
    /// `<VERSION>`), as recorded at provisioning and by the fleet migration (`tenantry migrations
    /// apply`); null until recorded, and for `shared_schema` tenants.
    #[schema(minimum = 0)]
    pub schema_version: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = Domain)]
pub struct DomainView {
    pub host: String,
    /// `pending` until proven, then `active`.
    pub status: String,
    /// `pending` (no certificate yet), `issued` or `expired`.
    pub tls_status: String,
}

/// The list's filters; all optional.
#[derive(Debug, Clone, Default)]
pub struct TenantFilter {
    /// Without it, deleted tenants are left out unless `include_deleted`.
    pub status: Option<TenantStatus>,
    pub plan: Option<String>,
    pub isolation: Option<IsolationModel>,
    /// List deleted tenants too (they are left out by default: a deleted tenant is history, and
    /// its slug may belong to a new one).
    pub include_deleted: bool,
    /// Part of the name or slug, case-insensitive.
    pub q: Option<String>,
    pub limit: Option<u32>,
    /// A page's `next_cursor`.
    pub cursor: Option<String>,
}

/// One page of the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TenantPage {
    pub items: Vec<TenantView>,
    /// Pass as `cursor` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

const COLUMNS: &str = "tenant_id, name, slug, plan, isolation, status, version, created_at, \
    updated_at, database, schema_name, redis_namespace, queues, domains, active_workers, \
    provisioning_status, provisioning_attempt, provisioning_step, suspension_reason, \
    suspended_at, access_suspended, access_pending, hook_outputs, schema_version, \
    credentials_rotation, credentials_applied, credentials_retired, credentials_grace_until, \
    credentials_error";

#[derive(sqlx::FromRow)]
struct PanelRow {
    tenant_id: Uuid,
    name: String,
    slug: String,
    plan: String,
    isolation: String,
    status: String,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    database: Option<String>,
    schema_name: Option<String>,
    redis_namespace: Option<String>,
    queues: Json<Vec<String>>,
    domains: Json<Vec<StoredDomain>>,
    active_workers: i32,
    provisioning_status: String,
    provisioning_attempt: i32,
    provisioning_step: Option<String>,
    suspension_reason: Option<String>,
    suspended_at: Option<DateTime<Utc>>,
    access_suspended: Json<Vec<String>>,
    access_pending: bool,
    hook_outputs: Json<std::collections::BTreeMap<String, serde_json::Value>>,
    schema_version: Option<i64>,
    credentials_rotation: i32,
    credentials_applied: i32,
    credentials_retired: i32,
    credentials_grace_until: Option<DateTime<Utc>>,
    credentials_error: Option<String>,
}

/// A domain as the panel stores it.
#[derive(Deserialize)]
struct StoredDomain {
    host: String,
    status: String,
    tls_expires_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct StepRow {
    tenant_id: Uuid,
    step: String,
    status: String,
    attempts: i32,
    last_error: Option<String>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

/// The tenant `id`, or `None` if the panel has no such tenant (yet).
async fn get_once(pool: &PgPool, id: Uuid) -> Result<Option<TenantView>, QueryError> {
    let row: Option<PanelRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM read.tenant_panel WHERE tenant_id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut steps = steps_of(pool, &[id]).await?;
    let steps = steps.remove(&id).unwrap_or_default();
    view(row, steps, Utc::now()).map(Some)
}

/// A page of tenants, newest first.
async fn list_once(pool: &PgPool, filter: &TenantFilter) -> Result<TenantPage, QueryError> {
    let limit = page_size(filter.limit);
    let mut sql = QueryBuilder::<Postgres>::new(format!(
        "SELECT {COLUMNS} FROM read.tenant_panel WHERE true"
    ));
    push_filters(&mut sql, filter);
    if let Some(c) = &filter.cursor {
        let [micros, id] = cursor::decode::<2>(c)?;
        let at = micros
            .parse::<i64>()
            .ok()
            .and_then(DateTime::<Utc>::from_timestamp_micros)
            .ok_or(QueryError::InvalidCursor)?;
        let id = Uuid::parse_str(&id).map_err(|_| QueryError::InvalidCursor)?;
        sql.push(" AND (created_at, tenant_id) < (")
            .push_bind(at)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    sql.push(" ORDER BY created_at DESC, tenant_id DESC LIMIT ")
        .push_bind(limit + 1);
    let mut rows: Vec<PanelRow> = sql.build_query_as().fetch_all(pool).await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| {
            cursor::encode(&format!(
                "{}:{}",
                r.created_at.timestamp_micros(),
                r.tenant_id
            ))
        })
    } else {
        None
    };
    let ids: Vec<Uuid> = rows.iter().map(|r| r.tenant_id).collect();
    let mut steps = steps_of(pool, &ids).await?;
    let now = Utc::now();
    let items = rows
        .into_iter()
        .map(|row| {
            let steps = steps.remove(&row.tenant_id).unwrap_or_default();
            view(row, steps, now)
        })
        .collect::<Result<_, _>>()?;
    Ok(TenantPage { items, next_cursor })
}

/// The list's `WHERE` conditions but the cursor's.
fn push_filters(sql: &mut QueryBuilder<'_, Postgres>, filter: &TenantFilter) {
    match filter.status {
        Some(status) => {
            sql.push(" AND status = ").push_bind(status.as_str());
        }
        None if !filter.include_deleted => {
            sql.push(" AND status <> ")
                .push_bind(TenantStatus::Deleted.as_str());
        }
        None => {}
    }
    if let Some(plan) = &filter.plan {
        sql.push(" AND plan = ").push_bind(plan.clone());
    }
    if let Some(isolation) = filter.isolation {
        sql.push(" AND isolation = ").push_bind(isolation.as_str());
    }
    if let Some(q) = filter.q.as_deref().filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", escape_like(q));
        sql.push(" AND (name ILIKE ")
            .push_bind(pattern.clone())
            .push(" OR slug ILIKE ")
            .push_bind(pattern)
            .push(")");
    }
}

/// The tenants that `filter` lists whose panel row changed after `since` (by the time of the event
/// that changed it), oldest change first, at most `limit`: what the admin panel's live table
/// sends. Their provisioning steps are included, as in [`list`].
pub async fn changed_since(
    pool: &PgPool,
    filter: &TenantFilter,
    since: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<TenantView>, QueryError> {
    super::retry_deadlock(move || async move {
        let mut sql = QueryBuilder::<Postgres>::new(format!(
            "SELECT {COLUMNS} FROM read.tenant_panel WHERE true"
        ));
        push_filters(&mut sql, filter);
        sql.push(" AND updated_at > ")
            .push_bind(since)
            .push(" ORDER BY updated_at, tenant_id LIMIT ")
            .push_bind(i64::from(limit.clamp(1, super::MAX_LIMIT)));
        let rows: Vec<PanelRow> = sql.build_query_as().fetch_all(pool).await?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.tenant_id).collect();
        let mut steps = steps_of(pool, &ids).await?;
        let now = Utc::now();
        rows.into_iter()
            .map(|row| {
                let steps = steps.remove(&row.tenant_id).unwrap_or_default();
                view(row, steps, now)
            })
            .collect()
    })
    .await
}

async fn steps_of(pool: &PgPool, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<StepView>>, QueryError> {
    let rows: Vec<StepRow> = sqlx::query_as(
        "SELECT tenant_id, step, status, attempts, last_error, started_at, finished_at \
         FROM read.provisioning_steps WHERE tenant_id = ANY($1) ORDER BY tenant_id, ordinal",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    let mut steps: HashMap<Uuid, Vec<StepView>> = HashMap::new();
    for r in rows {
        steps.entry(r.tenant_id).or_default().push(StepView {
            name: r.step,
            status: r.status,
            attempts: r.attempts.max(0) as u32,
            last_error: r.last_error,
            started_at: r.started_at,
            finished_at: r.finished_at,
            outputs: None,
        });
    }
    Ok(steps)
}

fn view(
    row: PanelRow,
    mut steps: Vec<StepView>,
    now: DateTime<Utc>,
) -> Result<TenantView, QueryError> {
    for step in &mut steps {
        if let Some(hook) = step.name.strip_prefix("hook:") {
            step.outputs = row.hook_outputs.0.get(hook).cloned();
        }
    }
    let corrupt = |what: String| QueryError::Corrupt(format!("tenant {}: {what}", row.tenant_id));
    let status = row.status.parse().map_err(|e| corrupt(format!("{e}")))?;
    let isolation = IsolationModel::parse(&row.isolation).map_err(|e| corrupt(format!("{e}")))?;
    Ok(TenantView {
        id: row.tenant_id,
        name: row.name,
        slug: row.slug,
        plan: row.plan,
        isolation,
        status,
        version: row.version.max(0) as u64,
        created_at: row.created_at,
        updated_at: row.updated_at,
        provisioning: ProvisioningView {
            status: row.provisioning_status,
            attempt: row.provisioning_attempt.max(0) as u32,
            current_step: row.provisioning_step,
            steps,
        },
        infrastructure: InfrastructureView {
            database: row.database,
            schema: row.schema_name,
            redis_namespace: row.redis_namespace,
            queues: row.queues.0,
            schema_version: row.schema_version,
        },
        domains: row
            .domains
            .0
            .into_iter()
            .map(|d| DomainView {
                host: d.host,
                status: d.status,
                tls_status: match d.tls_expires_at {
                    None => "pending",
                    Some(expires) if expires <= now => "expired",
                    Some(_) => "issued",
                }
                .to_owned(),
            })
            .collect(),
        active_workers: row.active_workers.max(0) as u32,
        suspension: match (status, row.suspended_at) {
            (TenantStatus::Suspended, Some(suspended_at)) => Some(SuspensionView {
                reason: row.suspension_reason,
                suspended_at,
            }),
            _ => None,
        },
        access: AccessView {
            // The column also holds a credential rotation not yet retired (the saga's work list,
            // see `PanelRow::access_pending`): an active tenant's access change is pending only
            // while an access is still off.
            pending: match status {
                TenantStatus::Active => !row.access_suspended.0.is_empty(),
                _ => row.access_pending,
            },
            suspended: row.access_suspended.0,
        },
        credentials: {
            let count = |n: i32| n.max(0) as u32;
            let (rotation, current, retired) = (
                count(row.credentials_rotation),
                count(row.credentials_applied),
                count(row.credentials_retired),
            );
            CredentialsView {
                rotation,
                current,
                in_grace: retired < current,
                grace_until: row.credentials_grace_until,
                status: match rotation {
                    0 => "none",
                    _ if current < rotation => "applying",
                    _ if retired < rotation => "in_grace",
                    _ => "done",
                }
                .to_owned(),
                last_error: row.credentials_error,
            }
        },
    })
}

/// `q` with LIKE's wildcards taken literally.
fn escape_like(q: &str) -> String {
    q.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The id of the live tenant whose slug is `slug` (a deleted tenant's slug names nobody: it may
/// be taken again). From the tenant directory, so as fresh as its projector.
pub async fn id_of_slug(pool: &PgPool, slug: &str) -> Result<Option<Uuid>, QueryError> {
    Ok(
        sqlx::query_scalar("SELECT tenant_id FROM read.tenant_directory WHERE slug = $1 LIMIT 1")
            .bind(slug)
            .fetch_optional(pool)
            .await?,
    )
}

/// The tenant `raw` names: a UUID is an id (whether or not such a tenant exists), anything else
/// is looked up as the slug of a live tenant ([`id_of_slug`]).
pub async fn resolve(pool: &PgPool, raw: &str) -> Result<Option<Uuid>, QueryError> {
    match Uuid::parse_str(raw) {
        Ok(id) => Ok(Some(id)),
        Err(_) => id_of_slug(pool, raw).await,
    }
}

/// Every tenant's slug, by id, from the tenant panel (deleted tenants' too: their last slug).
pub async fn slugs(pool: &PgPool) -> Result<HashMap<Uuid, String>, QueryError> {
    let rows: Vec<(Uuid, String)> = sqlx::query_as("SELECT tenant_id, slug FROM read.tenant_panel")
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().collect())
}

/// The name and slug of each of `ids` that the tenant panel has (deleted tenants' too: their
/// last ones), by id: what a list of events about tenants shows beside each.
pub async fn names(
    pool: &PgPool,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, (String, String)>, QueryError> {
    let rows: Vec<(Uuid, String, String)> = sqlx::query_as(
        "SELECT tenant_id, name, slug FROM read.tenant_panel WHERE tenant_id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, slug)| (id, (name, slug)))
        .collect())
}

/// What to answer when [`resolve`] finds no tenant for `raw`.
pub fn no_such_tenant(raw: &str) -> String {
    format!(
        "no tenant with id {raw}, and no live tenant has the slug {raw:?} (a tenant is addressed \
         by its id or its slug)"
    )
}

/// See [`get_once`]; once more if the read lost a deadlock to a rebuild's swap.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<TenantView>, QueryError> {
    super::retry_deadlock(|| get_once(pool, id)).await
}

/// See [`list_once`]; once more if the read lost a deadlock to a rebuild's swap.
pub async fn list(pool: &PgPool, filter: &TenantFilter) -> Result<TenantPage, QueryError> {
    super::retry_deadlock(|| list_once(pool, filter)).await
}

/// How many tenants are in each status, from the tenant panel (`/metrics` and the admin panel's
/// overview): every status this binary knows, in lifecycle order (0 for those no tenant is in),
/// then any status the table holds that it does not know (a newer writer's), as it is.
pub async fn count_by_status(pool: &PgPool) -> Result<Vec<(String, i64)>, QueryError> {
    let counts: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM read.tenant_panel GROUP BY status")
            .fetch_all(pool)
            .await?;
    Ok(every_status(counts))
}

fn every_status(counts: Vec<(String, i64)>) -> Vec<(String, i64)> {
    let mut all: Vec<(String, i64)> = TenantStatus::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), 0))
        .collect();
    for (status, count) in counts {
        match all.iter_mut().find(|(s, _)| *s == status) {
            Some(known) => known.1 = count,
            None => all.push((status, count)),
        }
    }
    all
}

/// A `failed` tenant, as `tenantry tenant retry` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedTenant {
    pub id: Uuid,
    pub slug: String,
    /// When it became `failed`: the time of its last event.
    pub failed_at: DateTime<Utc>,
    /// The provisioning attempt that failed.
    pub attempt: u32,
}

/// The `failed` tenants that failed at or after `since`, the oldest failure first, at most
/// `limit` of them.
pub async fn failed_since(
    pool: &PgPool,
    since: DateTime<Utc>,
    limit: Option<u32>,
) -> Result<Vec<FailedTenant>, QueryError> {
    let rows: Vec<(Uuid, String, DateTime<Utc>, i32)> = sqlx::query_as(
        "SELECT tenant_id, slug, updated_at, provisioning_attempt FROM read.tenant_panel
          WHERE status = 'failed' AND updated_at >= $1
          ORDER BY updated_at, tenant_id
          LIMIT $2",
    )
    .bind(since)
    .bind(limit.map_or(i64::MAX, i64::from))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, slug, failed_at, attempt)| FailedTenant {
            id,
            slug,
            failed_at,
            attempt: u32::try_from(attempt).unwrap_or(0),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_is_counted_absent_ones_as_zero() {
        let counts = every_status(vec![("active".into(), 3), ("someday".into(), 1)]);
        assert_eq!(counts.len(), TenantStatus::ALL.len() + 1);
        let of = |name: &str| counts.iter().find(|(s, _)| s == name).map(|(_, n)| *n);
        assert_eq!(of("active"), Some(3));
        assert_eq!(of("pending"), Some(0));
        assert_eq!(of("failed"), Some(0));
        assert_eq!(of("someday"), Some(1));
    }
}
