//! `/healthz`: the process is up. `/readyz`: the database and Redis answer and every migration this
//! binary knows is applied; otherwise 503 naming what is not ready.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ErrorBody;
use super::{ApiError, AppState};

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// `{"status": "ok"}` or `{"status": "ready"}`.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct HealthStatus {
    #[schema(value_type = String)]
    status: &'static str,
}

/// The process is up (no dependency is asked).
#[utoipa::path(get, path = "/healthz", tag = "operations", operation_id = "getHealth",
    responses((status = 200, body = HealthStatus, description = "`{\"status\": \"ok\"}`")))]
pub(super) async fn healthz() -> Json<HealthStatus> {
    Json(HealthStatus { status: "ok" })
}

/// The database and Redis answer, and every migration this binary knows is applied.
#[utoipa::path(get, path = "/readyz", tag = "operations", operation_id = "getReadiness",
    responses((status = 200, body = HealthStatus, description = "`{\"status\": \"ready\"}`"),
        (status = 503, body = ErrorBody, description = "`not_ready`; the message names what is not ready")))]
pub(super) async fn readyz(State(state): State<AppState>) -> Result<Json<HealthStatus>, ApiError> {
    let (database, redis) = tokio::join!(check_database(&state), check_redis(&state));
    let problems: Vec<String> = [("database", database), ("redis", redis)]
        .into_iter()
        .filter_map(|(name, result)| result.err().map(|e| format!("{name}: {e}")))
        .collect();
    if problems.is_empty() {
        Ok(Json(HealthStatus { status: "ready" }))
    } else {
        Err(ApiError::Unavailable {
            code: "not_ready",
            message: problems.join("; "),
            retry_after: None,
        })
    }
}

async fn check_database(state: &AppState) -> Result<(), String> {
    let check = tenantry_infrastructure::postgres::migrations_applied(&state.pool);
    match tokio::time::timeout(CHECK_TIMEOUT, check).await {
        Ok(Ok(true)) => Ok(()),
        Ok(Ok(false)) => Err("migrations are not applied (run `tenantry migrate`)".into()),
        Ok(Err(error)) => Err(format!("{error:#}")),
        Err(_) => Err("no answer within 2 s".into()),
    }
}

async fn check_redis(state: &AppState) -> Result<(), String> {
    let check = async {
        let mut conn = state.redis.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    match tokio::time::timeout(CHECK_TIMEOUT, check).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("no answer within 2 s".into()),
    }
}
