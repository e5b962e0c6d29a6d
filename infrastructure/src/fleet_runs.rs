//! The fleet runs' records (`fleet_runs`) and the run lock, over PostgreSQL.
//!
//! The lock is a session advisory lock taken with `pg_try_advisory_lock` on a connection of its
//! own, opened for the run and held until the run's handle is dropped: a process that dies (or
//! whose run is dropped) closes the connection, PostgreSQL releases the lock, and `resume` may
//! take the run over; while it lives, a second `apply` is refused at once. The connection sets
//! no idle timeout: a run goes for as long as its tenants take, and a frozen process holding
//! the lock is the operator's to end.

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Connection, PgConnection, PgPool};
use tenantry_application::fleet::{
    FleetOptions, FleetRun, FleetRunError, FleetRuns, RunEnd, RunLock, RunStart, RunStatus,
};
use tokio::sync::Mutex;

/// The run lock's key (single-key advisory locks): "TENAFLEE".
const FLEET_RUN_LOCK_KEY: i64 = 0x5445_4e41_464c_4545;

/// How often, and how far apart, the run lock is tried before a run is refused.
const LOCK_TRIES: u32 = 5;
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(250);

const COLUMNS: &str = "id, target_version, options, status, total::bigint, migrated::bigint, \
                       failed::bigint, started_at, updated_at, finished_at, last_error";

type Row = (
    i64,
    i64,
    serde_json::Value,
    String,
    i64,
    i64,
    i64,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<String>,
);

fn run_of(row: Row) -> Result<FleetRun, FleetRunError> {
    let status = RunStatus::parse(&row.3)
        .ok_or_else(|| anyhow::anyhow!("fleet run {} has an unknown status {:?}", row.0, row.3))?;
    Ok(FleetRun {
        id: row.0,
        target_version: row.1,
        options: row.2,
        status,
        total: row.4,
        migrated: row.5,
        failed: row.6,
        started_at: row.7,
        updated_at: row.8,
        finished_at: row.9,
        last_error: row.10,
    })
}

/// [`FleetRuns`] over the control-plane database. Cheap to clone.
#[derive(Clone)]
pub struct PgFleetRuns {
    pool: PgPool,
}

impl PgFleetRuns {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// The newest run, whatever its status (for `GET /platform/api/migrations`).
pub async fn latest_run(pool: &PgPool) -> anyhow::Result<Option<FleetRun>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM fleet_runs ORDER BY id DESC LIMIT 1"
    ))
    .fetch_optional(pool)
    .await
    .context("failed to read the latest fleet run")?;
    row.map(run_of)
        .transpose()
        .map_err(|e| anyhow::anyhow!("{e}"))
}

#[async_trait]
impl FleetRuns for PgFleetRuns {
    async fn lock(&self) -> Result<Box<dyn RunLock>, FleetRunError> {
        let mut conn = PgConnection::connect_with(&self.pool.connect_options())
            .await
            .context("failed to connect for the fleet run lock")?;
        // A few tries over about a second: a process killed a moment ago holds the lock until
        // its server session has noticed the closed connection.
        let mut got = false;
        for attempt in 0..LOCK_TRIES {
            if attempt > 0 {
                tokio::time::sleep(LOCK_RETRY).await;
            }
            got = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(FLEET_RUN_LOCK_KEY)
                .fetch_one(&mut conn)
                .await
                .context("failed to try the fleet run lock")?;
            if got {
                break;
            }
        }
        if !got {
            let _ = conn.close().await;
            return Err(FleetRunError::AlreadyRunning);
        }
        Ok(Box::new(PgRunLock {
            pool: self.pool.clone(),
            _conn: Mutex::new(conn),
            id: std::sync::OnceLock::new(),
        }))
    }

    async fn pause(&self) -> Result<Option<FleetRun>, FleetRunError> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "UPDATE fleet_runs SET status = 'paused', updated_at = now() \
             WHERE status = 'running' RETURNING {COLUMNS}"
        ))
        .fetch_optional(&self.pool)
        .await
        .context("failed to pause the fleet run")?;
        row.map(run_of).transpose()
    }

    async fn latest(&self) -> Result<Option<FleetRun>, FleetRunError> {
        Ok(latest_run(&self.pool).await?)
    }
}

