//! The tenant command endpoints: create, update (`PATCH`, with `If-Match`), provision, suspend,
//! reactivate, delete. Each answers with the tenant's `version` and the global `position` of its
//! last event, so the caller can read its own write (`?min_position=`).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tenantry_application::tenants::{CommandOutcome, CreateTenantInput};
use tenantry_domain::TenantId;
use utoipa::ToSchema;
use uuid::Uuid;

use super::caller::Caller;
use crate::http::error::ErrorBody;
use crate::http::extract::{ApiJson, ApiPath, parse_json};
use crate::http::{ApiError, AppState};

/// `POST /platform/api/tenants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateRequest {
    #[schema(example = "Clínica Dr. Marco")]
    name: String,
    /// 3–63 of a-z, 0-9 and '-'; derived from `name` when absent.
    #[schema(example = "drmarco")]
    slug: Option<String>,
    /// `free`, `basic`, `pro`, `enterprise` or a configured plan; `basic` when absent.
    plan: Option<String>,
    /// `shared_schema`, `schema_per_tenant` or `database_per_tenant`; the plan's when absent.
    isolation: Option<String>,
    pub(crate) admin_email: Option<String>,
}

impl From<CreateRequest> for CreateTenantInput {
    fn from(request: CreateRequest) -> Self {
        Self {
            name: request.name,
            slug: request.slug,
            plan: request.plan,
            isolation: request.isolation,
            admin_email: request.admin_email,
        }
    }
}

/// `PATCH /platform/api/tenants/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateRequest {
    name: Option<String>,
    plan: Option<String>,
}

/// An optional body of `suspend`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReasonRequest {
    reason: Option<String>,
}

/// The answer to a command: the tenant's stream `version` and the global `position` of its last
/// event (pass it as `?min_position=` to read your write).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CommandAnswer {
    id: Uuid,
    slug: String,
    #[schema(example = "pending")]
    status: String,
    version: u64,
    position: u64,
}

fn outcome_body(outcome: &CommandOutcome) -> CommandAnswer {
    CommandAnswer {
        id: outcome.tenant_id.as_uuid(),
        slug: outcome.slug.clone(),
        status: outcome.status.to_string(),
        version: outcome.version,
        position: outcome.position,
    }
}

/// An optional JSON body: none at all is fine, a bad one is refused like any other.
fn optional_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<Option<T>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    parse_json(body).map(Some)
}

/// The tenant a path names: by its id (a UUID), or by the slug of a live tenant, looked up in the
/// tenant directory (so a tenant created a moment ago may not be found by slug yet; its id always
/// works).
pub(super) async fn tenant_id(state: &AppState, raw: &str) -> Result<TenantId, ApiError> {
    use tenantry_projections::queries::tenants;
    tenants::resolve(&state.pool, raw)
        .await?
        .map(TenantId::from_uuid)
        .ok_or_else(|| ApiError::NotFound(tenants::no_such_tenant(raw)))
}

#[utoipa::path(post, path = "/platform/api/tenants", tag = "tenants", request_body = CreateRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes the caller's retry (same key, same body) return the first answer, with `Idempotent-Replayed: true`; keys are per staff member and kept a day")),
    responses((status = 201, body = CommandAnswer, description = "created; provisioning starts by itself"),
        (status = 400, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "slug taken; `idempotency_key_in_progress`: the key's first request is still running"),
        (status = 422, body = ErrorBody, description = "invalid value, `field` names it; `idempotency_key_reused`: the key was used with another body")),
    security(("bearer" = [])))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Caller(context): Caller,
    ApiJson(request): ApiJson<CreateRequest>,
) -> Result<Response, ApiError> {
    let outcome = state.tenants.create(request.into(), &context).await?;
    let location = format!("/platform/api/tenants/{}", outcome.tenant_id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(outcome_body(&outcome)),
    )
        .into_response())
}

/// `If-Match: <version>` (a plain number, or an entity tag holding one).
fn if_match(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| ApiError::BadRequest {
            code: "invalid_if_match",
            message: "If-Match must be the tenant's version, a whole number".into(),
            field: Some("If-Match".into()),
        })
}

#[utoipa::path(patch, path = "/platform/api/tenants/{id}", tag = "tenants", request_body = UpdateRequest,
    params(("id" = String, Path, description = "the tenant's id, or the slug of a live tenant"), ("If-Match" = Option<u64>, Header, description = "the version you last saw")),
    responses((status = 200, description = "the tenant after the change (as GET shows it)"), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "stale If-Match or not allowed in this state"),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn update(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    Caller(context): Caller,
    ApiJson(request): ApiJson<UpdateRequest>,
) -> Result<Response, ApiError> {
    let tenant = tenant_id(&state, &id).await?;
    let expected = if_match(&headers)?;
    let outcome = state
        .tenants
        .update(
            tenant,
            request.name.as_deref(),
            request.plan.as_deref(),
            expected,
            &context,
        )
        .await?;
    // Answer with the tenant as the read models show it once they have the change.
    let view = super::queries::find(&state, &id, Some(outcome.position)).await?;
    Ok(Json(view).into_response())
}

#[utoipa::path(post, path = "/platform/api/tenants/{id}/provision", tag = "tenants",
    params(("id" = String, Path, description = "the tenant's id, or the slug of a live tenant")),
    responses((status = 202, body = CommandAnswer, description = "provisioning starts (or a failed tenant retries)"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn provision(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    Caller(context): Caller,
) -> Result<Response, ApiError> {
    let outcome = state
        .tenants
        .request_provisioning(tenant_id(&state, &id).await?, &context)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(outcome_body(&outcome))).into_response())
}

#[utoipa::path(post, path = "/platform/api/tenants/{id}/suspend", tag = "tenants",
    params(("id" = String, Path, description = "the tenant's id, or the slug of a live tenant")), request_body(content = Option<ReasonRequest>),
    responses((status = 200, body = CommandAnswer), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn suspend(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    Caller(context): Caller,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let reason = optional_json::<ReasonRequest>(&body)?.and_then(|b| b.reason);
    let outcome = state
        .tenants
        .suspend(tenant_id(&state, &id).await?, reason, &context)
        .await?;
    Ok(Json(outcome_body(&outcome)).into_response())
}

#[utoipa::path(post, path = "/platform/api/tenants/{id}/reactivate", tag = "tenants",
    params(("id" = String, Path, description = "the tenant's id, or the slug of a live tenant")),
    responses((status = 200, body = CommandAnswer), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn reactivate(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    Caller(context): Caller,
) -> Result<Response, ApiError> {
    let outcome = state
        .tenants
        .reactivate(tenant_id(&state, &id).await?, &context)
        .await?;
    Ok(Json(outcome_body(&outcome)).into_response())
}

#[utoipa::path(delete, path = "/platform/api/tenants/{id}", tag = "tenants",
    params(("id" = String, Path, description = "the tenant's id, or the slug of a live tenant")),
    responses((status = 202, body = CommandAnswer, description = "the deletion saga releases everything, then `deleted`"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    Caller(context): Caller,
) -> Result<Response, ApiError> {
    let outcome = state
        .tenants
        .request_deletion(tenant_id(&state, &id).await?, None, &context)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(outcome_body(&outcome))).into_response())
}
