//! [`StaffUser`]: the extractor that makes a handler staff-only. A handler that takes a
//! `StaffUser` argument runs only for a request with a valid `Authorization: Bearer` token of a
//! staff account; any other request gets 401 before the handler runs.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use tenantry_application::event_store::Actor;
use uuid::Uuid;

use crate::http::{ApiError, AppState};

/// The authenticated staff member behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffUser {
    pub id: Uuid,
    pub email: String,
    /// The presented token's `jti` (what logout revokes) and expiry.
    pub(super) token_id: Uuid,
    pub(super) token_expires_at: DateTime<Utc>,
}

impl StaffUser {
    /// Who to record in the metadata of the events this request leads to.
    pub fn actor(&self) -> Actor {
        Actor::Staff {
            id: self.id,
            email: self.email.clone(),
        }
    }
}

impl FromRequestParts<AppState> for StaffUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Several extractors of one request may ask; check the token once.
        if let Some(user) = parts.extensions.get::<StaffUser>() {
            return Ok(user.clone());
        }
        let token = bearer_token(parts)?;
        // A service token is refused here like any other that is not a staff token: only the
        // routes of its scopes take one (`StaffOr`).
        let user = state.auth.authenticate(token).await?;
        parts.extensions.insert(user.clone());
        Ok(user)
    }
}

/// The token of `Authorization: Bearer <token>` (the scheme is case-insensitive).
pub(super) fn bearer_token(parts: &Parts) -> Result<&str, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::Unauthorized("missing bearer token".into()));
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("malformed authorization header".into()))?;
    // `Bearer ` arrives as `Bearer`: HTTP drops trailing whitespace from header values.
    let value = value.trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthorized(
            "authorization must be `Bearer <access_token>`".into(),
        ));
    }
    match token.trim() {
        "" => Err(ApiError::Unauthorized("missing bearer token".into())),
        token => Ok(token),
    }
}
