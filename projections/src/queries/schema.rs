//! The OpenAPI schemas of the domain's enums the views carry, listed from the domain's own
//! variants (`ALL`), so that the document names exactly the values the API can answer with. Used
//! by the views' `ToSchema` derives and by the API for its query parameters.

use tenantry_domain::{IsolationModel, TenantStatus};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Object, RefOr, Schema};

fn one_of(values: impl IntoIterator<Item = &'static str>, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .description(Some(description))
        .build()
}

/// A tenant's lifecycle status.
pub fn status() -> RefOr<Schema> {
    RefOr::T(Schema::Object(one_of(
        TenantStatus::ALL.map(TenantStatus::as_str),
        "the tenant's lifecycle status",
    )))
}

/// How a tenant's data is kept apart.
pub fn isolation() -> RefOr<Schema> {
    RefOr::T(Schema::Object(one_of(
        IsolationModel::ALL.map(IsolationModel::as_str),
        "how the tenant's data is kept apart from other tenants'",
    )))
}
