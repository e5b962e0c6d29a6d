//! The projectors' checkpoints (`read.projector_checkpoints`): where each projector stands in the
//! log, whether it is running or stalled, and the generation of its tables (bumped when a rebuild
//! swaps new ones in). Every write of a projector's rows goes with a write of this row, in the
//! same transaction, so the two never disagree.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use tenantry_application::event_store::Checkpoint;

/// Whether a projector is making progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectorState {
    Running,
    /// It failed on an event more times than its retry policy allows and stopped there; the other
    /// projectors carry on. A rebuild, or a restart of the process, tries again.
    Stalled,
}

impl ProjectorState {
    fn parse(s: &str) -> Self {
        if s == "stalled" {
            Self::Stalled
        } else {
            Self::Running
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Stalled => "stalled",
        }
    }
}

/// One row of `read.projector_checkpoints`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckpointRow {
    pub(crate) checkpoint: Checkpoint,
    pub(crate) generation: i64,
    pub(crate) state: ProjectorState,
    pub(crate) stalled_at: Option<u64>,
    pub(crate) last_error: Option<String>,
    pub(crate) updated_at: DateTime<Utc>,
    /// Bumped by each instance that takes the projector's lock ([`claim`]); a batch commits only
    /// under the epoch its writer claimed.
    pub(crate) owner_epoch: i64,
}

type Row = (
    i64,
    i64,
    i64,
    String,
    Option<i64>,
    Option<String>,
    DateTime<Utc>,
    i64,
);

const COLUMNS: &str =
    "commit, position, generation, state, stalled_at, last_error, updated_at, owner_epoch";

impl From<Row> for CheckpointRow {
    fn from(
        (commit, position, generation, state, stalled_at, last_error, updated_at, owner_epoch): Row,
    ) -> Self {
        Self {
            checkpoint: Checkpoint {
                commit: commit as u64,
                position: position as u64,
            },
            generation,
            state: ProjectorState::parse(&state),
            stalled_at: stalled_at.map(|p| p as u64),
            last_error,
            updated_at,
            owner_epoch,
        }
    }
}

/// Creates the projector's row (at the start of the log) if it has none, and returns it.
pub(crate) async fn ensure(conn: &mut PgConnection, name: &str) -> sqlx::Result<CheckpointRow> {
    sqlx::query("INSERT INTO read.projector_checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(name)
        .execute(&mut *conn)
        .await?;
    read(conn, name, "").await
}

/// Makes the caller, which has just taken the projector's lock, the owner of its row: bumps the
/// owner epoch and returns the row with the new one. A previous holder that still believes it
/// leads (it was frozen or cut off while its lock expired) has its next batch refused.
pub(crate) async fn claim(conn: &mut PgConnection, name: &str) -> sqlx::Result<CheckpointRow> {
    let row: Row = sqlx::query_as(&format!(
        "UPDATE read.projector_checkpoints SET owner_epoch = owner_epoch + 1 WHERE name = $1 \
         RETURNING {COLUMNS}"
    ))
    .bind(name)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.into())
}

/// Reads the row and locks it until the transaction ends: whoever holds the lock is the only one
/// that may write the projector's tables (the live projector's batches and a rebuild's swap both
/// take it first).
pub(crate) async fn lock(conn: &mut PgConnection, name: &str) -> sqlx::Result<CheckpointRow> {
    read(conn, name, " FOR UPDATE").await
}

/// The projector's row; `suffix` is a locking clause or nothing.
async fn read(conn: &mut PgConnection, name: &str, suffix: &str) -> sqlx::Result<CheckpointRow> {
    let row: Row = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM read.projector_checkpoints WHERE name = $1{suffix}"
    ))
    .bind(name)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.into())
}

/// Moves the checkpoint to `to` (running, no error), if the row's owner is still `epoch`; false
/// (nothing written) when another instance claimed it since.
pub(crate) async fn advance(
    conn: &mut PgConnection,
    name: &str,
    to: Checkpoint,
    epoch: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE read.projector_checkpoints SET commit = $2, position = $3, state = 'running', \
         stalled_at = NULL, last_error = NULL, updated_at = now() \
         WHERE name = $1 AND owner_epoch = $4",
    )
    .bind(name)
    .bind(to.commit as i64)
    .bind(to.position as i64)
    .bind(epoch)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks the projector stalled on the event at `position`, if its row is still of `generation`
/// (a rebuild may have replaced its tables in the meantime) and still owned by `epoch`.
pub(crate) async fn stall(
    conn: &mut PgConnection,
    name: &str,
    (generation, epoch): (i64, i64),
    position: u64,
    error: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE read.projector_checkpoints SET state = 'stalled', stalled_at = $3, \
         last_error = $4, updated_at = now() \
         WHERE name = $1 AND generation = $2 AND owner_epoch = $5",
    )
    .bind(name)
    .bind(generation)
    .bind(position as i64)
    .bind(error)
    .bind(epoch)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets the checkpoint after a rebuild swapped new tables in: a new generation, running.
pub(crate) async fn replace(
    conn: &mut PgConnection,
    name: &str,
    to: Checkpoint,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE read.projector_checkpoints SET commit = $2, position = $3, \
         generation = generation + 1, state = 'running', stalled_at = NULL, last_error = NULL, \
         updated_at = now() WHERE name = $1",
    )
    .bind(name)
    .bind(to.commit as i64)
    .bind(to.position as i64)
    .execute(conn)
    .await?;
    Ok(())
}
