//! `POST /api/tenants/provision`: the one-shot a SaaS signup flow (or a script) calls to onboard a
//! customer. It creates the tenant, requests its provisioning, invites its first admin, and answers
//! with everything the caller needs next: the tenant's id, the invitation token (shown only here),
//! and where the tenant's worker queue and default host will be once provisioning completes.
//! Staff only (a bearer token), like `/platform/api`, and like it served only on the control-plane
//! hosts (`TENANTRY_CONTROL_PLANE_HOSTS`; 403 elsewhere). With an `Idempotency-Key`, a retry is
//! replayed the same answer without the invitation token, which is shown once and never kept.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tenantry_domain::{Email, FieldError, TenantNames};
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::ErrorBody;
use super::extract::ApiJson;
use super::idempotency::ReplayBody;
use super::tenants::caller::Caller;
use super::tenants::commands::{CreateRequest, IdempotencyKey};
use super::{ApiError, AppState};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct OneShotAnswer {
    id: Uuid,
    slug: String,
    /// `provisioning`: the provisioning saga takes it from here.
    #[schema(schema_with = tenantry_projections::queries::schema::status)]
    status: String,
    version: u64,
    position: u64,
    admin_invitation: InvitationAnswer,
    worker: WorkerInstructions,
    domains: DomainInstructions,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct InvitationAnswer {
    /// Shown once; Tenantry keeps only its hash. Absent from an idempotent replay
    /// (`Idempotent-Replayed: true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    email: String,
    expires_at: DateTime<Utc>,
}

/// Where the tenant's jobs go, once provisioning has made its Redis namespace and queue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct WorkerInstructions {
    /// The Redis stream of the tenant's default queue.
    queue: String,
    consumer_group: String,
    /// The Redis ACL user that can touch only the tenant's keys.
    redis_user: String,
    redis_namespace: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct DomainInstructions {
    /// `{slug}.{TENANTRY_BASE_DOMAIN}`, routed to the tenant by the tenant directory.
    default_host: String,
}

/// Creates a tenant, requests its provisioning and invites its first admin, in one call.
///
/// The body is that of `POST /platform/api/tenants`, with `admin_email` required. An idempotent
/// replay has no invitation token (it is shown once).
#[utoipa::path(post, path = "/api/tenants/provision", tag = "onboarding", operation_id = "onboardTenant",
    request_body(content = CreateRequest, description = "as for `POST /platform/api/tenants`, `admin_email` required (the document names it `OneShotRequest`)"),
    params(IdempotencyKey),
    responses((status = 201, body = OneShotAnswer, description = "created, provisioning, its admin invited"),
        (status = 409, body = ErrorBody, description = "`slug_taken`; `idempotency_key_in_progress`"),
        (status = 422, body = ErrorBody, description = "an invalid value or a missing `admin_email`, `field` names it; `idempotency_key_reused`")),
    security(("bearer" = [])))]
pub(crate) async fn provision(
    State(state): State<AppState>,
    Caller(context): Caller,
    ApiJson(request): ApiJson<CreateRequest>,
) -> Result<Response, ApiError> {
    let email = match request.admin_email.as_deref() {
        None => {
            return Err(ApiError::unprocessable(
                "missing_admin_email",
                "admin_email is required: the tenant's first admin is invited",
                "admin_email",
            ));
        }
        Some(raw) => Email::parse(raw)
            .map_err(|e| ApiError::unprocessable(e.code(), e.to_string(), "admin_email"))?,
    };
    let created = state.tenants.create(request.into(), &context).await?;
    let tenant = created.tenant_id;
    let provisioning = state.tenants.request_provisioning(tenant, &context).await?;
    let (invitation, token) = state
        .invitations
        .issue_admin(tenant, email, &context)
        .await?;
    let names = TenantNames::of(tenant);
    let answer = OneShotAnswer {
        id: tenant.as_uuid(),
        slug: created.slug.clone(),
        status: provisioning.status.to_string(),
        version: provisioning.version,
        position: provisioning.position,
        admin_invitation: InvitationAnswer {
            token: Some(token),
            email: invitation.email.as_str().to_owned(),
            expires_at: invitation.expires_at,
        },
        worker: WorkerInstructions {
            queue: names.queue(),
            consumer_group: TenantNames::CONSUMER_GROUP.into(),
            redis_user: names.redis_user().to_owned(),
            redis_namespace: names.redis_namespace().to_owned(),
        },
        domains: DomainInstructions {
            default_host: format!("{}.{}", created.slug, state.base_domain),
        },
    };
    let mut replayed = answer.clone();
    replayed.admin_invitation.token = None;
    ReplayBody::attach(
        (StatusCode::CREATED, Json(answer)).into_response(),
        &replayed,
    )
}
