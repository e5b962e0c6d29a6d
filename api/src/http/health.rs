//! `/healthz`: the process is up. `/readyz`: whether this process can serve, and how its
//! dependencies look from inside it (README: "Outages: 503 `unavailable`, `/readyz`, `/metrics`"):
//!
//! - `database`: a connection from the service's own pool answers and every migration this
//!   binary knows is applied; when no pooled connection comes, a direct connection attempt says
//!   why (refused, "too many clients", …).
//! - `pool`: the pool's connections in use, idle, open and at most; `saturated` when every
//!   connection is open and in use (requests then wait for one, and answer 503 after
//!   `TENANTRY_DATABASE_ACQUIRE_TIMEOUT_MS`).
//! - `redis`: a `PING` through the service's shared Redis connection, not a fresh one.
//! - `projectors`: the projectors that are stalled: stopped on a failing event, or with events
//!   waiting and no batch committed for `TENANTRY_PROJECTOR_STALLED_SECS` (no process leads
//!   them, or their leader is frozen). The read models are then out of date, though answering.
//! - `drives`: the saga drives at work longer than `TENANTRY_HUNG_DRIVE_SECS`, from the read
//!   models (`tenantry_projections::queries::drives`), so every process reports the same ones.
//!
//! 200 `ready`, or 200 `degraded` when the pool is saturated but the probe still got a
//! connection, or a projector is stalled, or a drive is hung; 503 `not_ready` (in the error shape, `code` `not_ready`, `message` naming what is
//! not ready) when the database or Redis does not answer, the migrations are missing, or no
//! connection became free in time. The per-dependency objects are in the body either way.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sqlx::{Connection, PgPool};

use tenantry_projections::queries::drives::{self, HungDrive, HungDrives};

use super::AppState;
use super::error::ErrorDetail;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// `{"status": "ok"}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
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

/// The body of `/readyz`, 200 or 503.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Readiness {
    /// `ready`, `degraded` (200: the pool is saturated, a projector is stalled or a saga drive
    /// is hung) or `not_ready` (503).
    #[schema(value_type = String)]
    status: &'static str,
    database: Check,
    pool: PoolStats,
    redis: Check,
    projectors: ProjectorsCheck,
    drives: Drives,
    /// On 503 only: `not_ready`, the message naming each dependency that is not `ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorDetail>,
}

/// The pool's connections, as `/readyz` and `/metrics` report them.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub(crate) struct PoolStats {
    /// Open and lent out to a query or transaction.
    pub(crate) in_use: u32,
    /// Open and waiting in the pool.
    pub(crate) idle: u32,
    /// Open (in use + idle).
    pub(crate) size: u32,
    /// `TENANTRY_DATABASE_MAX_CONNECTIONS`.
    pub(crate) max: u32,
    /// Every connection is open and in use: the next request waits for one.
    pub(crate) saturated: bool,
}

impl PoolStats {
    pub(crate) fn of(pool: &PgPool) -> Self {
        let size = pool.size();
        let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(size);
        let max = pool.options().get_max_connections();
        Self {
            in_use: size - idle,
            idle,
            size,
            max,
            saturated: size >= max && idle == 0,
        }
    }
}

/// Whether the read models move.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ProjectorsCheck {
    /// `ok`, `stalled` (at least one projector is), or `unknown` (their checkpoints could not be
    /// read in time).
    #[schema(value_type = String)]
    status: &'static str,
    /// The stalled projectors' names.
    stalled: Vec<String>,
}

/// The saga drives at work for longer than `TENANTRY_HUNG_DRIVE_SECS` without recording anything
/// (a step that does not end, or a tenant no saga drives), as the read models show them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Drives {
    /// `ok`, `hung` (some are: the readiness is `degraded`) or `unknown` (the read models could
    /// not be read; `error` says why).
    #[schema(value_type = String)]
    status: &'static str,
    /// How many are hung.
    hung: u64,
    /// How long the oldest hung one has been at work, in seconds (0 when none is).
    oldest_seconds: f64,
    /// `TENANTRY_HUNG_DRIVE_SECS`.
    bound_seconds: u64,
    /// The oldest hung ones (at most 20): tenant, step (`rollback` / `deletion` for releases),
    /// since when and for how long.
    tenants: Vec<HungDrive>,
    /// When `unknown`: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// One dependency's state.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Check {
    /// `ok`, `unreachable`, `busy` (no pooled connection came while the pool was saturated),
    /// `timeout` or `not_migrated`.
    #[schema(value_type = String)]
    status: &'static str,
    /// How long the check took.
    latency_ms: u64,
    /// Why it is not `ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Check {
    fn ok(started: Instant) -> Self {
        Self {
            status: "ok",
            latency_ms: elapsed_ms(started),
            error: None,
        }
    }

    fn failed(status: &'static str, started: Instant, error: impl Into<String>) -> Self {
        Self {
            status,
            latency_ms: elapsed_ms(started),
            error: Some(error.into()),
        }
    }

    fn is_ok(&self) -> bool {
        self.status == "ok"
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Whether this process can serve: the database (and its migrations), the pool, Redis.
#[utoipa::path(get, path = "/readyz", tag = "operations", operation_id = "getReadiness",
    responses((status = 200, body = Readiness, description = "`ready`, or `degraded` when the pool is saturated or a saga drive is hung"),
        (status = 503, body = Readiness, description = "`not_ready`: `error.message` names each dependency that is not `ok`")))]
