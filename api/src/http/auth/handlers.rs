//! `POST /platform/api/auth/login`, `POST /platform/api/auth/logout` and
//! `GET /platform/api/auth/me`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::StaffUser;
use crate::http::error::ErrorBody;
use crate::http::extract::{ApiJson, RequestMeta};
use crate::http::{ApiError, AppState};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginRequest {
    email: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct TokenResponse {
    /// A JWT: send it as `Authorization: Bearer …`.
    access_token: String,
    /// Always `Bearer`.
    #[schema(value_type = String, pattern = "^Bearer$")]
    token_type: &'static str,
    expires_at: DateTime<Utc>,
}

/// Exchanges a staff member's email and password for an access token.
///
/// Wrong credentials, of whatever kind, get one and the same 401; too many attempts get 429 with
/// `Retry-After`.
#[utoipa::path(post, path = "/platform/api/auth/login", tag = "auth", operation_id = "login", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse, description = "a bearer token for `Authorization`"),
        (status = 401, body = ErrorBody, description = "wrong credentials (no hint which part)"),
        (status = 429, body = ErrorBody, description = "too many attempts; see Retry-After",
            headers(("Retry-After" = u64, description = "seconds to wait")))))]
pub(crate) async fn login(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let issued = state
        .auth
        .login(&request.email, &request.password, meta.ip)
        .await?;
    Ok(Json(TokenResponse {
        access_token: issued.token,
        token_type: "Bearer",
        expires_at: issued.expires_at,
    }))
}

/// Revokes the presented token: it is refused from now on, though it has not expired.
#[utoipa::path(post, path = "/platform/api/auth/logout", tag = "auth", operation_id = "logout",
    responses((status = 204, description = "the token is revoked")),
    security(("bearer" = [])))]
pub(crate) async fn logout(
    State(state): State<AppState>,
    user: StaffUser,
) -> Result<StatusCode, ApiError> {
    state.auth.revoke(&user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Me {
    id: Uuid,
    email: String,
}

/// Who the token belongs to.
#[utoipa::path(get, path = "/platform/api/auth/me", tag = "auth", operation_id = "getMe",
    responses((status = 200, body = Me, description = "the staff member")),
    security(("bearer" = [])))]
pub(crate) async fn me(user: StaffUser) -> Json<Me> {
    Json(Me {
        id: user.id,
        email: user.email,
    })
}
