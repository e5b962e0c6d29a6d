//! Rebuilding a read model from the log, while the service keeps answering from the old one.
//!
//! 1. Fresh, empty copies of the projector's tables are made in a schema of its own
//!    (`read_rebuild_{name}`, see [`shadow`]); their secondary indexes are built after the replay.
//! 2. The whole log is replayed into them, in large batches, each its own short transaction (a
//!    long one would hold back the event store's read horizon for every reader). Reading the next
//!    batch overlaps applying the current one.
//! 3. The swap ([`swap`]), in one transaction: lock the projector's checkpoint row (the live
//!    projector's next batch waits on it), apply what was appended meanwhile, drop the live tables,
//!    move the copies into `read`, and set the checkpoint (a new generation) to the last event
//!    applied. Queries block only for the instant of the drop and move, then read the new tables;
//!    the live projector finds the new generation and carries on from the new checkpoint.
//!
//! One rebuild per projector at a time (an advisory lock); the live projector need not be stopped.
//! The read models and the lock are PostgreSQL's; the log is read only through the event store
//! port (its size for the progress report is [`EventStore::backlog`] from the start), so a rebuild
//! works whichever adapter holds it.

mod shadow;
mod swap;

use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::{Connection, PgConnection, PgPool};
use tenantry_application::event_store::{Checkpoint, EventStore, RecordedEvent};

use crate::{ProjectionError, Projector};

/// How a rebuild reads and swaps.
#[derive(Debug, Clone)]
pub struct RebuildOptions {
    /// Events per read and per transaction while replaying.
    pub batch_size: usize,
    /// How long the swap waits for queries that hold the live tables before it gives up and tries
    /// again (it holds back the live projector meanwhile).
    pub swap_lock_timeout: Duration,
    pub swap_attempts: u32,
}

impl Default for RebuildOptions {
    fn default() -> Self {
        Self {
            batch_size: 5000,
            // Under PostgreSQL's `deadlock_timeout` (1 s by default): a swap that waits on a reader
            // gives up (and tries again) before a deadlock with that reader is declared.
            swap_lock_timeout: Duration::from_millis(300),
            swap_attempts: 20,
        }
    }
}

/// Reported after every batch of the replay.
#[derive(Debug, Clone)]
pub struct RebuildProgress {
    pub projector: &'static str,
    /// Events replayed so far.
    pub done: u64,
    /// Events in the log when the rebuild started (more may come).
    pub total: u64,
    pub elapsed: Duration,
}

/// What a finished rebuild did.
#[derive(Debug, Clone)]
pub struct RebuildReport {
    pub projector: &'static str,
    /// Events replayed, those applied during the swap included.
    pub events: u64,
    pub elapsed: Duration,
    /// The projector's checkpoint once the new tables were swapped in.
    pub checkpoint: Checkpoint,
    pub batch_size: usize,
}

/// Replays the whole log into fresh tables for `projector`, then swaps them in. `progress` is
/// called after each batch.
pub async fn rebuild(
    pool: &PgPool,
    store: &dyn EventStore,
    projector: &dyn Projector,
    options: &RebuildOptions,
    mut progress: impl FnMut(&RebuildProgress) + Send,
) -> Result<RebuildReport, ProjectionError> {
    let name = projector.name();
    if !crate::projector::valid_name(name) {
        return Err(ProjectionError::UnknownProjector(name.to_owned()));
    }
    let started = Instant::now();
    let mut conn = PgConnection::connect_with(&pool.connect_options()).await?;
    if !shadow::lock(&mut conn, name).await? {
        return Err(ProjectionError::RebuildInProgress(name.to_owned()));
    }
    let result = async {
        let total = store.backlog(Checkpoint::START).await?.events;
        let shadow = shadow::create(&mut conn, projector).await?;
        let mut replay = Replay {
            projector,
            batch_size: options.batch_size.max(1),
            after: Checkpoint::START,
            done: 0,
        };
        let replayed = replay
            .run(&mut conn, store, |done| {
                progress(&RebuildProgress {
                    projector: name,
                    done,
                    total,
                    elapsed: started.elapsed(),
                })
            })
            .await;
        let swapped = match replayed {
            Ok(()) => match shadow::finish(&mut conn, &shadow).await {
                Ok(()) => swap::swap(&mut conn, store, &mut replay, &shadow.schema, options).await,
                Err(error) => Err(error.into()),
            },
            Err(error) => Err(error),
        };
        if swapped.is_err() {
            shadow::drop(&mut conn, &shadow.schema).await;
        }
        swapped?;
        Ok(RebuildReport {
            projector: name,
            events: replay.done,
            elapsed: started.elapsed(),
            checkpoint: replay.after,
            batch_size: replay.batch_size,
        })
    }
    .await;
    conn.close().await.ok();
    result
}

/// The replay into the shadow tables: where it stands and how to take the next steps.
struct Replay<'a> {
    projector: &'a dyn Projector,
    batch_size: usize,
    /// The last event applied to the shadow tables.
    after: Checkpoint,
    done: u64,
}

impl Replay<'_> {
    /// Replays until the log has nothing more to read, one transaction per batch.
    async fn run(
        &mut self,
        conn: &mut PgConnection,
        store: &dyn EventStore,
        mut progress: impl FnMut(u64),
    ) -> Result<(), ProjectionError> {
        let mut next = store.read_all(self.after, self.batch_size).await?;
        while let Some(last) = next.last().map(RecordedEvent::checkpoint) {
            let batch = next;
            let (applied, read) = tokio::join!(
                async {
                    let mut tx = conn.begin().await?;
                    self.apply(&mut tx, &batch).await?;
                    tx.commit().await?;
                    Ok::<_, ProjectionError>(())
                },
                store.read_all(last, self.batch_size)
            );
            applied?;
            next = read?;
            self.after = last;
            self.done += batch.len() as u64;
            progress(self.done);
        }
        Ok(())
    }

    /// Applies the events of `batch` that the projector handles, within `conn`'s transaction.
    async fn apply(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        batch: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let types = self.projector.event_types();
        let position = batch.last().map_or(0, |e| e.position);
        let result = if batch.iter().all(|e| types.contains(&e.event_type)) {
            self.projector.apply(tx, batch).await
        } else {
            let handled: Vec<RecordedEvent> = batch
                .iter()
                .filter(|e| types.contains(&e.event_type))
                .cloned()
                .collect();
            if handled.is_empty() {
                Ok(())
            } else {
                self.projector.apply(tx, &handled).await
            }
        };
        result
            .context("the projector failed")
            .map_err(|source| ProjectionError::Apply {
                projector: self.projector.name().to_owned(),
                position,
                source,
            })
    }
}
