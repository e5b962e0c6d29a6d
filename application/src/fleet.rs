//! The fleet migration (`tenantry migrations plan|apply|status|resume`): brings every tenant that
//! holds a schema or database (`schema_per_tenant`, `database_per_tenant`; active or suspended) to
//! the newest tenant migration, in waves — a canary first, then waves of a count or a percentage
//! — with at most `max_parallel` tenants at once. Each tenant's migration runs in one transaction
//! (the adapter's), and is recorded on the tenant as `TenantMigrated {from, to}` or
//! `TenantMigrationFailed {version, error}`. A failure stops the run at the end of its wave (at
//! once, starting no other tenant, with `pause_on_failure`); the failed tenant keeps its version.
//!
//! Where the run stands is each tenant's own migration history (the truth the adapter reads), so
//! `resume` — after a pause, a crash or a fix — plans anew and continues with the tenants still
//! behind, in the same order (by tenant id). Beside it, the run keeps a record for operators
//! ([`runs`]: status, counts, the last error) and one run lock, which refuses a second run and
//! lets `tenantry migrations pause` stop the running one between tenants.

mod runs;

pub use runs::{FleetRun, FleetRunError, FleetRuns, RunEnd, RunLock, RunStart, RunStatus};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use futures::StreamExt;
use tenantry_domain::{IsolationModel, TenantCommand, TenantId};

use crate::kernel::CommandContext;
use crate::provisioning::{ProvisionError, TenantSpec};
use crate::tenants::TenantService;

/// The tenant migrations as the fleet sees them (the provisioning adapter).
#[async_trait]
pub trait TenantSchemas: Send + Sync {
    /// The newest version of the configured tenant migrations.
    fn target_version(&self) -> i64;
    /// The tenant's applied version (0: none).
    async fn version(&self, tenant: &TenantSpec) -> Result<i64, ProvisionError>;
    /// Applies what the tenant lacks in one transaction; gives the version it is at now.
    async fn migrate(&self, tenant: &TenantSpec) -> Result<i64, ProvisionError>;
}

