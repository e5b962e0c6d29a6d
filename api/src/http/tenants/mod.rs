//! `/platform/api/tenants`: the control plane's tenant endpoints (`shared/API.md`). Commands go
//! through the application's [`TenantService`](tenantry_application::tenants::TenantService);
//! reads come from the read models.

pub(crate) mod caller;
pub(crate) mod commands;
pub(crate) mod credentials;
mod errors;
pub(crate) mod queries;
pub(crate) mod rotation;

use axum::Router;
use axum::routing::{get, post};

use super::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", post(commands::create).get(queries::list))
        .route(
            "/{id}",
            get(queries::get)
                .patch(commands::update)
                .delete(commands::delete),
        )
        .route("/{id}/events", get(queries::events))
        .route("/{id}/provision", post(commands::provision))
        .route("/{id}/suspend", post(commands::suspend))
        .route("/{id}/reactivate", post(commands::reactivate))
        .route("/{id}/connection", get(credentials::connection))
        .route("/{id}/connection/reveal", post(credentials::reveal))
        .route("/{id}/credentials/rotate", post(rotation::rotate))
}
