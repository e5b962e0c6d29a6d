//! Running the saga for every tenant that needs it: as one instance across processes (the
//! [`Lease`]), for many tenants at once (bounded), woken at once by the events that start work
//! (`TenantCreated`, `ProvisioningRequested`, `TenantDeletionRequested`) and, sooner, by hints
//! from the commands of this process, at the retry times the saga names, and by a periodic sweep
//! of the tenants the read models say are in flight — which is also how work interrupted by a
//! crash is found again after a restart.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tenantry_domain::TenantId;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};

use super::{Lease, Outcome, STARTERS, SagaError, SagaWork, TenantSaga};
use crate::event_store::{Checkpoint, EventStore, RecordedEvent, Subscription};

#[derive(Debug, Clone)]
pub struct SagaConfig {
    /// Tenants driven at the same time.
    pub concurrency: usize,
    /// How often the in-flight tenants are swept.
    pub sweep_interval: Duration,
    /// How often the leader checks its lease (a ping that is also the heartbeat keeping it
    /// alive): well within the lease's liveness bound. Each drive also checks it before each
    /// step, release and record.
    pub heartbeat: Duration,
    /// How often a process without the lease tries to take it.
    pub lease_retry: Duration,
}

impl Default for SagaConfig {
    fn default() -> Self {
        Self {
            concurrency: 8,
            sweep_interval: Duration::from_secs(2),
            heartbeat: Duration::from_secs(2),
            lease_retry: Duration::from_secs(2),
        }
    }
}

pub struct SagaRunner {
    saga: Arc<TenantSaga>,
    store: Arc<dyn EventStore>,
    work: Arc<dyn SagaWork>,
    lease: Arc<dyn Lease>,
    config: SagaConfig,
    hints: Option<mpsc::Receiver<TenantId>>,
}

