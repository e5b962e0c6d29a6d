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
    /// 1–200 characters once surrounding white space is trimmed; no control characters, line
    /// separators or bidirectional overrides.
    #[schema(example = "Clínica Dr. Marco")]
    name: String,
    /// 3–63 of a-z, 0-9 and '-', no '-' at either end nor as the 3rd and 4th characters, not a
    /// reserved word; derived from `name` when absent (which fails when too little of the name is
    /// left, or what is left is reserved).
    #[schema(example = "drmarco")]
    slug: Option<String>,
    /// One of the configured plans; the default plan when absent.
    plan: Option<String>,
    /// The plan's default isolation when absent.
    isolation: Option<String>,
    /// The tenant's first admin, invited by `POST /api/tenants/provision`.
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
    /// As in `POST /platform/api/tenants`.
    name: Option<String>,
    /// One of the configured plans.
    plan: Option<String>,
}

/// An optional body of `suspend`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReasonRequest {
    /// Why, for the audit log.
    reason: Option<String>,
}

/// `Idempotency-Key` (POST and PATCH of the tenant commands and the one-shot provision).
/// Only its parameter's description: the idempotency layer reads the header itself.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub(crate) struct IdempotencyKey {
    /// Makes the caller's retry (same key, same body) answer the first answer again, with
    /// `Idempotent-Replayed: true`; keys are per staff member and method + path, kept a day.
    /// 1–255 visible ASCII characters (surrounding white space aside).
    #[param(
        rename = "Idempotency-Key",
        pattern = "^[ \t]*[!-~](?:[ -~]{0,253}[!-~])?[ \t]*$"
    )]
    key: Option<String>,
}

/// The answer to a command: the tenant's stream `version` and the global `position` of its last
/// event (pass it as `?min_position=` to read your write).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CommandAnswer {
    id: Uuid,
    slug: String,
    /// The tenant's status after the command.
    #[schema(schema_with = tenantry_projections::queries::schema::status)]
    status: String,
    /// The tenant stream's version (for `If-Match`).
    version: u64,
    /// The global position of the command's last event (for `min_position`).
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

/// An optional JSON body: none at all (or `null`) is fine, a bad one is refused like any other.
pub(super) fn optional_json<T: serde::de::DeserializeOwned>(
    body: &[u8],
) -> Result<Option<T>, ApiError> {
    let text = body.trim_ascii();
    if text.is_empty() || text == b"null" {
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

/// Creates a tenant; provisioning starts by itself.
#[utoipa::path(post, path = "/platform/api/tenants", tag = "tenants", operation_id = "createTenant", request_body = CreateRequest,
    params(IdempotencyKey),
    responses((status = 201, body = CommandAnswer, description = "created; provisioning starts by itself",
            headers(("Location" = String, description = "the new tenant's URL"))),
        (status = 409, body = ErrorBody, description = "`slug_taken`; `idempotency_key_in_progress`: the key's first request is still running"),
        (status = 422, body = ErrorBody, description = "an invalid value, `field` names it; `idempotency_key_reused`: the key was used with another body")),
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

/// Renames a tenant or changes its plan; answers once the read models have the change.
#[utoipa::path(patch, path = "/platform/api/tenants/{id}", tag = "tenants", operation_id = "updateTenant", request_body = UpdateRequest,
    params(("id" = String, Path, description = "the tenant's id, or the slug of a live tenant"),
        ("If-Match" = Option<String>, Header, description = "the version you last saw: a whole number, or an entity tag holding one (`\"3\"`, `W/\"3\"`); 409 `version_mismatch` when the tenant has moved on", pattern = r#"^[ \t]*(W/)*"*\+?0*[0-9]{1,19}"*[ \t]*$"#),
        IdempotencyKey),
    responses((status = 200, body = tenantry_projections::queries::tenants::TenantView, description = "the tenant after the change (as GET shows it)"),
        (status = 404, body = ErrorBody, description = "no such tenant"),
        (status = 409, body = ErrorBody, description = "`version_mismatch`: a stale If-Match; or not allowed in the tenant's state (e.g. deleted)"),
        (status = 422, body = ErrorBody, description = "an invalid value, `field` names it; `idempotency_key_reused`"),
        (status = 503, body = ErrorBody, description = "changed, but the read models did not show it within `TENANTRY_READ_MODEL_WAIT_MS`")),
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

/// Starts provisioning a pending tenant, or retries a failed one.
#[utoipa::path(post, path = "/platform/api/tenants/{id}/provision", tag = "tenants", operation_id = "provisionTenant",
    params(("id" = String, Path, description = "the tenant's id, or the slug of a live tenant"), IdempotencyKey),
    responses((status = 202, body = CommandAnswer, description = "provisioning starts (or a failed tenant retries)"),
        (status = 404, body = ErrorBody, description = "no such tenant"),
        (status = 409, body = ErrorBody, description = "not allowed in the tenant's state"),
        (status = 422, body = ErrorBody, description = "`idempotency_key_reused`")),
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

/// Suspends an active tenant (the body, with its `reason`, is optional).
#[utoipa::path(post, path = "/platform/api/tenants/{id}/suspend", tag = "tenants", operation_id = "suspendTenant",
    params(("id" = String, Path, description = "the tenant's id, or the slug of a live tenant"), IdempotencyKey),
    request_body(content = Option<ReasonRequest>),
    responses((status = 200, body = CommandAnswer, description = "suspended"),
        (status = 404, body = ErrorBody, description = "no such tenant"),
        (status = 409, body = ErrorBody, description = "not allowed in the tenant's state"),
        (status = 422, body = ErrorBody, description = "`idempotency_key_reused`")),
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

/// Reactivates a suspended tenant.
#[utoipa::path(post, path = "/platform/api/tenants/{id}/reactivate", tag = "tenants", operation_id = "reactivateTenant",
    params(("id" = String, Path, description = "the tenant's id, or the slug of a live tenant"), IdempotencyKey),
    responses((status = 200, body = CommandAnswer, description = "active again"),
        (status = 404, body = ErrorBody, description = "no such tenant"),
        (status = 409, body = ErrorBody, description = "not allowed in the tenant's state"),
        (status = 422, body = ErrorBody, description = "`idempotency_key_reused`")),
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

/// Deletes a tenant.
///
/// The deletion saga releases everything the tenant has, then it is `deleted`, and still
/// readable by its id (`GET` answers 200 with `status: deleted`).
#[utoipa::path(delete, path = "/platform/api/tenants/{id}", tag = "tenants", operation_id = "deleteTenant",
    params(("id" = String, Path, description = "the tenant's id, or the slug of a live tenant")),
    responses((status = 202, body = CommandAnswer, description = "`deleting`: the deletion saga releases everything, then `deleted`"),
        (status = 404, body = ErrorBody, description = "no such tenant"),
        (status = 409, body = ErrorBody, description = "not allowed in the tenant's state (e.g. already deleting)")),
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
