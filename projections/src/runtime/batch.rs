//! One batch, one transaction: lock the checkpoint row, check that this worker still owns it (its
//! owner epoch) and that it is where this worker left it, apply the events the projector handles,
//! move the checkpoint past the whole batch, commit.

use anyhow::Context;
use sqlx::{Connection, PgConnection};
use tenantry_application::event_store::{Checkpoint, RecordedEvent};

use crate::Projector;
use crate::checkpoint::{self, CheckpointRow};

/// Where the worker believes its projector stands: the checkpoint it last wrote, and the
/// generation of the tables it wrote it with; and the owner epoch it claimed with its lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Expected {
    pub(super) checkpoint: Checkpoint,
    pub(super) generation: i64,
    pub(super) epoch: i64,
}

impl Expected {
    pub(super) fn of(row: &CheckpointRow) -> Self {
        Self {
            checkpoint: row.checkpoint,
            generation: row.generation,
            epoch: row.owner_epoch,
        }
    }
}

pub(super) enum Outcome {
    /// The events are applied and the checkpoint is past them.
    Applied,
    /// The checkpoint is not where the worker expected (a rebuild swapped tables in, or another
    /// writer moved it): nothing was written; this is the row as it is now.
    Moved(CheckpointRow),
    /// Another instance took the projector over since this worker took its lock (the row's
    /// owner epoch, given here, is newer): nothing was written, and this worker must stop.
    Fenced(i64),
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
    if row.owner_epoch != expected.epoch {
        tx.rollback().await.context("failed to roll back")?;
        return Ok(Outcome::Fenced(row.owner_epoch));
    }
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
    if !checkpoint::advance(&mut tx, name, last, expected.epoch)
        .await
        .context("failed to move the checkpoint")?
    {
        // Unreachable while the row is locked, but a write must never go out unfenced.
        tx.rollback().await.context("failed to roll back")?;
        let row = checkpoint::ensure(conn, name).await?;
        return Ok(Outcome::Fenced(row.owner_epoch));
    }
    tx.commit().await.context("failed to commit")?;
    Ok(Outcome::Applied)
}