/// A running [`SagaRunner`].
pub struct SagaHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl SagaHandle {
    /// Stops taking new work, lets the drives in flight finish, gives the lease up.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Stops at once, as a crash would (drives in flight are dropped where they stand).
    pub async fn abort(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

impl SagaRunner {
    pub fn new(
        saga: Arc<TenantSaga>,
        store: Arc<dyn EventStore>,
        work: Arc<dyn SagaWork>,
        lease: Arc<dyn Lease>,
        config: SagaConfig,
    ) -> Self {
        Self {
            saga,
            store,
            work,
            lease,
            config,
            hints: None,
        }
    }

    /// Also drives the tenants hinted by this process's commands (see [`SagaHints`]).
    ///
    /// [`SagaHints`]: super::SagaHints
    pub fn with_hints(mut self, hints: mpsc::Receiver<TenantId>) -> Self {
        self.hints = Some(hints);
        self
    }

    pub fn start(self) -> SagaHandle {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(self.run(stopped));
        SagaHandle { stop, task }
    }

    async fn run(mut self, mut stopped: watch::Receiver<bool>) {
        let mut hints = self.hints.take();
        while !*stopped.borrow() {
            match self.lease.try_acquire().await {
                Ok(true) => {
                    self.saga.leading(true).await;
                    if let Err(error) = self.lead(&mut stopped, hints.as_mut()).await {
                        tracing::warn!(
                            error = format!("{error:#}"),
                            "the saga runner failed; restarting"
                        );
                    }
                    self.lease.release().await;
                    self.saga.leading(false).await;
                }
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "failed to try the saga lease"),
            }
            tokio::select! {
                _ = stopped.changed() => {}
                () = tokio::time::sleep(self.config.lease_retry) => {}
            }
        }
    }

    /// Runs while this process holds the lease.
    async fn lead(
        &self,
        stopped: &mut watch::Receiver<bool>,
        mut hints: Option<&mut mpsc::Receiver<TenantId>>,
    ) -> anyhow::Result<()> {
        tracing::info!("leading the provisioning saga");
        let mut read = self.work.checkpoint().await?;
        let mut events = self.store.subscribe_all(read, 500);
        let mut state = Drives::new(self.config.concurrency);
        state.wanted.extend(self.work.tenants_in_flight().await?);
        let mut sweep = tokio::time::interval(self.config.sweep_interval);
        let mut heartbeat = tokio::time::interval(self.config.heartbeat);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if state.lease_lost {
                self.lost(state).await;
                return Ok(());
            }
            state.start_wanted(&self.saga, &self.lease);
            let next_timer = state.next_timer();
            tokio::select! {
                _ = stopped.changed() => break,
                batch = events.next() => match batch {
                    Some(Ok(batch)) => {
                        if let Some(last) = batch.last() {
                            read = last.checkpoint();
                        }
                        state.wanted.extend(batch.iter().filter_map(starter));
                    }
                    // The database failed under the subscription (down, out of connections): the
                    // drives in flight go on, and the subscription starts again a moment later
                    // from where it was (the sweep finds whatever it misses meanwhile).
                    failed => {
                        let error = match failed {
                            Some(Err(error)) => format!("{error:#}"),
                            _ => "the event subscription ended".to_owned(),
                        };
                        tracing::warn!(%error, "the saga's event subscription failed; subscribing again");
                        events = resubscribe(self.store.clone(), read, RESUBSCRIBE_AFTER);
                    }
                },
                _ = heartbeat.tick() => {
                    if !self.lease.held().await {
                        state.lease_lost = true;
                    }
                }
                _ = sweep.tick() => {
                    // A failed sweep is tried again at the next tick; it does not stop the drives.
                    match self.work.tenants_in_flight().await {
                        Ok(tenants) => state.wanted.extend(tenants),
                        Err(error) => tracing::warn!(
                            error = format!("{error:#}"),
                            "failed to list the tenants in flight; will try again"
                        ),
                    }
                }
                Some(tenant) = next_hint(&mut hints) => {
                    state.wanted.insert(tenant);
                }
                () = sleep_until(next_timer) => state.fire_timers(),
                Some(done) = state.running.join_next_with_id() => state.finished(done),
            }
        }
        // Let the drives in flight finish: each records what it did.
        while let Some(done) = state.running.join_next_with_id().await {
            state.finished(done);
        }
        if state.lease_lost {
            self.lost(state).await;
        }
        Ok(())
    }

    /// The lease is lost (a heartbeat or a drive found it gone): another process may lead by
    /// now, so the drives in flight are cancelled where they stand (as a crash would leave them:
    /// the new leader resumes each from its events), once, with one warning.
    async fn lost(&self, mut state: Drives) {
        let cancelled = state.running.len();
        state.running.abort_all();
        while state.running.join_next().await.is_some() {}
        tracing::warn!(
            cancelled,
            "lost the saga lease; stopped leading and cancelled the drives in flight"
        );
    }
}

/// How long the runner waits before subscribing again after its subscription failed.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);

/// The log from `after`, once `delay` has passed.
fn resubscribe(store: Arc<dyn EventStore>, after: Checkpoint, delay: Duration) -> Subscription {
    futures::stream::once(tokio::time::sleep(delay))
        .flat_map(move |()| store.subscribe_all(after, 500))
        .boxed()
}

fn starter(event: &RecordedEvent) -> Option<TenantId> {
    STARTERS
        .contains(&event.event_type.as_str())
        .then(|| TenantId::from_stream_id(&event.stream_id))
        .flatten()
}

