//! A tenant's way in for the application: `GET …/connection` (no secret in it) and
//! `POST …/connection/reveal` (the passwords, audited as `TenantCredentialsRevealed` before they
//! are read; never kept for an `Idempotency-Key` replay). See
//! `tenantry_infrastructure::provisioning::TenantAccess` for what each isolation model logs in with.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tenantry_domain::{IsolationModel, TenantId, TenantStatus};
use tenantry_infrastructure::provisioning::{ConnectionDetails, QueueDetails, RevealError};
use tenantry_projections::queries::tenants::TenantView;
use utoipa::ToSchema;
use uuid::Uuid;

use super::caller;
use super::commands::IdempotencyKey;
use crate::http::auth::{CredentialsRead, Principal, StaffOr};
use crate::http::error::ErrorBody;
use crate::http::extract::{ApiPath, RequestMeta};
use crate::http::idempotency::ReplayBody;
use crate::http::{ApiError, AppState};

/// Where the tenant's PostgreSQL data is and who logs in to it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PostgresConnection {
    host: String,
    port: u16,
    database: String,
    /// The tenant's schema (`schema_per_tenant`), `shared` (`shared_schema`), or null for a
    /// database of its own (`database_per_tenant`: its `public` schema).
    schema: Option<String>,
    /// The login: the tenant's own role, or the shared application login (`shared_schema`).
    user: String,
    /// `shared_schema` only: set it per transaction (`SET LOCAL app.tenant_id = '<value>'`)
    /// before touching the shared tables; row-level security shows only the tenant's rows.
    tenant_setting: Option<TenantSetting>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TenantSetting {
    #[schema(example = "app.tenant_id")]
    name: String,
    value: String,
}

/// The tenant's Redis user, limited to its namespace.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RedisConnection {
    /// Without the password: `redis://{user}@{host}:{port}/{db}`.
    url: String,
    user: String,
    /// Every key and channel the user may touch starts with it.
    namespace: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QueueConnection {
    name: String,
    /// The Redis stream.
    stream: String,
    consumer_group: String,
}

impl From<QueueDetails> for QueueConnection {
    fn from(queue: QueueDetails) -> Self {
        Self {
            name: queue.name,
            stream: queue.stream,
            consumer_group: queue.consumer_group,
        }
    }
}

/// `GET /platform/api/tenants/{id}/connection`: everything but the passwords.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConnectionAnswer {
    tenant_id: Uuid,
    #[schema(schema_with = tenantry_projections::queries::schema::isolation)]
    isolation: String,
    #[schema(schema_with = tenantry_projections::queries::schema::status)]
    status: String,
    postgres: PostgresConnection,
    redis: RedisConnection,
    queues: Vec<QueueConnection>,
}

impl ConnectionAnswer {
    fn new(
        tenant: TenantId,
        isolation: IsolationModel,
        status: TenantStatus,
        details: ConnectionDetails,
    ) -> Self {
        let pg = details.postgres;
        Self {
            tenant_id: tenant.as_uuid(),
            isolation: isolation.to_string(),
            status: status.to_string(),
            postgres: PostgresConnection {
                host: pg.host,
                port: pg.port,
                database: pg.database,
                schema: pg.schema,
                user: pg.user,
                tenant_setting: pg
                    .tenant_setting
                    .map(|(name, value)| TenantSetting { name, value }),
            },
            redis: RedisConnection {
                url: details.redis.url,
                user: details.redis.user,
                namespace: details.redis.namespace,
            },
            queues: details
                .queues
                .into_iter()
                .map(QueueConnection::from)
                .collect(),
        }
    }
}

/// The passwords of the connection's users.
#[derive(Serialize, ToSchema)]
pub(crate) struct Passwords {
    /// Of `postgres.user`.
    postgres: String,
    /// Of `redis.user`.
    redis: String,
}

/// `POST …/connection/reveal`: the connection and its passwords.
#[derive(Serialize, ToSchema)]
pub(crate) struct RevealAnswer {
    #[serde(flatten)]
    connection: ConnectionAnswer,
    passwords: Passwords,
    /// The global position of the `TenantCredentialsRevealed` event recording this reveal.
    position: u64,
}

/// What an `Idempotency-Key` replay of a reveal answers: the passwords are not kept.
#[derive(Serialize)]
struct RevealReplay {
    tenant_id: Uuid,
    passwords: Option<()>,
    position: u64,
    message: &'static str,
}

/// A tenant whose connection is asked for: not one that is being deleted or is gone.
fn refuse_gone(status: TenantStatus, id: &str) -> Result<(), ApiError> {
    match status {
        TenantStatus::Deleting | TenantStatus::Deleted => Err(ApiError::Conflict {
            code: "invalid_state",
            message: format!("tenant {id} is {status}: it has no connection any more"),
        }),
        _ => Ok(()),
    }
}

/// The tenant `id` names (its id or slug) as the read models show it once they have caught up
/// with the last event stored before this request (not the head, which may lag behind it): a
/// tenant just created may not be in them yet (503 `not_caught_up` past
/// `TENANTRY_READ_MODEL_WAIT_MS`).
///
/// For a service token held to a tenant, any other tenant is 403, an unknown one too (so that it
/// cannot probe which tenants exist).
async fn find_now(state: &AppState, id: &str, caller: &Principal) -> Result<TenantView, ApiError> {
    let last = state
        .store
        .last_stored_position()
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let found = super::queries::find(state, id, Some(last)).await;
    match (found, caller.held_to()) {
        (Ok(view), _) => {
            caller.may_reach(view.id)?;
            Ok(view)
        }
        (Err(ApiError::NotFound(_)), Some(_)) => Err(ApiError::Forbidden(
            "this service token is held to another tenant".into(),
        )),
        (Err(e), _) => Err(e),
    }
}

