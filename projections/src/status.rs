//! Where each projector stands: its checkpoint, state, and how far behind the log it is, in events
//! and in seconds (the age of the oldest event it has not applied yet). For `tenantry projections
//! status` and the lag gauges.
//!
//! The checkpoints are read models (PostgreSQL, `read.projector_checkpoints`); the lag comes from
//! the event store, through the port ([`EventStore::backlog`]), whichever adapter holds the log.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use tenantry_application::event_store::{Checkpoint, EventStore};

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
    /// When the checkpoint last moved (its last batch committed); `None` if the projector never
    /// ran.
    pub updated_at: Option<DateTime<Utc>>,
}

impl ProjectorStatus {
    /// Events wait (the oldest for longer than `after`) but no batch committed for longer than
    /// `after`: no instance leads the projector, or its leader is frozen or stuck. Its read
    /// models stand still although [`ProjectorState`] may say `running`.
    pub fn not_committing(&self, after: std::time::Duration) -> bool {
        let after = after.as_secs_f64();
        let idle = self.updated_at.map_or(f64::INFINITY, |at| {
            (Utc::now() - at).num_milliseconds().max(0) as f64 / 1e3
        });
        self.lag_events > 0 && self.lag_seconds >= after && idle >= after
    }

    /// `stalled` when it stopped on an event that keeps failing or is
    /// [not committing](ProjectorStatus::not_committing); else `running`.
    pub fn label(&self, after: std::time::Duration) -> &'static str {
        if self.state == ProjectorState::Stalled || self.not_committing(after) {
            ProjectorState::Stalled.as_str()
        } else {
            ProjectorState::Running.as_str()
        }
    }
}

type Row = (
    String,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<DateTime<Utc>>,
);

/// The status of each projector named (one that never ran is at the start of the log).
pub async fn status(
    pool: &PgPool,
    store: &dyn EventStore,
    names: &[&str],
) -> Result<Vec<ProjectorStatus>, ProjectionError> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT n.name, c.commit, c.position, c.state, c.stalled_at, c.last_error, c.updated_at
           FROM unnest($1::text[]) WITH ORDINALITY AS n (name, ord)
           LEFT JOIN read.projector_checkpoints c ON c.name = n.name
          ORDER BY n.ord",
    )
    .bind(names)
    .fetch_all(pool)
    .await?;
    let mut statuses = Vec::with_capacity(rows.len());
    for (name, commit, position, state, stalled_at, last_error, updated_at) in rows {
        let checkpoint = Checkpoint {
            commit: commit.unwrap_or(0) as u64,
            position: position.unwrap_or(0) as u64,
        };
        let backlog = store.backlog(checkpoint).await?;
        let lag_seconds = backlog.first_recorded_at.map_or(0.0, |at| {
            (Utc::now() - at).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6
        });
        statuses.push(ProjectorStatus {
            name,
            checkpoint,
            state: match state.as_deref() {
                Some("stalled") => ProjectorState::Stalled,
                _ => ProjectorState::Running,
            },
            stalled_at: stalled_at.map(|p| p as u64),
            last_error,
            lag_events: backlog.events,
            lag_seconds: lag_seconds.max(0.0),
            updated_at,
        });
    }
    Ok(statuses)
}
