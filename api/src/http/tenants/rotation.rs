//! `POST /platform/api/tenants/{id}/credentials/rotate`: new passwords for the tenant's
//! application, the old ones working until the grace period ends (see
//! `tenantry_infrastructure::provisioning` — `rotation.rs` — for what changes where). Recorded as
//! `TenantCredentialsRotated {rotation, by, ip, grace_until}` (no secret), then carried out by the
//! saga: `TenantCredentialsApplied` once the new passwords work, `TenantCredentialsRetired` once
//! the old ones no longer do. The tenant's `credentials` (GET) shows where it stands; the new
//! login and passwords are given by `GET …/connection` and `POST …/connection/reveal` once
//! `credentials.current` is the rotation.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::caller::Caller;
use super::commands::{IdempotencyKey, optional_json, tenant_id};
use crate::http::error::ErrorBody;
use crate::http::extract::ApiPath;
use crate::http::{ApiError, AppState};

/// The grace period when the request names none: an hour.
const DEFAULT_GRACE_SECS: u64 = 3_600;
/// The longest grace period: a week.
const MAX_GRACE_SECS: u64 = 7 * 24 * 3_600;

/// An optional body of `credentials/rotate`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RotateRequest {
    /// How long the old passwords keep working, in seconds: 0 (they stop as soon as the new ones
    /// work: for a leaked password) to 604800 (a week); 3600 when absent.
    /// A JSON number that is whole (`60` or `60.0`, as JSON Schema's `integer` allows).
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 604800)]
    grace_seconds: Option<f64>,
}

/// The answer to a rotation.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RotateAnswer {
    id: Uuid,
    slug: String,
    /// The rotation asked for (1, 2, …).
    rotation: u32,
    /// Until when the old passwords keep working.
    grace_until: DateTime<Utc>,
    /// The tenant stream's version.
    version: u64,
    /// The global position of the rotation's event (for `min_position`).
    position: u64,
}

/// Asks for new passwords for the tenant's application (an active tenant; one rotation at a
/// time).
///
/// The saga puts them in place (a new PostgreSQL login for the tenants whose role logs in, a
/// new password for its Redis user) and, once `grace_until` has passed, makes the old ones
/// invalid. Read the new ones with `POST …/connection/reveal` once the tenant's
/// `credentials.current` is the rotation.
#[utoipa::path(post, path = "/platform/api/tenants/{id}/credentials/rotate", tag = "tenants", operation_id = "rotateTenantCredentials",
    params(("id" = String, Path, description = "the tenant's id, or the slug of a live tenant"), IdempotencyKey),
    request_body(content = Option<RotateRequest>),
    responses((status = 202, body = RotateAnswer, description = "the rotation is recorded; the saga carries it out"),
        (status = 404, body = ErrorBody, description = "no such tenant"),
        (status = 409, body = ErrorBody, description = "`invalid_state`: not active; `rotation_in_progress`: the previous rotation is not retired yet"),
        (status = 422, body = ErrorBody, description = "`grace_seconds` out of range (`field` names it); `idempotency_key_reused`")),
    security(("bearer" = [])))]
pub(crate) async fn rotate(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    Caller(context): Caller,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let request = optional_json::<RotateRequest>(&body)?.unwrap_or_default();
    let grace = match request.grace_seconds {
        None => DEFAULT_GRACE_SECS,
        Some(secs) if secs.fract() == 0.0 && (0.0..=MAX_GRACE_SECS as f64).contains(&secs) => {
            secs as u64
        }
        Some(_) => {
            return Err(ApiError::unprocessable(
                "invalid_grace_seconds",
                format!(
                    "grace_seconds must be a whole number of seconds from 0 to {MAX_GRACE_SECS}"
                ),
                "grace_seconds",
            ));
        }
    };
    let tenant = tenant_id(&state, &id).await?;
    let (outcome, rotations) = state
        .tenants
        .rotate_credentials(tenant, Duration::from_secs(grace), &context)
        .await?;
    let answer = RotateAnswer {
        id: outcome.tenant_id.as_uuid(),
        slug: outcome.slug.clone(),
        rotation: rotations.requested,
        grace_until: rotations.grace_until.unwrap_or_default(),
        version: outcome.version,
        position: outcome.position,
    };
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}