async fn next_hint(hints: &mut Option<&mut mpsc::Receiver<TenantId>>) -> Option<TenantId> {
    match hints {
        Some(hints) => hints.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// What a drive task returns: its tenant, its release failures so far, and where it left it.
type Drove = (TenantId, u32, Result<Outcome, SagaError>);

/// The runner's bookkeeping: which tenants want a drive, which are being driven, which wait.
struct Drives {
    permits: Arc<Semaphore>,
    /// Tenants to drive as soon as a permit is free.
    wanted: BTreeSet<TenantId>,
    running: JoinSet<Drove>,
    in_flight: HashSet<TenantId>,
    /// Which tenant each running task drives, to know whose drive panicked.
    tasks: HashMap<tokio::task::Id, TenantId>,
    /// Tenants that became wanted again while being driven.
    again: HashSet<TenantId>,
    timers: HashMap<TenantId, tokio::time::Instant>,
    /// Consecutive release failures per tenant, for the backoff of releases.
    release_failures: HashMap<TenantId, u32>,
    /// A heartbeat or a drive found the lease gone.
    lease_lost: bool,
}

impl Drives {
    fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            wanted: BTreeSet::new(),
            running: JoinSet::new(),
            in_flight: HashSet::new(),
            tasks: HashMap::new(),
            again: HashSet::new(),
            timers: HashMap::new(),
            release_failures: HashMap::new(),
            lease_lost: false,
        }
    }

    fn start_wanted(&mut self, saga: &Arc<TenantSaga>, lease: &Arc<dyn Lease>) {
        while let Some(&tenant) = self.wanted.first() {
            if self.in_flight.contains(&tenant) {
                self.wanted.remove(&tenant);
                self.again.insert(tenant);
                continue;
            }
            let Ok(permit) = self.permits.clone().try_acquire_owned() else {
                return;
            };
            self.wanted.remove(&tenant);
            self.timers.remove(&tenant);
            self.in_flight.insert(tenant);
            let saga = saga.clone();
            let lease = lease.clone();
            let mut failures = self.release_failures.get(&tenant).copied().unwrap_or(0);
            let task = self.running.spawn(async move {
                let _permit = permit;
                let outcome = saga
                    .drive_fenced(tenant, &mut failures, Some(&*lease))
                    .await;
                (tenant, failures, outcome)
            });
            self.tasks.insert(task.id(), tenant);
        }
    }

    fn finished(&mut self, done: Result<(tokio::task::Id, Drove), tokio::task::JoinError>) {
        let (tenant, failures, outcome) = match done {
            Ok((task, done)) => {
                self.tasks.remove(&task);
                done
            }
            Err(error) => {
                // A panicking drive (an injected crash, a bug): as after a restart, the tenant is
                // driven again from what its events say, a moment later.
                tracing::error!(%error, "a saga drive panicked");
                if let Some(tenant) = self.tasks.remove(&error.id()) {
                    self.in_flight.remove(&tenant);
                    self.again.remove(&tenant);
                    let later = tokio::time::Instant::now() + Duration::from_secs(1);
                    self.timers.insert(tenant, later);
                }
                return;
            }
        };
        self.in_flight.remove(&tenant);
        self.release_failures.insert(tenant, failures);
        let retry = match outcome {
            Ok(Outcome::AtRest) => {
                self.release_failures.remove(&tenant);
                None
            }
            Ok(Outcome::RetryAt(at)) => Some(at),
            Err(SagaError::LeaseLost) => {
                self.lease_lost = true;
                None
            }
            Err(error) => {
                let error = format!("{error:#}");
                tracing::warn!(%tenant, %error, "a saga drive failed; will retry");
                Some(chrono::Utc::now() + Duration::from_secs(1))
            }
        };
        if let Some(at) = retry {
            let wait = (at - chrono::Utc::now()).to_std().unwrap_or_default();
            self.timers
                .insert(tenant, tokio::time::Instant::now() + wait);
        }
        if self.again.remove(&tenant) {
            self.wanted.insert(tenant);
        }
    }

    fn next_timer(&self) -> Option<tokio::time::Instant> {
        self.timers.values().min().copied()
    }

    fn fire_timers(&mut self) {
        let now = tokio::time::Instant::now();
        let due: Vec<TenantId> = self
            .timers
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(t, _)| *t)
            .collect();
        for tenant in due {
            self.timers.remove(&tenant);
            self.wanted.insert(tenant);
        }
    }
}
