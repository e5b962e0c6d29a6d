//! `GET /platform/api/migrations`: the fleet migration's progress — the target version (the
//! newest of the configured tenant migrations), how many tenants are at each version (as their
//! events recorded it, from the tenant panel read model), how many are behind, and the latest
//! fleet run's record (`tenantry migrations apply|resume|pause`), or null before the first.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tenantry_application::fleet::FleetRun;
use tenantry_projections::queries::fleet;
use utoipa::ToSchema;

use super::auth::StaffUser;
use super::{ApiError, AppState};

/// The fleet's progress.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FleetProgress {
    /// The newest version of the configured tenant migrations (built-in or
    /// `TENANTRY_TENANT_MIGRATIONS_DIR`).
    pub(crate) target_version: i64,
    /// Active and suspended tenants holding a schema or a database (the fleet migration's).
    pub(crate) tenants: i64,
    /// Tenants per applied version, oldest first.
    pub(crate) by_version: Vec<VersionCount>,
    /// Tenants at a version below the target.
    pub(crate) behind: i64,
    /// Tenants with no version recorded yet (provisioned before versions were recorded:
    /// `tenantry projections rebuild tenant_panel` fills them in).
    pub(crate) unknown: i64,
    /// The newest fleet run; null before the first.
    pub(crate) latest_run: Option<RunView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VersionCount {
    /// Null: not recorded yet (see `unknown`).
    pub(crate) version: Option<i64>,
    pub(crate) tenants: i64,
    /// At (or past) the target.
    pub(crate) up_to_date: bool,
}

/// A fleet run's record. A report for operators: each tenant's own migration history is the
/// truth of its version (a count may lag after a crash).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RunView {
    pub(crate) id: i64,
    /// `running`, `paused`, `completed` or `failed`.
    #[schema(pattern = "^(running|paused|completed|failed)$")]
    pub(crate) status: String,
    pub(crate) target_version: i64,
    /// Tenants behind when the run started (a resume adds those found behind since).
    pub(crate) total: i64,
    pub(crate) migrated: i64,
    /// Tenants that failed in the run's latest pass.
    pub(crate) failed: i64,
    /// canary, wave, max_parallel and pause_on_failure, as the last `apply`/`resume` gave them.
    #[schema(value_type = Object)]
    pub(crate) options: serde_json::Value,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) finished_at: Option<DateTime<Utc>>,
    /// The latest failure (PostgreSQL's message: it names objects, never a secret).
    pub(crate) last_error: Option<String>,
}

impl From<FleetRun> for RunView {
    fn from(run: FleetRun) -> Self {
        Self {
            id: run.id,
            status: run.status.as_str().to_owned(),
            target_version: run.target_version,
            total: run.total,
            migrated: run.migrated,
            failed: run.failed,
            options: run.options,
            started_at: run.started_at,
            updated_at: run.updated_at,
            finished_at: run.finished_at,
            last_error: run.last_error,
        }
    }
}

/// The fleet migration's progress: tenants per version, how many are behind, the latest run.
#[utoipa::path(get, path = "/platform/api/migrations", tag = "migrations", operation_id = "getFleetMigrations",
    responses((status = 200, body = FleetProgress, description = "the target version, tenants per version and the latest run")),
    security(("bearer" = [])))]
pub(crate) async fn progress(
    State(state): State<AppState>,
    _staff: StaffUser,
) -> Result<Json<FleetProgress>, ApiError> {
    fleet_progress(&state).await.map(Json)
}

/// The fleet's progress, for the API and the panel's migrations page.
pub(crate) async fn fleet_progress(state: &AppState) -> Result<FleetProgress, ApiError> {
    let target = state.tenant_migrations_target;
    let counts = fleet::tenants_by_version(&state.pool).await?;
    let latest = tenantry_infrastructure::fleet_runs::latest_run(&state.pool).await?;
    let by_version: Vec<VersionCount> = counts
        .into_iter()
        .map(|(version, tenants)| VersionCount {
            version,
            tenants,
            up_to_date: version.is_some_and(|v| v >= target),
        })
        .collect();
    let count = |keep: fn(&VersionCount, i64) -> bool| -> i64 {
        by_version
            .iter()
            .filter(|c| keep(c, target))
            .map(|c| c.tenants)
            .sum()
    };
    Ok(FleetProgress {
        target_version: target,
        tenants: count(|_, _| true),
        behind: count(|c, target| c.version.is_some_and(|v| v < target)),
        unknown: count(|c, _| c.version.is_none()),
        by_version,
        latest_run: latest.map(RunView::from),
    })
}
