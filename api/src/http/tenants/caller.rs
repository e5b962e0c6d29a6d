//! Who is calling a tenant endpoint, as the command's context: the authenticated staff member
//! (or, on the routes that take one, the service with its token), the request's origin and its
//! correlation.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tenantry_application::event_store::Actor;
use tenantry_application::tenants::CommandContext;

use crate::http::auth::StaffUser;
use crate::http::extract::RequestMeta;
use crate::http::{ApiError, AppState};

pub(crate) struct Caller(pub(crate) CommandContext);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let staff = StaffUser::from_request_parts(parts, state).await?;
        let meta = RequestMeta::from_request_parts(parts, state).await?;
        Ok(Self(context(staff.actor(), meta)))
    }
}

/// The context of a command `actor` asks for in the request `meta` describes.
pub(crate) fn context(actor: Actor, meta: RequestMeta) -> CommandContext {
    CommandContext {
        actor,
        correlation_id: meta.correlation_id,
        causation_id: Some(meta.request_id),
        ip: meta.ip.map(|ip| ip.to_string()),
        user_agent: meta.user_agent,
    }
}
