//! One projector's worker: take the lock (or wait for it), then follow the log and apply it batch
//! by batch until shut down, the connection is lost, or the projector stalls.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::{Connection, PgConnection, PgPool};
use tenantry_application::event_store::{EventStore, RecordedEvent};
use tokio::sync::watch;

use super::batch::{self, Expected, Outcome};
use super::prefetch::Prefetch;
use super::{Leading, RuntimeConfig, lock};
use crate::Projector;
use crate::checkpoint::{self, CheckpointRow, ProjectorState};

pub(super) struct Worker {
    pub(super) projector: Arc<dyn Projector>,
    pub(super) pool: PgPool,
    pub(super) store: Arc<dyn EventStore>,
    pub(super) config: RuntimeConfig,
    pub(super) leading: Leading,
    /// Becomes true when the runtime shuts down.
    pub(super) stop: watch::Receiver<bool>,
}

/// How following the log ended.
enum Followed {
    Shutdown,
    /// Start again from this row.
    Moved(CheckpointRow),
    Stalled(CheckpointRow),
    /// Another instance claimed the projector (this owner epoch): stop leading.
    Fenced(i64),
}

impl Worker {
    pub(super) async fn run(mut self) {
        let name = self.projector.name();
        while !self.stopping() {
            match self.campaign().await {
                Ok(()) => {}
                Err(error) => {
                    tracing::warn!(projector = name, error = %format!("{error:#}"), "projector worker failed; starting over");
                }
            }
            self.set_leading(false);
            self.sleep(self.config.lock_retry).await;
        }
    }

    /// Waits for the lock, and leads until shut down or failed.
    async fn campaign(&mut self) -> anyhow::Result<()> {
        let name = self.projector.name();
        let mut conn = loop {
            if self.stopping() {
                return Ok(());
            }
            if let Some(conn) = lock::try_lead(&self.pool, name, self.config.liveness)
                .await
                .context("failed to try the lock")?
            {
                break conn;
            }
            self.sleep(self.config.lock_retry).await;
        };
        tracing::info!(projector = name, "leading projector");
        self.set_leading(true);
        let result = self.lead(&mut conn).await;
        // Closing ends the session, which releases the lock for another instance.
        conn.close().await.ok();
        result
    }

    async fn lead(&mut self, conn: &mut PgConnection) -> anyhow::Result<()> {
        let name = self.projector.name();
        // A stalled projector is tried again when it is taken over or restarted.
        checkpoint::ensure(conn, name)
            .await
            .context("failed to read the checkpoint")?;
        // From now on a batch of an instance that led before is refused.
        let mut row = checkpoint::claim(conn, name)
            .await
            .context("failed to claim the checkpoint")?;
        let epoch = row.owner_epoch;
        loop {
            row = match self.follow(conn, &row).await? {
                Followed::Shutdown => return Ok(()),
                Followed::Fenced(now) => {
                    tracing::warn!(
                        projector = name,
                        epoch,
                        now,
                        "lost the projector's lead: another instance took it over; its batch was refused and rolled back"
                    );
                    return Ok(());
                }
                Followed::Moved(row) => row,
                Followed::Stalled(stalled) => match self.await_reset(conn, stalled).await? {
                    Some(row) if row.owner_epoch != epoch => {
                        tracing::warn!(
                            projector = name,
                            epoch,
                            now = row.owner_epoch,
                            "lost the projector's lead: another instance took it over"
                        );
                        return Ok(());
                    }
                    Some(row) => row,
                    None => return Ok(()),
                },
            };
        }
    }