/// The run lock, held on `_conn` (kept only to hold it: dropping it releases the lock).
struct PgRunLock {
    pool: PgPool,
    _conn: Mutex<PgConnection>,
    /// The run it leads, once started.
    id: std::sync::OnceLock<i64>,
}

impl PgRunLock {
    fn id(&self) -> Result<i64, FleetRunError> {
        self.id
            .get()
            .copied()
            .ok_or_else(|| anyhow::anyhow!("the fleet run was not started").into())
    }
}

#[async_trait]
impl RunLock for PgRunLock {
    async fn start(
        &self,
        start: RunStart,
        target: i64,
        options: &FleetOptions,
        behind: usize,
    ) -> Result<i64, FleetRunError> {
        let behind = i32::try_from(behind).unwrap_or(i32::MAX);
        let mut tx = self
            .pool
            .begin()
            .await
            .context("failed to begin the fleet run")?;
        let latest: Option<(i64, String)> =
            sqlx::query_as("SELECT id, status FROM fleet_runs ORDER BY id DESC LIMIT 1 FOR UPDATE")
                .fetch_optional(&mut *tx)
                .await
                .context("failed to read the latest fleet run")?;
        let latest = latest.and_then(|(id, s)| RunStatus::parse(&s).map(|s| (id, s)));
        let take_over = match (start, latest) {
            (RunStart::Apply, Some((id, status @ (RunStatus::Running | RunStatus::Paused)))) => {
                return Err(FleetRunError::Open { id, status });
            }
            (RunStart::Resume, Some((id, status))) if status != RunStatus::Completed => Some(id),
            _ => None,
        };
        let id: i64 = match take_over {
            Some(id) => sqlx::query_scalar(
                "UPDATE fleet_runs SET status = 'running', target_version = $2, options = $3, \
                 total = migrated + $4, failed = 0, last_error = NULL, finished_at = NULL, \
                 updated_at = now() WHERE id = $1 RETURNING id",
            )
            .bind(id)
            .bind(target)
            .bind(options.to_json())
            .bind(behind)
            .fetch_one(&mut *tx)
            .await
            .context("failed to take over the fleet run")?,
            None => sqlx::query_scalar(
                "INSERT INTO fleet_runs (target_version, options, status, total) \
                 VALUES ($1, $2, 'running', $3) RETURNING id",
            )
            .bind(target)
            .bind(options.to_json())
            .bind(behind)
            .fetch_one(&mut *tx)
            .await
            .context("failed to record the fleet run")?,
        };
        tx.commit()
            .await
            .context("failed to commit the fleet run")?;
        let _ = self.id.set(id);
        Ok(id)
    }

    async fn add(
        &self,
        migrated: u64,
        failed: u64,
        last_error: Option<&str>,
    ) -> Result<bool, FleetRunError> {
        let status: Option<String> = sqlx::query_scalar(
            "UPDATE fleet_runs SET migrated = migrated + $2, failed = failed + $3, \
             last_error = COALESCE($4, last_error), updated_at = now() WHERE id = $1 \
             RETURNING status",
        )
        .bind(self.id()?)
        .bind(migrated as i64)
        .bind(failed as i64)
        .bind(last_error)
        .fetch_optional(&self.pool)
        .await
        .context("failed to count the run's tenants")?;
        Ok(status.as_deref() == Some("paused"))
    }

    async fn finish(&self, end: RunEnd) -> Result<(), FleetRunError> {
        let (status, error) = match end {
            RunEnd::Completed => ("completed", None),
            RunEnd::Paused => ("paused", None),
            RunEnd::Failed { error } => ("failed", Some(error)),
        };
        sqlx::query(
            "UPDATE fleet_runs SET status = $2, last_error = coalesce($3, last_error), \
             updated_at = now(), \
             finished_at = CASE WHEN $2 = 'paused' THEN NULL ELSE now() END \
             WHERE id = $1",
        )
        .bind(self.id()?)
        .bind(status)
        .bind(error)
        .execute(&self.pool)
        .await
        .context("failed to end the fleet run")?;
        Ok(())
    }
}
