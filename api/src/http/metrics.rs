//! `/metrics`: Prometheus text, rendered by `metrics-exporter-prometheus` from what every part
//! records through the `metrics` facade (HTTP requests here, events appended in the event store,
//! projector lag in the projections), plus gauges read at scrape time: tenants by status (every
//! status, 0 when no tenant has it), the control-plane pool's connections and the hung saga
//! drives (`tenantry_saga_hung_drives`, `tenantry_saga_hung_drive_oldest_seconds`).

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use super::AppState;
use super::health::PoolStats;

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use (one per process, shared by every
/// [`crate::Application`] in it, as in tests).
pub(crate) fn recorder() -> PrometheusHandle {
    RECORDER
        .get_or_init(|| {
            PrometheusBuilder::new()
                .install_recorder()
                .expect("no other metrics recorder is installed")
        })
        .clone()
}

/// Counts requests by route, method and status, and times them.
pub(super) async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("tenantry_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("tenantry_http_request_duration_seconds", "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Prometheus text: HTTP requests by route, method and status, events appended, projector lag,
/// tenants by status.
#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "getMetrics",
    responses((status = 200, content_type = "text/plain", body = String, description = "the Prometheus text exposition format (0.0.4)")))]
pub(super) async fn render(State(state): State<AppState>) -> Response {
    record_pool(&state);
    // Tenants by status, from the tenant panel (absent until its projector has run). Every
    // status is set each time, so a status no tenant has any more reads 0, not its last count.
    if let Ok(counts) = tenantry_projections::queries::tenants::count_by_status(&state.pool).await {
        for (status, count) in counts {
            metrics::gauge!("tenantry_tenants", "status" => status).set(count as f64);
        }
    }
    // Saga drives at work longer than `TENANTRY_HUNG_DRIVE_SECS`, from the read models (the same
    // in every process).
    if let Ok(hung) =
        tenantry_projections::queries::drives::hung_drives(&state.pool, state.hung_drive_after)
            .await
    {
        metrics::gauge!("tenantry_saga_hung_drives").set(hung.hung as f64);
        metrics::gauge!("tenantry_saga_hung_drive_oldest_seconds").set(hung.oldest_seconds);
    }
    (
        [("content-type", "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// The control-plane pool's connections (see `/readyz`).
fn record_pool(state: &AppState) {
    let pool = PoolStats::of(&state.pool);
    metrics::gauge!("tenantry_db_pool_connections", "state" => "in_use")
        .set(f64::from(pool.in_use));
    metrics::gauge!("tenantry_db_pool_connections", "state" => "idle").set(f64::from(pool.idle));
    metrics::gauge!("tenantry_db_pool_max_connections").set(f64::from(pool.max));
    metrics::gauge!("tenantry_db_pool_saturated").set(if pool.saturated { 1.0 } else { 0.0 });
}
