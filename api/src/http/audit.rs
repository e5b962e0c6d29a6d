//! `GET /platform/api/audit`: every event, flattened, filtered by tenant, actor, event type,
//! correlation and time, from the audit-log read model.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tenantry_projections::projectors::AuditLog;
use tenantry_projections::queries::audit::{self, AuditFilter, AuditPage};
use utoipa::IntoParams;
use uuid::Uuid;

use super::auth::StaffUser;
use super::extract::ApiQuery;
use super::{ApiError, AppState, consistency, paging};

#[derive(Debug, Deserialize, IntoParams)]
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
    /// A page's `next` (an opaque cursor: the log's order is by commit, see README).
    after: Option<String>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// Wait until the audit log has processed this global position, else 503.
    min_position: Option<u64>,
}

/// Every event, flattened, in log order, a page at a time.
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
    };
    Ok(Json(audit::list(&state.pool, &filter).await?))
}
