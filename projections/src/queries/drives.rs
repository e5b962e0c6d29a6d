//! Saga drives that have been at one thing too long ("hung"), from the read models, so that every
//! process (`/readyz` and `/metrics` of each `tenantry serve`, `tenantry projections status`)
//! says the same whichever of them runs the saga.
//!
//! No event says "a step started" or "a release started"; a drive is taken to be at work since:
//! - a `provisioning` tenant's step that is `running`: when the step before it succeeded (or
//!   provisioning was requested), its `started_at`;
//! - a step with a retry scheduled: the time the retry was due, `next_retry_at` (each failed try
//!   records the next one, so a step retrying through an outage is not hung);
//! - a `rolling_back` or `deleting` tenant: its last event (each release records one).
//!
//! A drive at work longer than the bound without recording anything is hung: a step that does not
//! end (its time limit should have ended it), or a tenant no saga drives at all.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

/// The hung drives: how many, the oldest, and the first of them, oldest first.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct HungDrives {
    /// Drives at work longer than the bound.
    pub hung: u64,
    /// How long the oldest of them has been at work, in seconds (0 when none is).
    pub oldest_seconds: f64,
    /// The bound, in seconds (`TENANTRY_HUNG_DRIVE_SECS`).
    pub bound_seconds: u64,
    /// The oldest ones (at most [`LISTED`]).
    pub drives: Vec<HungDrive>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HungDrive {
    /// The tenant being driven.
    pub tenant_id: Uuid,
    /// The step at work (`database`, `queue`, …), or `rollback` / `deletion` for releases.
    pub step: String,
    /// Since when.
    pub since: DateTime<Utc>,
    /// For how long, in seconds.
    pub seconds: f64,
}

/// How many hung drives are listed by tenant.
pub const LISTED: i64 = 20;

const HUNG: &str = "
WITH at_work AS (
    SELECT s.tenant_id, s.step,
           CASE WHEN s.status = 'running' THEN s.started_at ELSE s.next_retry_at END AS since
      FROM read.provisioning_steps s
      JOIN read.tenant_panel t ON t.tenant_id = s.tenant_id
     WHERE t.status = 'provisioning' AND s.status IN ('running', 'retry_scheduled')
    UNION ALL
    SELECT tenant_id, CASE status WHEN 'deleting' THEN 'deletion' ELSE 'rollback' END, updated_at
      FROM read.tenant_panel
     WHERE status IN ('rolling_back', 'deleting')
)
SELECT tenant_id, step, since,
       EXTRACT(EPOCH FROM now() - since)::float8 AS seconds,
       count(*) OVER () AS total
  FROM at_work
 WHERE since IS NOT NULL AND since < now() - make_interval(secs => $1)
 ORDER BY since, tenant_id
 LIMIT $2";

/// The drives at work longer than `bound`.
pub async fn hung_drives(pool: &PgPool, bound: Duration) -> Result<HungDrives, sqlx::Error> {
    let rows: Vec<(Uuid, String, DateTime<Utc>, f64, i64)> = sqlx::query_as(HUNG)
        .bind(bound.as_secs_f64())
        .bind(LISTED)
        .fetch_all(pool)
        .await?;
    Ok(HungDrives {
        hung: rows.first().map_or(0, |r| r.4.max(0) as u64),
        oldest_seconds: rows.first().map_or(0.0, |r| r.3.max(0.0)),
        bound_seconds: bound.as_secs(),
        drives: rows
            .into_iter()
            .map(|(tenant_id, step, since, seconds, _)| HungDrive {
                tenant_id,
                step,
                since,
                seconds: seconds.max(0.0),
            })
            .collect(),
    })
}
