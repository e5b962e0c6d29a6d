//! The audit log's query (`GET /platform/api/audit`): events filtered by tenant, actor, event
//! type, correlation and time, in log order (the order they became visible in) or newest first,
//! a page at a time.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, QueryBuilder};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{QueryError, cursor, page_size};

/// One event, as the audit log and a tenant's history show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditItem {
    pub position: u64,
    pub stream_id: String,
    pub stream_version: u64,
    pub event_type: String,
    pub recorded_at: DateTime<Utc>,
    /// e.g. `staff:ops@example.com`, `saga:provisioning`, `system`.
    pub actor: String,
    pub correlation_id: Uuid,
    /// The tenant the event is about (its metadata's `tenant_id`), if any: a tenant's own events,
    /// and those of its slug claim and invitations.
    pub tenant_id: Option<Uuid>,
    /// The event's data, as recorded; its shape depends on `event_type`.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

/// The order of the listing: the log's (`asc`, oldest first, by commit) or its reverse (`desc`,
/// newest first). A page's `next` continues in the order it was listed in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditOrder {
    #[default]
    Asc,
    Desc,
}

/// The filters; all optional.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub tenant: Option<Uuid>,
    /// Exactly as displayed: `staff:ops@example.com`.
    pub actor: Option<String>,
    pub event_type: Option<String>,
    /// The events of one correlation.
    pub correlation_id: Option<Uuid>,
    /// Recorded at or after.
    pub from: Option<DateTime<Utc>>,
    /// Recorded before.
    pub to: Option<DateTime<Utc>>,
    /// A page's `next`: the listing goes on past that item, in [`AuditFilter::order`].
    pub after: Option<String>,
    pub limit: Option<u32>,
    pub order: AuditOrder,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditItem>,
    /// Pass as `after` (with the same `order`) for the next page; `None` when this page reached
    /// the end of the log so far (newest first: its beginning).
    pub next: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Row {
    commit: i64,
    position: i64,
    stream_id: String,
    stream_version: i64,
    event_type: String,
    recorded_at: DateTime<Utc>,
    actor: String,
    correlation_id: Uuid,
    tenant_id: Option<Uuid>,
    payload: Json<serde_json::Value>,
}

async fn list_once(pool: &PgPool, filter: &AuditFilter) -> Result<AuditPage, QueryError> {
    let limit = page_size(filter.limit);
    let mut sql = QueryBuilder::<Postgres>::new(
        "SELECT commit, position, stream_id, stream_version, event_type, recorded_at, actor, \
         correlation_id, tenant_id, payload FROM read.audit_log WHERE true",
    );
    if let Some(tenant) = filter.tenant {
        sql.push(" AND tenant_id = ").push_bind(tenant);
    }
    if let Some(actor) = &filter.actor {
        sql.push(" AND actor = ").push_bind(actor.clone());
    }
    if let Some(event_type) = &filter.event_type {
        sql.push(" AND event_type = ").push_bind(event_type.clone());
    }
    if let Some(correlation) = filter.correlation_id {
        sql.push(" AND correlation_id = ").push_bind(correlation);
    }
    if let Some(from) = filter.from {
        sql.push(" AND recorded_at >= ").push_bind(from);
    }
    if let Some(to) = filter.to {
        sql.push(" AND recorded_at < ").push_bind(to);
    }
    // Keyset pagination both ways: past the cursor's `(commit, position)` in the listing's order,
    // which every index of the table (each ending in `commit, position`) serves, backwards too.
    let (past, order) = match filter.order {
        AuditOrder::Asc => (">", "commit, position"),
        AuditOrder::Desc => ("<", "commit DESC, position DESC"),
    };
    if let Some(after) = &filter.after {
        let [commit, position] = cursor::decode::<2>(after)?;
        let parse = |s: &str| s.parse::<i64>().map_err(|_| QueryError::InvalidCursor);
        sql.push(format!(" AND (commit, position) {past} ("))
            .push_bind(parse(&commit)?)
            .push(", ")
            .push_bind(parse(&position)?)
            .push(")");
    }
    sql.push(format!(" ORDER BY {order} LIMIT "))
        .push_bind(limit + 1);
    let mut rows: Vec<Row> = sql.build_query_as().fetch_all(pool).await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last()
            .map(|r| cursor::encode(&format!("{}:{}", r.commit, r.position)))
    } else {
        None
    };
    let items = rows
        .into_iter()
        .map(|r| AuditItem {
            position: r.position as u64,
            stream_id: r.stream_id,
            stream_version: r.stream_version as u64,
            event_type: r.event_type,
            recorded_at: r.recorded_at,
            actor: r.actor,
            correlation_id: r.correlation_id,
            tenant_id: r.tenant_id,
            payload: r.payload.0,
        })
        .collect();
    Ok(AuditPage { items, next })
}

/// See [`list_once`]; once more if the read lost a deadlock to a rebuild's swap.
pub async fn list(pool: &PgPool, filter: &AuditFilter) -> Result<AuditPage, QueryError> {
    super::retry_deadlock(|| list_once(pool, filter)).await
}
