//! `/openapi.json`: the HTTP contract as OpenAPI 3, generated from the handlers' and types'
//! annotations (utoipa), so it cannot drift from the code.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::auth::handlers as auth;
use super::error::{ErrorBody, ErrorDetail};
use super::tenants::{commands, queries};
use super::{audit, onboarding};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tenantry control plane",
        description = "Event-sourced control plane for multi-tenant SaaS. See shared/API.md."
    ),
    paths(
        auth::login,
        auth::logout,
        auth::me,
        commands::create,
        queries::list,
        queries::get,
        queries::events,
        audit::list,
        onboarding::provision,
        commands::update,
        commands::provision,
        commands::suspend,
        commands::reactivate,
        commands::delete,
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "staff authentication"),
        (name = "tenants", description = "tenant lifecycle commands and queries"),
        (name = "audit", description = "the audit log: every event, flattened"),
        (name = "onboarding", description = "one-shot tenant creation for signup flows")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

pub(super) async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
