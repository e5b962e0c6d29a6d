//! The HTTP surface: the router, the shared state handlers see, and the one error type.

mod audit;
pub mod auth;
mod consistency;
pub(crate) mod directory;
pub(crate) mod error;
pub(crate) mod extract;
pub(crate) mod health;
mod idempotency;
pub(crate) mod metrics;
pub(crate) mod migrations;
mod onboarding;
pub mod openapi;
mod paging;
mod request_id;
pub(crate) mod tenants;

pub use error::ApiError;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use sqlx::PgPool;
use tenantry_application::event_store::EventStore;
use tenantry_application::invitations::InvitationService;
use tenantry_application::tenants::TenantService;
use tenantry_infrastructure::idempotency::PgIdempotencyStore;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// The shared Redis connection (`/readyz` pings through it).
    pub redis: tenantry_infrastructure::shared_redis::SharedRedis,
    pub store: Arc<dyn EventStore>,
    pub tenants: TenantService,
    pub idempotency: PgIdempotencyStore,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Staff authentication: token keys, login rate limits, the control-plane hosts.
    pub auth: Arc<auth::Auth>,
    pub invitations: InvitationService,
    /// `TENANTRY_BASE_DOMAIN`: tenants live on `{slug}.{base_domain}`.
    pub base_domain: String,
    /// `TENANTRY_READ_MODEL_WAIT_MS`: how long `min_position` waits before 503.
    pub read_model_wait: std::time::Duration,
    /// `TENANTRY_PROJECTOR_STALLED_SECS`: `/readyz` reports a projector with events waiting and
    /// no batch committed for this long as stalled.
    pub projector_stalled_after: std::time::Duration,
    /// `/openapi.json`, for the configured plans and reserved subdomains ([`openapi::document`]).
    pub openapi: Arc<serde_json::Value>,
    /// Tenants' connection details and passwords (`…/connection`, `…/connection/reveal`).
    pub access: tenantry_infrastructure::provisioning::TenantAccess,
    /// `TENANTRY_HUNG_DRIVE_SECS`: a saga drive at work longer than this is reported as hung.
    pub hung_drive_after: std::time::Duration,
    /// The newest version of the configured tenant migrations (`GET /platform/api/migrations`).
    pub tenant_migrations_target: i64,
}

/// The largest request body the API reads; larger ones get 413.
const MAX_REQUEST_BODY: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    // `Idempotency-Key` on the commands alone, inside the host check (not on the login: its
    // answer is a token, and there is no caller yet to scope a key to). The one-shot
    // provisioning route is a control-plane route too: behind the same host check.
    let idempotent = || axum::middleware::from_fn_with_state(state.clone(), idempotency::layer);
    let router = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::render))
        .route("/openapi.json", get(openapi::serve))
        // A TLS proxy's on-demand "ask" hook: no authentication, no control-plane host check
        // (the proxy calls it on an internal address; see `directory`).
        .route("/internal/tls/ask", get(directory::ask))
        .route(
            "/api/tenants/provision",
            auth::control_plane_only(
                &state,
                post(onboarding::provision).route_layer(idempotent()),
            ),
        )
        .merge(auth::nest_platform(
            &state,
            Router::new()
                .merge(auth::routes())
                .nest("/tenants", tenants::routes().route_layer(idempotent()))
                .route("/audit", get(audit::list))
                .route("/resolve", get(directory::resolve))
                .route("/migrations", get(migrations::progress)),
        ))
        // The admin panel's pages at `/`, on the control-plane hosts (README "Admin panel").
        .merge(auth::control_plane_routes(&state, crate::panel::routes()))
        // Unknown routes and methods answer in the error shape too (API.md), not with an empty
        // body: set after every route, so that they cover all of them.
        .fallback(no_route)
        .method_not_allowed_fallback(no_method)
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BODY))
        // A malformed, doubled or self-contradicting host is refused on every route.
        .layer(axum::middleware::from_fn(auth::check_well_formed))
        .layer(axum::middleware::from_fn(metrics::track));
    request_id::with_request_ids(router).with_state(state)
}

async fn no_route(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route {}", uri.path()))
}

async fn no_method(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("{} is not allowed on {}", method, uri.path()))
}
