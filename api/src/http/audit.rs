//! `GET /platform/api/audit`: every event, flattened, filtered by tenant, actor, event type,
//! correlation and time, from the audit-log read model, in log order or newest first.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tenantry_projections::projectors::AuditLog;
use tenantry_projections::queries::QueryError;
use tenantry_projections::queries::audit::{self, AuditFilter, AuditOrder, AuditPage};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::StaffUser;
use super::extract::ApiQuery;
use super::{ApiError, AppState, consistency, paging};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    tenant: Option<Uuid>,
    /// As displayed, e.g. `staff:ops@example.com`, `saga:provisioning`, `system`.
    actor: Option<String>,
    event_type: Option<String>,
    /// Only the events of one correlation: what one request (`X-Correlation-Id`, or the
    /// request's own id) and the sagas it started led to. A UUID.
    correlation_id: Option<Uuid>,
    /// Recorded at or after (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Recorded before (RFC 3339).
    to: Option<DateTime<Utc>>,
    /// A page's `next` (an opaque cursor: the log's order is by commit, see README); the page
    /// goes on past it in `order`.
    after: Option<String>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// `asc` (default): the log's order, oldest first; `desc`: newest first. Pass the same
    /// `order` with a page's `next` to go on in that direction.
    #[param(inline)]
    order: Option<Order>,
    /// Wait until the audit log has processed this global position, else 503.
    min_position: Option<u64>,
}

/// The listing's order.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Order {
    Asc,
    Desc,
}

impl From<Order> for AuditOrder {
    fn from(order: Order) -> Self {
        match order {
            Order::Asc => Self::Asc,
            Order::Desc => Self::Desc,
        }
    }
}

/// Every event, flattened, in log order (or newest first), a page at a time.
#[utoipa::path(get, path = "/platform/api/audit", tag = "audit", operation_id = "listAudit", params(AuditQuery),
    responses((status = 200, body = AuditPage, description = "a page of the audit log; `next` is null at its end")),
    security(("bearer" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    _staff: StaffUser,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let limit = paging::limit(query.limit)?;
    consistency::wait(&state, query.min_position, &[AuditLog::NAME]).await?;
    let filter = AuditFilter {
        tenant: query.tenant,
        actor: query.actor,
        event_type: query.event_type,
        correlation_id: query.correlation_id,
        from: query.from,
        to: query.to,
        after: query.after,
        limit: Some(limit),
        order: query.order.map(AuditOrder::from).unwrap_or_default(),
    };
    match audit::list(&state.pool, &filter).await {
        Ok(page) => Ok(Json(page)),
        // The audit log's cursor is its `after`, not the tenant list's `cursor`.
        Err(QueryError::InvalidCursor) => Err(ApiError::BadRequest {
            code: "invalid_cursor",
            message: "after is not a cursor this API handed out (a page's `next`)".into(),
            field: Some("after".into()),
        }),
        Err(other) => Err(other.into()),
    }
}
