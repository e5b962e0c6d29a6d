//! [`StaffOr`]: the extractor of the few routes that take a service token besides a staff token.
//! `StaffOr<CredentialsRead>` lets in a staff member or a service token with the
//! `credentials:read` scope; `StaffOr<DirectoryRead>` the same with `directory:read`.
//!
//! A bearer token that starts with `tsk_` is a service token (`tenantry service-token create`);
//! anything else goes to the staff check. Unknown or revoked service tokens → 401; a valid one
//! without the route's scope → 403 `forbidden`. Every other route takes a [`StaffUser`] only, so
//! a service token there is 401 like any token that is not a staff one. The token is never
//! logged: only its id.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tenantry_application::event_store::Actor;
use tenantry_infrastructure::service_tokens::{Scope, ServiceToken, TOKEN_PREFIX};
use uuid::Uuid;

use super::StaffUser;
use super::staff_user::bearer_token;
use crate::http::{ApiError, AppState};

/// Who is calling: a staff member, or a service with a token.
#[derive(Debug, Clone)]
pub(crate) enum Principal {
    Staff(StaffUser),
    Service(ServiceToken),
}

impl Principal {
    /// Who to record in the metadata of the events this request leads to.
    pub(crate) fn actor(&self) -> Actor {
        match self {
            Self::Staff(staff) => staff.actor(),
            Self::Service(token) => Actor::Service {
                id: token.id,
                name: token.name.clone(),
            },
        }
    }

    /// Whether the caller may reach tenant `tenant`'s credentials: staff always; a service token
    /// held to a tenant only its own (else 403).
    pub(crate) fn may_reach(&self, tenant: Uuid) -> Result<(), ApiError> {
        match self {
            Self::Service(ServiceToken {
                tenant_id: Some(own),
                ..
            }) if *own != tenant => Err(ApiError::Forbidden(
                "this service token is held to another tenant".into(),
            )),
            _ => Ok(()),
        }
    }

    /// The tenant a service token is held to, if any.
    pub(crate) fn held_to(&self) -> Option<Uuid> {
        match self {
            Self::Service(token) => token.tenant_id,
            Self::Staff(_) => None,
        }
    }
}

/// The scope a route asks of a service token.
pub(crate) trait RouteScope {
    const SCOPE: Scope;
}

/// `credentials:read`: a tenant's connection and passwords.
pub(crate) struct CredentialsRead;

impl RouteScope for CredentialsRead {
    const SCOPE: Scope = Scope::CredentialsRead;
}

/// `directory:read`: `GET /platform/api/resolve`.
pub(crate) struct DirectoryRead;

impl RouteScope for DirectoryRead {
    const SCOPE: Scope = Scope::DirectoryRead;
}

/// A staff member, or a service token with the scope `S`.
pub(crate) struct StaffOr<S>(pub(crate) Principal, pub(crate) PhantomData<S>);

impl<S: RouteScope + Send + Sync> FromRequestParts<AppState> for StaffOr<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(parts)?;
        let principal = if token.starts_with(TOKEN_PREFIX) {
            let service = state.auth.authenticate_service(token).await?;
            if !service.has(S::SCOPE) {
                return Err(ApiError::Forbidden(format!(
                    "service token {} lacks the scope {}",
                    service.id,
                    S::SCOPE
                )));
            }
            Principal::Service(service)
        } else {
            Principal::Staff(StaffUser::from_request_parts(parts, state).await?)
        };
        Ok(Self(principal, PhantomData))
    }
}
