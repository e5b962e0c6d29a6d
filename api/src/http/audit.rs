//! `GET /platform/api/audit`: every event, flattened, filtered by tenant, actor, event type,
//! correlation and time, from the audit-log read model.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tenantry_projections::projectors::AuditLog;
use tenantry_projections::queries::QueryError;
use tenantry_projections::queries::audit::{self, AuditFilter, AuditPage};
use utoipa::IntoParams;
use uuid::Uuid;

use super::auth::StaffUser;
use super::error::ErrorBody;
use super::extract::{ApiQuery, page_limit};
use super::{ApiError, AppState, consistency};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
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
    /// A page's `next` (an opaque cursor: the log's order is by commit, see README).
    after: Option<String>,
    /// Page size, 1–500 (default 50).
    limit: Option<u32>,
    min_position: Option<u64>,
}

#[utoipa::path(get, path = "/platform/api/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "`{items, next}` in log order"),
        (status = 400, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    _staff: StaffUser,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let limit = page_limit(query.limit)?;
    consistency::wait(&state, query.min_position, &[AuditLog::NAME]).await?;
    let filter = AuditFilter {
        tenant: query.tenant,
        actor: query.actor,
        event_type: query.event_type,
        correlation_id: query.correlation_id,
        from: query.from,
        to: query.to,
        after: query.after,
        limit,
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