/// The tenant's connection details — host, port, database, schema, user, Redis URL and
/// namespace, queues — without any password.
///
/// The names are the tenant's whatever its status; they work once it is provisioned (`active`).
///
/// Staff, or a service token with `credentials:read` (of this tenant, if it is held to one).
#[utoipa::path(get, path = "/platform/api/tenants/{id}/connection", tag = "tenants", operation_id = "getTenantConnection",
    params(("id" = String, Path, description = "the tenant's id, or the slug of a live tenant")),
    responses((status = 200, body = ConnectionAnswer, description = "the connection details, no secret in them"),
        (status = 401, body = ErrorBody, description = "no valid staff token or `credentials:read` service token"),
        (status = 403, body = ErrorBody, description = "`forbidden`: a service token without `credentials:read`, or held to another tenant"),
        (status = 404, body = ErrorBody, description = "no such tenant"),
        (status = 409, body = ErrorBody, description = "`invalid_state`: the tenant is deleting or deleted")),
    security(("bearer" = [])))]
pub(crate) async fn connection(
    State(state): State<AppState>,
    StaffOr(caller, ..): StaffOr<CredentialsRead>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ConnectionAnswer>, ApiError> {
    let view = find_now(&state, &id, &caller).await?;
    refuse_gone(view.status, &id)?;
    let tenant = TenantId::from_uuid(view.id);
    let details = state
        .access
        .connection(tenant, view.isolation, &view.credentials.rotations());
    Ok(Json(ConnectionAnswer::new(
        tenant,
        view.isolation,
        view.status,
        details,
    )))
}

/// The tenant's connection details with the passwords, for an active or suspended tenant.
///
/// Audited: a `TenantCredentialsRevealed` event (who, when, from which address; no secret) is
/// recorded on the tenant before the passwords are read. A replay with the same
/// `Idempotency-Key` answers without the passwords (they are not kept) and records nothing.
///
/// Staff, or a service token with `credentials:read` (of this tenant, if it is held to one):
/// its reveal is recorded as by `service:{token id}`. `Idempotency-Key` is a staff member's
/// only; a service's reveal with one is simply run again.
#[utoipa::path(post, path = "/platform/api/tenants/{id}/connection/reveal", tag = "tenants", operation_id = "revealTenantCredentials",
    params(("id" = String, Path, description = "the tenant's id, or the slug of a live tenant"), IdempotencyKey),
    responses((status = 200, body = RevealAnswer, description = "the connection and its passwords (a replay: `passwords` null)"),
        (status = 401, body = ErrorBody, description = "no valid staff token or `credentials:read` service token"),
        (status = 403, body = ErrorBody, description = "`forbidden`: a service token without `credentials:read`, or held to another tenant"),
        (status = 404, body = ErrorBody, description = "no such tenant"),
        (status = 409, body = ErrorBody, description = "`invalid_state`: not active or suspended (not provisioned yet, deleting, deleted); `credentials_missing`: a stored password is gone"),
        (status = 422, body = ErrorBody, description = "`idempotency_key_reused`")),
    security(("bearer" = [])))]
pub(crate) async fn reveal(
    State(state): State<AppState>,
    StaffOr(caller, ..): StaffOr<CredentialsRead>,
    ApiPath(id): ApiPath<String>,
    meta: RequestMeta,
) -> Result<Response, ApiError> {
    // As for `connection`: a tenant created a moment ago is waited for (its slug may not be in
    // the directory yet, nor its isolation in the panel).
    let view = find_now(&state, &id, &caller).await?;
    // `by` is `staff:{email}` or `service:{token id}`.
    let context = caller::context(caller.actor(), meta);
    let tenant = TenantId::from_uuid(view.id);
    let outcome = state
        .tenants
        .record_credentials_revealed(tenant, &context)
        .await?;
    let suspended = outcome.status == TenantStatus::Suspended;
    let credentials = state
        .access
        .reveal(
            tenant,
            view.isolation,
            suspended,
            &view.credentials.rotations(),
        )
        .await
        .map_err(|e| match e {
            RevealError::Missing { .. } => ApiError::Conflict {
                code: "credentials_missing",
                message: e.to_string(),
            },
            RevealError::Failed(e) => ApiError::Internal(e.into()),
        })?;
    let details = state
        .access
        .connection(tenant, view.isolation, &view.credentials.rotations());
    let answer = RevealAnswer {
        connection: ConnectionAnswer::new(tenant, view.isolation, outcome.status, details),
        passwords: Passwords {
            postgres: credentials.postgres_password.expose().to_owned(),
            redis: credentials.redis_password.expose().to_owned(),
        },
        position: outcome.position,
    };
    let replay = RevealReplay {
        tenant_id: tenant.as_uuid(),
        passwords: None,
        position: outcome.position,
        message: "the passwords are not kept for replays: reveal again without this Idempotency-Key",
    };
    ReplayBody::attach(Json(answer).into_response(), &replay)
}
