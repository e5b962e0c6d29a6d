//! The projector runtime: runs each projector, once across all processes, feeding it the log from
//! its checkpoint.
//!
//! For each projector a worker task competes for the projector's PostgreSQL advisory lock on a
//! connection of its own. The winner *leads*: it follows the log with a catch-up subscription (read
//! through the pool, outside any write transaction, so that no transaction of ours holds back the
//! event store's read horizon) and applies each batch in a short transaction *on the lock's
//! connection*, which also moves the checkpoint. Losing that connection therefore loses the lock
//! and the ability to write at once; the other instances retry the lock every
//! [`RuntimeConfig::lock_retry`] and take over. The lock's connection has a liveness bound
//! ([`RuntimeConfig::liveness`]: the server ends a session silent for that long, and the leader
//! heartbeats well within it), so a frozen or partitioned leader loses its locks too. Taking a
//! lock bumps the checkpoint row's owner epoch, and each batch commits only under the epoch its
//! worker claimed: a stale leader that wakes up has its batch rolled back and stops. Each batch
//! re-reads the checkpoint `FOR UPDATE` and
//! gives up (to resubscribe) if it is not what the worker expected: a rebuild swapped new tables
//! in, or another instance wrote. A batch that fails is retried event by event, with backoff, to
//! find the event at fault; past [`RetryPolicy::max_attempts`] the projector is marked stalled at
//! that event and waits, while the other projectors carry on.

mod batch;
mod lag;
mod lock;
mod prefetch;
mod worker;

pub(crate) use lock::rebuild_key;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::PgPool;
use tenantry_application::event_store::EventStore;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::Projector;
use crate::projector::valid_name;

/// How the runtime feeds its projectors.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Most events applied in one transaction.
    pub batch_size: usize,
    /// How often an instance that does not hold a projector's lock tries to take it.
    pub lock_retry: Duration,
    /// The liveness bound of a projector's lock: a holder silent for this long (frozen, cut
    /// off) loses it, and its stale batches are refused (the owner epoch). The holder heartbeats
    /// every quarter of it.
    pub liveness: Duration,
    pub retry: RetryPolicy,
    /// How often a stalled projector looks whether it was reset (e.g. by a rebuild).
    pub stall_check: Duration,
    /// How often the lag gauges are refreshed.
    pub metrics_interval: Duration,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            batch_size: 1000,
            lock_retry: Duration::from_secs(2),
            liveness: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            stall_check: Duration::from_secs(5),
            metrics_interval: Duration::from_secs(5),
        }
    }
}

/// Retries of an event that fails to apply: exponential backoff with jitter.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// Tries of one event before the projector stalls on it (the first try included).
    pub max_attempts: usize,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
            max_attempts: 6,
        }
    }
}

impl RetryPolicy {
    /// The delays between tries.
    fn delays(&self) -> impl Iterator<Item = Duration> + use<> {
        use backon::BackoffBuilder;
        backon::ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_attempts.saturating_sub(1))
            .with_jitter()
            .build()
    }
}

/// The names of the projectors this process leads right now.
type Leading = Arc<Mutex<BTreeSet<&'static str>>>;

/// Starts and stops the projector workers.
pub struct ProjectionRuntime;

impl ProjectionRuntime {
    /// Starts one worker per projector, and the lag gauges. Must be called inside a tokio runtime.
    ///
    /// # Panics
    /// When two projectors share a name, or a name is not `[a-z][a-z0-9_]*` (a programming error).
    pub fn start(
        pool: PgPool,
        store: Arc<dyn EventStore>,
        projectors: Vec<Arc<dyn Projector>>,
        config: RuntimeConfig,
    ) -> RuntimeHandle {
        let mut names = BTreeSet::new();
        for p in &projectors {
            assert!(
                valid_name(p.name()),
                "invalid projector name {:?}",
                p.name()
            );
            assert!(
                names.insert(p.name()),
                "two projectors named {:?}",
                p.name()
            );
        }
        let (shutdown, stop) = watch::channel(false);
        let leading = Leading::default();
        let mut tasks: Vec<JoinHandle<()>> = projectors
            .into_iter()
            .map(|projector| {
                let worker = worker::Worker {
                    projector,
                    pool: pool.clone(),
                    store: store.clone(),
                    config: config.clone(),
                    leading: leading.clone(),
                    stop: stop.clone(),
                };
                tokio::spawn(worker.run())
            })
            .collect();
        tasks.push(tokio::spawn(lag::monitor(
            pool,
            store,
            leading.clone(),
            config.metrics_interval,
            stop,
        )));
        RuntimeHandle {
            shutdown,
            tasks,
            leading,
        }
    }
}

/// The running workers. Dropping it stops them at once, like [`RuntimeHandle::abort`].
pub struct RuntimeHandle {
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    leading: Leading,
}

impl RuntimeHandle {
    /// Stops gracefully: batches in flight commit, then the workers release their locks (another
    /// instance takes over) and end.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }

    /// Stops at once, wherever the workers are, as a crash would: a batch in flight is rolled
    /// back by PostgreSQL when its connection drops.
    pub async fn abort(mut self) {
        let tasks = std::mem::take(&mut self.tasks);
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            let _ = task.await;
        }
    }

    /// The projectors this runtime leads at the moment (holds the lock of).
    pub fn leading(&self) -> Vec<String> {
        let leading = self.leading.lock().unwrap_or_else(|e| e.into_inner());
        leading.iter().map(|name| (*name).to_owned()).collect()
    }
}

impl Drop for RuntimeHandle {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
