//! The periodic sweep of expired idempotency keys: a background task deletes them every so often,
//! so that no request pays for the cleanup and the table holds about a day of keys.

use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::PgIdempotencyStore;

/// A running sweep; [`Sweeper::shutdown`] stops it.
pub struct Sweeper {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Sweeper {
    /// Sweeps `store` now and then every `every`, until shut down. A failed sweep is logged and
    /// tried again at the next tick.
    pub fn start(store: PgIdempotencyStore, every: Duration) -> Self {
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    _ = ticks.tick() => {}
                }
                match store.sweep_expired().await {
                    Ok(0) => {}
                    Ok(deleted) => tracing::debug!(deleted, "expired idempotency keys deleted"),
                    Err(error) => tracing::warn!(
                        error = format!("{error:#}"),
                        "failed to sweep expired idempotency keys"
                    ),
                }
            }
        });
        Self { stop, task }
    }

    /// Stops the sweep, after the one in progress, if any.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}
