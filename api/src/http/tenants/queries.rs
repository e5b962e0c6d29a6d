//! The tenant read endpoints: one tenant, the filtered list, and a tenant's event history. The
//! first two answer from the tenant panel and provisioning-steps read models (waiting for
//! `min_position` when asked); the history comes straight from the event store.

use std::str::FromStr;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use tenantry_domain::{IsolationModel, TenantStatus};
use tenantry_projections::projectors::{ProvisioningSteps, TenantDirectory, TenantPanel};
use tenantry_projections::queries::QueryError;
use tenantry_projections::queries::audit::AuditItem;
use tenantry_projections::queries::schema;
use tenantry_projections::queries::tenants::{self, TenantFilter, TenantPage, TenantView};
use utoipa::{IntoParams, ToSchema};

use super::commands::tenant_id;
use crate::http::auth::StaffUser;
use crate::http::error::ErrorBody;
use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::{ApiError, AppState};
use crate::http::{consistency, paging};

/// The read models behind the tenant endpoints.
pub(crate) const TENANT_MODELS: &[&str] = &[TenantPanel::NAME, ProvisioningSteps::NAME];

/// The same, and the directory that finds a tenant by its slug.
const BY_SLUG_MODELS: &[&str] = &[
    TenantPanel::NAME,
    ProvisioningSteps::NAME,
    TenantDirectory::NAME,
];

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::InvalidCursor => ApiError::BadRequest {
                code: "invalid_cursor",
                message: "the cursor is not one this API handed out".into(),
                field: Some("cursor".into()),
            },
            other => ApiError::Internal(other.into()),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct Consistency {
    /// Wait (up to `TENANTRY_READ_MODEL_WAIT_MS`, 5 s by default) until the read models have
    /// processed this global position (a command's `position`), else 503.
    min_position: Option<u64>,
}

/// The tenant with `id`, after waiting for `min_position` if asked.
pub(crate) async fn find(
    state: &AppState,
    id: &str,
    min_position: Option<u64>,
) -> Result<TenantView, ApiError> {
    let models = match uuid::Uuid::parse_str(id) {
        Ok(_) => TENANT_MODELS,
        Err(_) => BY_SLUG_MODELS,
    };
    consistency::wait(state, min_position, models).await?;
    let tenant = tenant_id(state, id).await?;
    tenants::get(&state.pool, tenant.as_uuid())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no tenant with id {id}")))
}

/// One tenant, by its id or the slug of a live tenant.
///
/// A deleted tenant stays readable by its id: 200 with `status: deleted` (its slug names nobody
/// any more, so by slug it is 404).
#[utoipa::path(get, path = "/platform/api/tenants/{id}", tag = "tenants", operation_id = "getTenant",
    params(("id" = String, Path, description = "the tenant's id, or the slug of a live tenant"), Consistency),
    responses((status = 200, body = TenantView, description = "the tenant; `status: deleted` for a deleted one"),
        (status = 404, body = ErrorBody, description = "no tenant with this id, and no live tenant with this slug")),
    security(("bearer" = [])))]
pub(crate) async fn get(
    State(state): State<AppState>,
    _staff: StaffUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<Consistency>,
) -> Result<Json<TenantView>, ApiError> {
    find(&state, &id, query.min_position).await.map(Json)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// One of the lifecycle statuses. Without it, deleted tenants are left out unless
    /// `include_deleted=true`.
    #[param(schema_with = status_filter)]
    status: Option<String>,
    /// Tenants on this plan (any text: an unknown plan has no tenants).
    plan: Option<String>,
    #[param(schema_with = schema::isolation)]
    isolation: Option<String>,
    /// List deleted tenants too (default false).
    include_deleted: Option<bool>,
    /// Matches name or slug (case-insensitive substring).
    q: Option<String>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// A page's `next_cursor`.
    cursor: Option<String>,
    /// As on `GET /platform/api/tenants/{id}`.
    min_position: Option<u64>,
}

/// The `status` filter: a status, and what its absence means.
fn status_filter() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    let mut status = schema::status();
    if let utoipa::openapi::RefOr::T(utoipa::openapi::Schema::Object(object)) = &mut status {
        object.description = Some(
            "only tenants in this status; without it, deleted tenants are left out unless \
             `include_deleted=true`"
                .into(),
        );
    }
    status
}