    /// Applies the log from `row`'s checkpoint on.
    async fn follow(
        &mut self,
        conn: &mut PgConnection,
        row: &CheckpointRow,
    ) -> anyhow::Result<Followed> {
        let mut expected = Expected::of(row);
        let subscription = self
            .store
            .subscribe_all(row.checkpoint, self.config.batch_size);
        let mut feed = Prefetch::start(subscription, 2);
        let mut heartbeat = tokio::time::interval(self.heartbeat_every());
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let next = tokio::select! {
                next = feed.next() => next,
                _ = self.stop.changed() => return Ok(Followed::Shutdown),
                _ = heartbeat.tick() => {
                    lock::heartbeat(conn, self.config.liveness).await?;
                    continue;
                }
            };
            let batch = next
                .context("the subscription ended")?
                .context("failed to read the log")?;
            match self.apply(conn, &mut expected, &batch).await? {
                None => {
                    let labels = [("projector", self.projector.name())];
                    metrics::counter!("tenantry_projector_events_total", &labels)
                        .increment(batch.len() as u64);
                }
                Some(end) => return Ok(end),
            }
        }
    }

    /// Applies one batch, or finds the event at fault and retries it; `None` when all is applied.
    async fn apply(
        &mut self,
        conn: &mut PgConnection,
        expected: &mut Expected,
        events: &[RecordedEvent],
    ) -> anyhow::Result<Option<Followed>> {
        let Some(last) = events.last() else {
            return Ok(None);
        };
        match batch::apply(conn, &*self.projector, *expected, events).await {
            Ok(Outcome::Applied) => {
                expected.checkpoint = last.checkpoint();
                return Ok(None);
            }
            Ok(Outcome::Moved(row)) => return Ok(Some(Followed::Moved(row))),
            Ok(Outcome::Fenced(epoch)) => return Ok(Some(Followed::Fenced(epoch))),
            Err(error) => {
                check_connection(conn, &error).await?;
                tracing::warn!(projector = self.projector.name(), error = %format!("{error:#}"),
                    "a batch failed; applying its events one by one");
            }
        }
        for event in events {
            if let Some(end) = self.apply_one(conn, expected, event).await? {
                return Ok(Some(end));
            }
        }
        Ok(None)
    }

    /// Applies one event, retrying with backoff; stalls the projector when the tries run out.
    async fn apply_one(
        &mut self,
        conn: &mut PgConnection,
        expected: &mut Expected,
        event: &RecordedEvent,
    ) -> anyhow::Result<Option<Followed>> {
        let name = self.projector.name();
        let mut delays = self.config.retry.delays();
        loop {
            let error = match batch::apply(
                conn,
                &*self.projector,
                *expected,
                std::slice::from_ref(event),
            )
            .await
            {
                Ok(Outcome::Applied) => {
                    expected.checkpoint = event.checkpoint();
                    return Ok(None);
                }
                Ok(Outcome::Moved(row)) => return Ok(Some(Followed::Moved(row))),
                Ok(Outcome::Fenced(epoch)) => return Ok(Some(Followed::Fenced(epoch))),
                Err(error) => error,
            };
            check_connection(conn, &error).await?;
            let Some(delay) = delays.next() else {
                let message = format!("{error:#}");
                tracing::error!(projector = name, position = event.position, error = %message,
                    "projector stalled: an event keeps failing");
                let owned = (expected.generation, expected.epoch);
                checkpoint::stall(conn, name, owned, event.position, &message)
                    .await
                    .context("failed to mark the projector stalled")?;
                let row = checkpoint::ensure(conn, name)
                    .await
                    .context("failed to read the checkpoint")?;
                return Ok(Some(Followed::Stalled(row)));
            };
            tracing::warn!(projector = name, position = event.position, error = %format!("{error:#}"),
                retry_in = ?delay, "an event failed to apply; retrying");
            if self.pause(conn, delay).await? {
                return Ok(Some(Followed::Shutdown));
            }
        }
    }

    /// Waits while the projector is stalled; returns its row once it was reset (state running or
    /// a new generation, e.g. after a rebuild), or `None` on shutdown.
    async fn await_reset(
        &mut self,
        conn: &mut PgConnection,
        stalled: CheckpointRow,
    ) -> anyhow::Result<Option<CheckpointRow>> {
        loop {
            if self.pause(conn, self.config.stall_check).await? {
                return Ok(None);
            }
            let row = checkpoint::ensure(conn, self.projector.name())
                .await
                .context("failed to read the checkpoint")?;
            if row.state == ProjectorState::Running || row.generation != stalled.generation {
                return Ok(Some(row));
            }
        }
    }

    /// How often a lock's connection is pinged: a quarter of the liveness bound.
    fn heartbeat_every(&self) -> Duration {
        (self.config.liveness / 4).max(Duration::from_millis(50))
    }

    /// [`Worker::sleep`] while holding the lock on `conn`: heartbeats meanwhile, and fails when
    /// the connection (so the lock) is lost.
    async fn pause(&mut self, conn: &mut PgConnection, duration: Duration) -> anyhow::Result<bool> {
        let until = tokio::time::Instant::now() + duration;
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Ok(self.stopping());
            }
            if self.sleep(left.min(self.heartbeat_every())).await {
                return Ok(true);
            }
            lock::heartbeat(conn, self.config.liveness).await?;
        }
    }

    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Sleeps for `duration` or until shutdown; true on shutdown.
    async fn sleep(&mut self, duration: Duration) -> bool {
        if self.stopping() {
            return true;
        }
        tokio::select! {
            () = tokio::time::sleep(duration) => self.stopping(),
            _ = self.stop.changed() => true,
        }
    }

    fn set_leading(&self, leading: bool) {
        let name = self.projector.name();
        let mut set = self.leading.lock().unwrap_or_else(|e| e.into_inner());
        if leading {
            set.insert(name);
        } else {
            set.remove(name);
        }
    }
}

/// After a failure: if the connection is gone, so is the lock, and this worker must stop writing.
async fn check_connection(conn: &mut PgConnection, error: &anyhow::Error) -> anyhow::Result<()> {
    match conn.ping().await {
        Ok(()) => Ok(()),
        Err(lost) => Err(anyhow::anyhow!("{error:#}"))
            .context(format!("the projector's connection was lost ({lost})")),
    }
}
