//! Where each projector stands: its checkpoint, state, and how far behind the log it is, in events
//! and in seconds (the age of the oldest event it has not applied yet). For `tenantry projections
//! status` and the lag gauges.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use tenantry_application::event_store::Checkpoint;

use crate::{ProjectionError, ProjectorState};

#[derive(Debug, Clone, Serialize)]
pub struct ProjectorStatus {
    pub name: String,
    pub checkpoint: Checkpoint,
    pub state: ProjectorState,
    /// When stalled: the position of the event it failed on.
    pub stalled_at: Option<u64>,
    pub last_error: Option<String>,
    /// Events in the log after the checkpoint.
    pub lag_events: u64,
    /// How long ago the oldest event after the checkpoint was recorded; 0 when there is none.
    pub lag_seconds: f64,
    /// When the checkpoint last moved; `None` if the projector never ran.
    pub updated_at: Option<DateTime<Utc>>,
}

type Row = (
    String,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<DateTime<Utc>>,
    i64,
    Option<f64>,
);

/// The status of each projector named (one that never ran is at the start of the log).
pub async fn status(
    pool: &PgPool,
    names: &[&str],
) -> Result<Vec<ProjectorStatus>, ProjectionError> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT n.name, c.commit, c.position, c.state, c.stalled_at, c.last_error, c.updated_at,
                (SELECT count(*) FROM events e
                  WHERE (e.tx_id, e.position) > (coalesce(c.commit, 0), coalesce(c.position, 0))),
                (SELECT extract(epoch FROM now() - e.recorded_at)::float8 FROM events e
                  WHERE (e.tx_id, e.position) > (coalesce(c.commit, 0), coalesce(c.position, 0))
                  ORDER BY e.tx_id, e.position LIMIT 1)
           FROM unnest($1::text[]) WITH ORDINALITY AS n (name, ord)
           LEFT JOIN read.projector_checkpoints c ON c.name = n.name
          ORDER BY n.ord",
    )
    .bind(names)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(name, commit, position, state, stalled_at, last_error, updated_at, lag, age)| {
                ProjectorStatus {
                    name,
                    checkpoint: Checkpoint {
                        commit: commit.unwrap_or(0) as u64,
                        position: position.unwrap_or(0) as u64,
                    },
                    state: match state.as_deref() {
                        Some("stalled") => ProjectorState::Stalled,
                        _ => ProjectorState::Running,
                    },
                    stalled_at: stalled_at.map(|p| p as u64),
                    last_error,
                    lag_events: lag.max(0) as u64,
                    lag_seconds: age.unwrap_or(0.0).max(0.0),
                    updated_at,
                }
            },
        )
        .collect())
}