/// How big each wave is after the canary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaveSize {
    /// Everything left in one wave.
    All,
    Count(usize),
    /// A percentage (1–100) of the tenants behind when the run started, at least one.
    Percent(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetOptions {
    /// Tenants migrated alone first, as a wave of their own (0: none).
    pub canary: usize,
    pub wave: WaveSize,
    /// At least 1.
    pub max_parallel: usize,
    /// Stop at the first failure without starting another tenant (otherwise the failed wave
    /// ends first).
    pub pause_on_failure: bool,
}

impl Default for FleetOptions {
    fn default() -> Self {
        Self {
            canary: 0,
            wave: WaveSize::All,
            max_parallel: 4,
            pause_on_failure: false,
        }
    }
}

/// Which tenants are at which version, and what a run would do.
#[derive(Debug, Clone)]
pub struct FleetPlan {
    pub target: i64,
    /// Version → tenants at it.
    pub by_version: BTreeMap<i64, Vec<TenantSpec>>,
    /// The tenants behind the target, in the order a run takes them (by id).
    pub behind: Vec<TenantSpec>,
    /// Tenants whose version could not be read, with why.
    pub unreadable: Vec<(TenantSpec, String)>,
}

impl FleetPlan {
    /// Reads every tenant's version. `tenants` are those holding a schema or database; others
    /// are left out.
    pub async fn read(
        schemas: &dyn TenantSchemas,
        mut tenants: Vec<TenantSpec>,
        max_parallel: usize,
    ) -> Self {
        tenants.retain(|t| t.isolation != IsolationModel::SharedSchema);
        tenants.sort_by_key(|t| t.id);
        let target = schemas.target_version();
        let versions: Vec<(TenantSpec, Result<i64, ProvisionError>)> =
            futures::stream::iter(tenants)
                .map(|t| async move {
                    let v = schemas.version(&t).await;
                    (t, v)
                })
                .buffered(max_parallel.max(1))
                .collect()
                .await;
        let mut plan = Self {
            target,
            by_version: BTreeMap::new(),
            behind: Vec::new(),
            unreadable: Vec::new(),
        };
        for (tenant, version) in versions {
            match version {
                Ok(version) => {
                    if version < target {
                        plan.behind.push(tenant.clone());
                    }
                    plan.by_version.entry(version).or_default().push(tenant);
                }
                Err(error) => plan.unreadable.push((tenant, format!("{error:#}"))),
            }
        }
        plan
    }

    /// The waves a run would make of [`behind`](Self::behind).
    pub fn waves(&self, options: &FleetOptions) -> Vec<Vec<TenantSpec>> {
        let mut left: &[TenantSpec] = &self.behind;
        let mut waves = Vec::new();
        if options.canary > 0 && !left.is_empty() {
            let n = options.canary.min(left.len());
            waves.push(left[..n].to_vec());
            left = &left[n..];
        }
        let size = match options.wave {
            WaveSize::All => left.len(),
            WaveSize::Count(n) => n,
            WaveSize::Percent(p) => (self.behind.len() * usize::from(p)).div_ceil(100),
        }
        .max(1);
        waves.extend(left.chunks(size).map(<[TenantSpec]>::to_vec));
        waves
    }
}

/// What the run reports while it goes.
#[derive(Debug, Clone)]
pub enum Progress {
    WaveStarted {
        wave: usize,
        waves: usize,
        tenants: usize,
    },
    Migrated {
        tenant: TenantId,
        from: i64,
        to: i64,
    },
    Failed {
        tenant: TenantId,
        version: i64,
        error: String,
    },
    WaveCompleted {
        wave: usize,
        waves: usize,
        elapsed: Duration,
    },
}

/// How a run ended.
#[derive(Debug, Clone, Default)]
pub struct FleetOutcome {
    pub migrated: usize,
    /// The tenants that failed, with the error.
    pub failed: Vec<(TenantId, String)>,
    /// Tenants of the plan not tried (after a failure or a pause).
    pub not_started: usize,
    /// The run was paused (`tenantry migrations pause`) with tenants left.
    pub paused: bool,
    pub elapsed: Duration,
}

impl FleetOutcome {
    pub fn completed(&self) -> bool {
        self.failed.is_empty() && self.not_started == 0
    }

    /// How the run's record ends: paused wins over a failure (the operator asked to stop;
    /// `resume` retries the failed tenants either way).
    pub fn end(&self) -> RunEnd {
        if self.completed() {
            RunEnd::Completed
        } else if self.paused {
            RunEnd::Paused
        } else {
            RunEnd::Failed {
                error: self
                    .failed
                    .last()
                    .map(|(tenant, error)| format!("tenant {tenant}: {error}"))
                    .unwrap_or_else(|| "stopped".to_owned()),
            }
        }
    }
}

/// Runs a [`FleetPlan`] and records each tenant's step as an event.
pub struct FleetMigration {
    schemas: Arc<dyn TenantSchemas>,
    tenants: TenantService,
    context: CommandContext,
}

enum Step {
    Migrated,
    Failed(TenantId, String),
    NotStarted,
}

/// What the tenants of a run share: the stop flag and the run's record (if any).
///
/// The record is written at most every [`SYNC_EVERY`] (and once more at the end), not once per
/// tenant: one row takes every tenant's count, and writing it per tenant made the tenants of a
/// wave queue for that row's lock. The same write reads whether the run was paused, so a pause is
/// seen within `SYNC_EVERY` of a tenant starting.
struct RunState<'a> {
    /// Set at a failure (and a pause): no further wave starts (with `pause_on_failure` or a
    /// pause, no further tenant).
    stop: AtomicBool,
    paused: AtomicBool,
    record: Option<&'a dyn RunLock>,
    tally: std::sync::Mutex<Tally>,
}

