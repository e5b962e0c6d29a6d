//! One batch, one transaction: lock the checkpoint row, check that it is where this worker left
//! it, apply the events the projector handles, move the checkpoint past the whole batch, commit.

use anyhow::Context;
use sqlx::{Connection, PgConnection};
use tenantry_application::event_store::{Checkpoint, RecordedEvent};

use crate::Projector;
use crate::checkpoint::{self, CheckpointRow};

/// Where the worker believes its projector stands: the checkpoint it last wrote, and the
/// generation of the tables it wrote it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Expected {
    pub(super) checkpoint: Checkpoint,
    pub(super) generation: i64,
}

impl Expected {
    pub(super) fn of(row: &CheckpointRow) -> Self {
        Self {
            checkpoint: row.checkpoint,
            generation: row.generation,
        }
    }
}

pub(super) enum Outcome {
    /// The events are applied and the checkpoint is past them.
    Applied,
    /// The checkpoint is not where the worker expected (a rebuild swapped tables in, or another
    /// writer moved it): nothing was written; this is the row as it is now.
    Moved(CheckpointRow),
}

/// Applies `events` (non-empty, consecutive in the log, right after `expected`).
pub(super) async fn apply(
    conn: &mut PgConnection,
    projector: &dyn Projector,
    expected: Expected,
    events: &[RecordedEvent],
) -> anyhow::Result<Outcome> {
    let name = projector.name();
    let last = events.last().context("an empty batch")?.checkpoint();
    let mut tx = conn.begin().await.context("failed to begin")?;
    let row = checkpoint::lock(&mut tx, name)
        .await
        .context("failed to lock the checkpoint")?;
    if Expected::of(&row) != expected {
        tx.rollback().await.context("failed to roll back")?;
        return Ok(Outcome::Moved(row));
    }
    let types = projector.event_types();
    if events.iter().all(|e| types.contains(&e.event_type)) {
        projector.apply(&mut tx, events).await?;
    } else {
        let handled: Vec<RecordedEvent> = events
            .iter()
            .filter(|e| types.contains(&e.event_type))
            .cloned()
            .collect();
        if !handled.is_empty() {
            projector.apply(&mut tx, &handled).await?;
        }
    }
    checkpoint::advance(&mut tx, name, last)
        .await
        .context("failed to move the checkpoint")?;
    tx.commit().await.context("failed to commit")?;
    Ok(Outcome::Applied)
}