/// The tenants, newest first, a page at a time.
#[utoipa::path(get, path = "/platform/api/tenants", tag = "tenants", operation_id = "listTenants", params(ListQuery),
    responses((status = 200, body = TenantPage, description = "a page of tenants; `next_cursor` is null on the last page"),
        (status = 422, body = ErrorBody, description = "an unknown `status` or `isolation`; `field` names it")),
    security(("bearer" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    _staff: StaffUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<TenantPage>, ApiError> {
    let status = query
        .status
        .as_deref()
        .map(TenantStatus::from_str)
        .transpose()
        .map_err(|e| ApiError::unprocessable("invalid_status", e.to_string(), "status"))?;
    let isolation = query
        .isolation
        .as_deref()
        .map(IsolationModel::parse)
        .transpose()
        .map_err(|e| ApiError::unprocessable("invalid_isolation", e.to_string(), "isolation"))?;
    let limit = paging::limit(query.limit)?;
    consistency::wait(&state, query.min_position, TENANT_MODELS).await?;
    let filter = TenantFilter {
        status,
        plan: query.plan,
        isolation,
        include_deleted: query.include_deleted.unwrap_or(false),
        q: query.q,
        limit: Some(limit),
        cursor: query.cursor,
    };
    Ok(Json(tenants::list(&state.pool, &filter).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventsQuery {
    /// The stream version after which to start (a page's `next`).
    after: Option<u64>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// A page of a tenant's history.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventsPage {
    items: Vec<AuditItem>,
    /// Pass as `after` for the next page; absent at the end.
    next: Option<u64>,
}

/// A tenant's history, straight from its event stream, oldest first.
#[utoipa::path(get, path = "/platform/api/tenants/{id}/events", tag = "tenants", operation_id = "listTenantEvents",
    params(("id" = String, Path, description = "the tenant's id, or the slug of a live tenant"), EventsQuery),
    responses((status = 200, body = EventsPage, description = "a page of the tenant's events, oldest first"),
        (status = 404, body = ErrorBody, description = "no such tenant")),
    security(("bearer" = [])))]
pub(crate) async fn events(
    State(state): State<AppState>,
    _staff: StaffUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Json<EventsPage>, ApiError> {
    let after = query.after.unwrap_or(0);
    if after > MAX_VERSION {
        return Err(after_out_of_range(format!(
            "after must be at most {MAX_VERSION}, got {after}"
        )));
    }
    let limit = paging::limit(query.limit)? as usize;
    let tenant = tenant_id(&state, &id).await?;
    let from = after + 1;
    // One more than asked, to know whether there is a next page.
    let mut events = state
        .store
        .read_stream(&tenant.stream_id(), from, limit + 1)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    if events.is_empty() {
        beyond_the_history(&state, &tenant, &id, after).await?;
    }
    let more = events.len() > limit;
    events.truncate(limit);
    let next = more
        .then(|| events.last().map(|e| e.stream_version))
        .flatten();
    let items = events
        .into_iter()
        .map(|e| AuditItem {
            position: e.position,
            actor: e.metadata.actor.to_string(),
            correlation_id: e.metadata.correlation_id,
            tenant_id: Some(tenant.as_uuid()),
            stream_id: e.stream_id,
            stream_version: e.stream_version,
            event_type: e.event_type,
            recorded_at: e.recorded_at,
            payload: e.payload,
        })
        .collect();
    Ok(Json(EventsPage { items, next }))
}

/// The largest stream version the event store can hold (PostgreSQL keeps it as a `bigint`).
const MAX_VERSION: u64 = i64::MAX as u64;

fn after_out_of_range(message: String) -> ApiError {
    ApiError::BadRequest {
        code: "invalid_query",
        message,
        field: Some("after".into()),
    }
}

/// Why a page of a tenant's history is empty: the tenant has no history (404), or `after` is
/// past its last event (400); at its last event, the page is just empty (nothing new yet).
async fn beyond_the_history(
    state: &AppState,
    tenant: &tenantry_domain::TenantId,
    id: &str,
    after: u64,
) -> Result<(), ApiError> {
    let stream = tenant.stream_id();
    let read = |from: u64| {
        let stream = stream.clone();
        async move {
            state
                .store
                .read_stream(&stream, from, 1)
                .await
                .map_err(|e| ApiError::Internal(e.into()))
        }
    };
    if after > 0 && !read(after).await?.is_empty() {
        return Ok(());
    }
    if after == 0 || read(1).await?.is_empty() {
        return Err(ApiError::NotFound(format!("no tenant with id {id}")));
    }
    Err(after_out_of_range(format!(
        "after is {after}, past the tenant's last event; pass a page's `next` (or a version \
         the tenant has reached)"
    )))
}