/// The counts not yet written to the run's record, and when it was last written.
#[derive(Default)]
struct Tally {
    migrated: u64,
    failed: u64,
    last_error: Option<String>,
    synced: Option<Instant>,
}

/// How often a run writes its counts to its record and reads whether it was paused.
const SYNC_EVERY: Duration = Duration::from_millis(250);

impl RunState<'_> {
    /// Whether the run was paused; asks the record when the last ask is `SYNC_EVERY` old.
    async fn paused(&self) -> bool {
        if self.paused.load(Ordering::Acquire) {
            return true;
        }
        let due = self
            .tally
            .lock()
            .expect("tally")
            .synced
            .is_none_or(|at| at.elapsed() >= SYNC_EVERY);
        due && self.sync().await
    }

    /// Counts a tenant's step, to be written with the next [`sync`](Self::sync).
    fn count(&self, step: &Step) {
        let mut tally = self.tally.lock().expect("tally");
        match step {
            Step::Migrated => tally.migrated += 1,
            Step::Failed(_, error) => {
                tally.failed += 1;
                tally.last_error = Some(error.clone());
            }
            Step::NotStarted => {}
        }
    }

    /// Writes the counts not written yet and reads whether the run was paused. A failed write
    /// keeps the counts for the next.
    async fn sync(&self) -> bool {
        let Some(record) = self.record else {
            return false;
        };
        let (migrated, failed, last_error) = {
            let mut tally = self.tally.lock().expect("tally");
            tally.synced = Some(Instant::now());
            (
                std::mem::take(&mut tally.migrated),
                std::mem::take(&mut tally.failed),
                tally.last_error.take(),
            )
        };
        match record.add(migrated, failed, last_error.as_deref()).await {
            Ok(true) => {
                self.paused.store(true, Ordering::Release);
                self.stop.store(true, Ordering::Release);
                true
            }
            Ok(false) => false,
            Err(error) => {
                tracing::warn!(%error, "could not write the fleet run's counts or read whether it was paused");
                let mut tally = self.tally.lock().expect("tally");
                tally.migrated += migrated;
                tally.failed += failed;
                tally.last_error = tally.last_error.take().or(last_error);
                false
            }
        }
    }
}

impl FleetMigration {
    pub fn new(
        schemas: Arc<dyn TenantSchemas>,
        tenants: TenantService,
        context: CommandContext,
    ) -> Self {
        Self {
            schemas,
            tenants,
            context,
        }
    }

    /// Records `TenantMigrated` for the tenants whose migration committed but whose event was
    /// not recorded (the process ended between the two): those whose applied version in `plan`
    /// is above the version their events tell (`recorded`, from the read model; a tenant absent
    /// from it is left alone). Gives how many were recorded.
    pub async fn record_unrecorded(
        &self,
        plan: &FleetPlan,
        recorded: &std::collections::HashMap<TenantId, Option<i64>>,
    ) -> usize {
        let mut count = 0;
        for (version, tenants) in &plan.by_version {
            for tenant in tenants {
                let Some(known) = recorded.get(&tenant.id) else {
                    continue;
                };
                let from = known.unwrap_or(0);
                if *version <= from {
                    continue;
                }
                let command = TenantCommand::RecordMigrated {
                    from,
                    to: *version,
                    at: Utc::now(),
                };
                match self
                    .tenants
                    .execute(tenant.id, vec![command], None, &self.context)
                    .await
                {
                    Ok(_) => count += 1,
                    Err(error) => {
                        tracing::warn!(tenant_id = %tenant.id, %error, "an unrecorded migration could not be recorded")
                    }
                }
            }
        }
        count
    }

