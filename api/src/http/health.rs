//! `/healthz`: the process is up. `/readyz`: the database and Redis answer and every migration this
//! binary knows is applied; otherwise 503 naming what is not ready.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::{ApiError, AppState};

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub(super) async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub(super) async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let (database, redis) = tokio::join!(check_database(&state), check_redis(&state));
    let problems: Vec<String> = [("database", database), ("redis", redis)]
        .into_iter()
        .filter_map(|(name, result)| result.err().map(|e| format!("{name}: {e}")))
        .collect();
    if problems.is_empty() {
        Ok(Json(json!({"status": "ready"})))
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