pub(super) async fn readyz(State(state): State<AppState>) -> Response {
    // Before the probe takes a connection of its own.
    let pool = PoolStats::of(&state.pool);
    let (database, redis, projectors, drives) = tokio::join!(
        check_database(&state.pool, pool.saturated),
        check_redis(&state),
        check_projectors(&state),
        check_drives(&state)
    );
    let problems: Vec<String> = [("database", &database), ("redis", &redis)]
        .into_iter()
        .filter(|(_, check)| !check.is_ok())
        .map(|(name, check)| format!("{name}: {}", check.error.as_deref().unwrap_or(check.status)))
        .collect();
    let (code, status, error) = if !problems.is_empty() {
        let error = ErrorDetail::new("not_ready", problems.join("; "));
        (StatusCode::SERVICE_UNAVAILABLE, "not_ready", Some(error))
    } else if pool.saturated || projectors.status == "stalled" || drives.hung > 0 {
        (StatusCode::OK, "degraded", None)
    } else {
        (StatusCode::OK, "ready", None)
    };
    let body = Readiness {
        status,
        database,
        pool,
        redis,
        projectors,
        drives,
        error,
    };
    (code, Json(body)).into_response()
}

async fn check_database(pool: &PgPool, saturated: bool) -> Check {
    let started = Instant::now();
    let probe = async {
        let mut conn = pool.acquire().await?;
        tenantry_infrastructure::postgres::migrations_applied(&mut *conn).await
    };
    match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(Ok(true)) => Check::ok(started),
        Ok(Ok(false)) => Check::failed(
            "not_migrated",
            started,
            "migrations are not applied (run `tenantry migrate`)",
        ),
        Ok(Err(error)) if saturated && is_pool_timeout(&error) => Check::failed(
            "busy",
            started,
            "every pooled connection is in use and none became free in time",
        ),
        // No pooled connection came although the pool has room: connecting fails. Say why.
        Ok(Err(error)) if is_pool_timeout(&error) => {
            Check::failed("unreachable", started, why_unreachable(pool).await)
        }
        Ok(Err(error)) => Check::failed("unreachable", started, format!("{error:#}")),
        Err(_) => Check::failed("timeout", started, "no answer within 2 s"),
    }
}

fn is_pool_timeout(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        matches!(
            e.downcast_ref::<sqlx::Error>(),
            Some(sqlx::Error::PoolTimedOut)
        )
    })
}

/// What a direct connection attempt says (the pool only says it timed out).
async fn why_unreachable(pool: &PgPool) -> String {
    let options = pool.connect_options();
    let attempt = sqlx::PgConnection::connect_with(&options);
    match tokio::time::timeout(Duration::from_secs(1), attempt).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            "no pooled connection became free in time".into()
        }
        Ok(Err(error)) => error.to_string(),
        Err(_) => "connecting takes longer than 1 s".into(),
    }
}

async fn check_projectors(state: &AppState) -> ProjectorsCheck {
    let names = tenantry_projections::projectors::ALL;
    let statuses = tenantry_projections::status(&state.pool, &*state.store, names);
    match tokio::time::timeout(CHECK_TIMEOUT, statuses).await {
        Ok(Ok(statuses)) => {
            let stalled: Vec<String> = statuses
                .into_iter()
                .filter(|s| s.label(state.projector_stalled_after) == "stalled")
                .map(|s| s.name)
                .collect();
            ProjectorsCheck {
                status: if stalled.is_empty() { "ok" } else { "stalled" },
                stalled,
            }
        }
        // The database check says why.
        Ok(Err(_)) | Err(_) => ProjectorsCheck {
            status: "unknown",
            stalled: Vec::new(),
        },
    }
}

async fn check_drives(state: &AppState) -> Drives {
    let bound_seconds = state.hung_drive_after.as_secs();
    let read = drives::hung_drives(&state.pool, state.hung_drive_after);
    let (found, error) = match tokio::time::timeout(CHECK_TIMEOUT, read).await {
        Ok(Ok(found)) => (found, None),
        Ok(Err(error)) => (HungDrives::default(), Some(error.to_string())),
        Err(_) => (
            HungDrives::default(),
            Some("no answer within 2 s".to_owned()),
        ),
    };
    Drives {
        status: match (&error, found.hung) {
            (Some(_), _) => "unknown",
            (None, 0) => "ok",
            (None, _) => "hung",
        },
        hung: found.hung,
        oldest_seconds: found.oldest_seconds,
        bound_seconds,
        tenants: found.drives,
        error,
    }
}

async fn check_redis(state: &AppState) -> Check {
    let started = Instant::now();
    match tokio::time::timeout(CHECK_TIMEOUT, state.redis.ping()).await {
        Ok(Ok(())) => Check::ok(started),
        Ok(Err(error)) => Check::failed("unreachable", started, error.to_string()),
        Err(_) => Check::failed("timeout", started, "no answer within 2 s"),
    }
}