    /// Runs `plan`'s waves. With `record` (the run lock, started), each tenant's outcome is
    /// counted on the run, and the run is asked before each tenant whether it was paused: then
    /// no further tenant starts, those in flight finish, and the outcome says `paused`. The
    /// caller ends the record ([`FleetOutcome::end`]).
    pub async fn apply(
        &self,
        plan: &FleetPlan,
        options: &FleetOptions,
        record: Option<&dyn RunLock>,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> FleetOutcome {
        let started = Instant::now();
        let waves = plan.waves(options);
        let mut outcome = FleetOutcome::default();
        let run = RunState {
            stop: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            record,
            tally: Default::default(),
        };
        let stop = &run.stop;
        for (i, wave) in waves.iter().enumerate() {
            if stop.load(Ordering::Acquire) {
                outcome.not_started += wave.len();
                continue;
            }
            let wave_started = Instant::now();
            progress(Progress::WaveStarted {
                wave: i + 1,
                waves: waves.len(),
                tenants: wave.len(),
            });
            let steps: Vec<Step> = futures::stream::iter(wave)
                .map(|tenant| self.migrate_one(tenant, plan.target, options, &run, progress))
                .buffer_unordered(options.max_parallel.max(1))
                .collect()
                .await;
            for step in steps {
                match step {
                    Step::Migrated => outcome.migrated += 1,
                    Step::Failed(tenant, error) => outcome.failed.push((tenant, error)),
                    Step::NotStarted => outcome.not_started += 1,
                }
            }
            if !outcome.failed.is_empty() {
                stop.store(true, Ordering::Release);
            } else if outcome.not_started == 0 {
                progress(Progress::WaveCompleted {
                    wave: i + 1,
                    waves: waves.len(),
                    elapsed: wave_started.elapsed(),
                });
            }
        }
        run.sync().await;
        outcome.paused = run.paused.load(Ordering::Acquire) && outcome.not_started > 0;
        outcome.elapsed = started.elapsed();
        outcome
    }

    async fn migrate_one(
        &self,
        tenant: &TenantSpec,
        target: i64,
        options: &FleetOptions,
        run: &RunState<'_>,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Step {
        let step = self.step(tenant, target, options, run, progress).await;
        run.count(&step);
        step
    }

    async fn step(
        &self,
        tenant: &TenantSpec,
        target: i64,
        options: &FleetOptions,
        run: &RunState<'_>,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Step {
        let stop = &run.stop;
        if options.pause_on_failure && stop.load(Ordering::Acquire) {
            return Step::NotStarted;
        }
        if run.paused().await {
            return Step::NotStarted;
        }
        let from = match self.schemas.version(tenant).await {
            Ok(from) => from,
            Err(error) => return self.failed(tenant, target, error, stop, progress).await,
        };
        if from >= target {
            // Migrated meanwhile (by another run, or before a crash): nothing to do.
            return Step::Migrated;
        }
        match self.schemas.migrate(tenant).await {
            Ok(to) => {
                let command = TenantCommand::RecordMigrated {
                    from,
                    to,
                    at: Utc::now(),
                };
                if let Err(error) = self
                    .tenants
                    .execute(tenant.id, vec![command], None, &self.context)
                    .await
                {
                    tracing::warn!(tenant_id = %tenant.id, %error, "the migration ran but could not be recorded");
                }
                progress(Progress::Migrated {
                    tenant: tenant.id,
                    from,
                    to,
                });
                Step::Migrated
            }
            Err(error) => self.failed(tenant, target, error, stop, progress).await,
        }
    }

    async fn failed(
        &self,
        tenant: &TenantSpec,
        version: i64,
        error: ProvisionError,
        stop: &AtomicBool,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Step {
        stop.store(true, Ordering::Release);
        let error = format!("{error:#}");
        let command = TenantCommand::RecordMigrationFailed {
            version,
            error: error.clone(),
            at: Utc::now(),
        };
        if let Err(e) = self
            .tenants
            .execute(tenant.id, vec![command], None, &self.context)
            .await
        {
            tracing::warn!(tenant_id = %tenant.id, error = %e, "a failed migration could not be recorded");
        }
        progress(Progress::Failed {
            tenant: tenant.id,
            version,
            error: error.clone(),
        });
        Step::Failed(tenant.id, error)
    }
}
