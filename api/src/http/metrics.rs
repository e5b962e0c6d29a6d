//! `/metrics`: Prometheus text, rendered by `metrics-exporter-prometheus` from what every part
//! records through the `metrics` facade (HTTP requests here, events appended in the event store,
//! projector lag in the projections), plus gauges read at scrape time (tenants by status).

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use super::AppState;

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
    // Tenants by status, from the tenant panel (absent until its projector has run).
    let counts: Result<Vec<(String, i64)>, _> =
        sqlx::query_as("SELECT status, count(*) FROM read.tenant_panel GROUP BY status")
            .fetch_all(&state.pool)
            .await;
    if let Ok(counts) = counts {
        for (status, count) in counts {
            metrics::gauge!("tenantry_tenants", "status" => status).set(count as f64);
        }
    }
    (
        [("content-type", "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
