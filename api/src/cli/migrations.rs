//! `tenantry migrations plan|apply|resume|pause|status`: the fleet migration of the tenant
//! migrations (built-in or `TENANTRY_TENANT_MIGRATIONS_DIR`) over every active or suspended tenant
//! holding a schema or a database (see `tenantry_application::fleet`). `plan` and `status` print
//! the tenants grouped by their applied version and the waves a run would make (`status` also the
//! latest run's record); `apply` takes the run lock (refused while another run holds it), records
//! a run and prints each tenant and wave as it goes; `resume` takes over the latest unfinished run
//! (paused, failed, or left `running` by a process that is gone) and continues with the tenants
//! still behind (each tenant's own migration history says which). `pause` marks the running run
//! paused: it starts no further tenant, lets those in flight finish and exits 0, saying so.
//! Exits non-zero when a tenant failed.

use std::io::Write;
use std::sync::Mutex;

use anyhow::Context;
use secrecy::ExposeSecret;
use tenantry_application::event_store::Actor;
use tenantry_application::fleet::{
    FleetMigration, FleetOptions, FleetPlan, FleetRun, FleetRunError, FleetRuns, Progress,
    RunStart, RunStatus, WaveSize,
};
use tenantry_application::kernel::CommandContext;
use tenantry_application::provisioning::TenantSpec;
use tenantry_domain::{Slug, TenantStatus};
use tenantry_infrastructure::fleet_runs::PgFleetRuns;
use tenantry_infrastructure::redact::redact_url;
use tenantry_projections::ReadModelWork;
use tenantry_projections::queries::tenants;

use crate::Settings;

#[derive(Debug, clap::Subcommand)]
pub enum MigrationsCommand {
    /// Which tenants are at which version, and the waves a run would make.
    Plan(RunArgs),
    /// Bring every tenant behind to the newest tenant migration, in waves.
    Apply(RunArgs),
    /// Continue a run that stopped (a pause, a failure, a crash) with the tenants still behind.
    Resume(RunArgs),
    /// Pause the running run: it starts no further tenant, lets those in flight finish and ends.
    Pause,
    /// The fleet's progress: tenants per version, how many are behind, the latest run.
    Status,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Migrate this many tenants first, as a wave of their own.
    #[arg(long, default_value_t = 0)]
    pub canary: usize,
    /// Tenants per wave after the canary (default: all the rest in one wave).
    #[arg(long, conflicts_with = "wave_percent", value_parser = clap::value_parser!(u64).range(1..))]
    pub wave_size: Option<u64>,
    /// Tenants per wave as a percentage (1-100) of those behind.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub wave_percent: Option<u8>,
    /// Tenants migrated at once (each holds one provisioning connection; see
    /// TENANTRY_PROVISIONING_ADMIN_CONNECTIONS).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub max_parallel: u64,
    /// Stop at the first failure without starting another tenant (otherwise the failed wave
    /// finishes first, and no further wave starts).
    #[arg(long)]
    pub pause_on_failure: bool,
}

impl RunArgs {
    fn options(&self) -> FleetOptions {
        FleetOptions {
            canary: self.canary,
            wave: match (self.wave_size, self.wave_percent) {
                (Some(n), _) => WaveSize::Count(n as usize),
                (None, Some(p)) => WaveSize::Percent(p),
                (None, None) => WaveSize::All,
            },
            max_parallel: self.max_parallel as usize,
            pause_on_failure: self.pause_on_failure,
        }
    }
}

impl MigrationsCommand {
    /// Runs the command; `Ok(false)` when a tenant failed or could not be read.
    pub async fn run(
        self,
        settings: &Settings,
        out: &mut (impl Write + Send),
    ) -> anyhow::Result<bool> {
        let pool = tenantry_infrastructure::postgres::connect(&settings.database_url, 4).await?;
        let runs = PgFleetRuns::new(pool.clone());
        if let Self::Pause = self {
            return match runs.pause().await? {
                Some(run) => {
                    writeln!(
                        out,
                        "fleet run {} paused: it starts no further tenant and ends when those in flight finish; `tenantry migrations resume` continues it",
                        run.id
                    )?;
                    Ok(true)
                }
                None => match runs.latest().await? {
                    Some(run) if run.status == RunStatus::Paused => {
                        writeln!(out, "fleet run {} is already paused", run.id)?;
                        Ok(true)
                    }
                    _ => {
                        writeln!(out, "no fleet run is running: nothing to pause")?;
                        Ok(false)
                    }
                },
            };
        }
        // The run lock first: a second run is refused before it reads a tenant.
        let lock = match &self {
            Self::Apply(_) | Self::Resume(_) => Some(runs.lock().await?),
            _ => None,
        };
        // `apply` with a run open (paused, or left running by a crash) is refused before it
        // reads a tenant (`start` checks again, under the lock).
        if let Self::Apply(_) = self
            && let Some(run) = runs.latest().await?
            && matches!(run.status, RunStatus::Running | RunStatus::Paused)
        {
            return Err(FleetRunError::Open {
                id: run.id,
                status: run.status,
            }
            .into());
        }
        let redis = redis::Client::open(settings.redis_url.as_str())
            .with_context(|| format!("invalid redis url {}", redact_url(&settings.redis_url)))?;
        let args = match &self {
            Self::Plan(a) | Self::Apply(a) | Self::Resume(a) => a.clone(),
            Self::Status | Self::Pause => RunArgs {
                canary: 0,
                wave_size: None,
                wave_percent: None,
                max_parallel: 4,
                pause_on_failure: false,
            },
        };
        let mut provisioning = settings.provisioning_options()?;
        // One provisioning connection per tenant in flight, and one to spare.
        provisioning.admin_connections = provisioning
            .admin_connections
            .max(args.max_parallel as u32 + 1);
        let adapters = tenantry_infrastructure::provisioning::build_with(
            pool.clone(),
            redis,
            settings
                .secret_key
                .as_ref()
                .map(ExposeSecret::expose_secret),
            Default::default(),
            &provisioning,
        )
        .await?;
        // A fleet run migrates tenant after tenant, as the saga's leader provisions: its
        // provisioning connections stay open for the run instead of one per tenant.
        adapters.provisioner.leading(true).await;
        let slugs = tenants::slugs(&pool)
            .await
            .context("failed to read the tenants' slugs")?;
        let mut specs = Vec::new();
        for (id, status, isolation) in ReadModelWork::new(pool.clone()).tenants().await? {
            if !matches!(status, TenantStatus::Active | TenantStatus::Suspended) {
                continue;
            }
            let Some(slug) = slugs.get(&id.as_uuid()) else {
                continue;
            };
            let slug: Slug = serde_json::from_value(serde_json::Value::String(slug.clone()))
                .with_context(|| format!("tenant {id} has an invalid slug {slug:?}"))?;
            specs.push(TenantSpec {
                id,
                slug,
                isolation,
            });
        }
        let options = args.options();
        let plan = FleetPlan::read(adapters.schemas.as_ref(), specs, options.max_parallel).await;
        print_plan(
            &plan,
            &options,
            provisioning.tenant_migrations.source(),
            out,
        )?;
        let start = match self {
            Self::Plan(_) | Self::Pause => return Ok(plan.unreadable.is_empty()),
            Self::Status => {
                match runs.latest().await? {
                    Some(run) => print_run(&run, out)?,
                    None => writeln!(out, "no fleet run yet")?,
                }
                return Ok(plan.unreadable.is_empty());
            }
            Self::Apply(_) => RunStart::Apply,
            Self::Resume(_) => RunStart::Resume,
        };
        let lock = lock.expect("apply and resume hold the run lock");
        let store = crate::event_store::build(settings, &pool).await?;
        let mut context = CommandContext::new(Actor::System);
        context.user_agent = Some("tenantry-cli migrations apply".into());
        let fleet = FleetMigration::new(
            adapters.schemas.clone(),
            crate::startup::tenant_service(settings, store.clone())?,
            context,
        );
        // A run that ended between a tenant's commit and its event left the event out: found
        // by the read model, once it has every event so far (a running `serve` projects).
        let head = store.head().await?.position;
        let current = tenantry_projections::wait_for_position(
            &pool,
            &*store,
            head,
            &["tenant_panel"],
            std::time::Duration::from_secs(10),
        )
        .await
        .unwrap_or(false);
        let rows: Vec<(uuid::Uuid, Option<i64>)> =
            sqlx::query_as("SELECT tenant_id, schema_version FROM read.tenant_panel")
                .fetch_all(&pool)
                .await
                .context("failed to read the tenants' recorded schema versions")?;
        let recorded = rows
            .into_iter()
            .map(|(id, v)| (tenantry_domain::TenantId::from_uuid(id), v))
            .collect();
        let caught_up = if current {
            fleet.record_unrecorded(&plan, &recorded).await
        } else {
            writeln!(
                out,
                "the read models are behind the log: migrations a stopped run left unrecorded are not looked for"
            )?;
            0
        };
        if caught_up > 0 {
            writeln!(
                out,
                "recorded {caught_up} migration(s) a stopped run had left unrecorded"
            )?;
        }
        let run_id = lock
            .start(start, plan.target, &options, plan.behind.len())
            .await?;
        writeln!(
            out,
            "fleet run {run_id}: {} tenant(s) to migrate",
            plan.behind.len()
        )?;
        let shared = Mutex::new(&mut *out);
        let progress = |p: Progress| {
            let mut out = shared.lock().unwrap();
            let _ = match p {
                Progress::WaveStarted {
                    wave,
                    waves,
                    tenants,
                } => {
                    writeln!(out, "wave {wave}/{waves}: {tenants} tenant(s)")
                }
                Progress::Migrated { tenant, from, to } => {
                    writeln!(out, "  migrated {tenant}: {from} -> {to}")
                }
                Progress::Failed {
                    tenant,
                    version,
                    error,
                } => {
                    writeln!(out, "  FAILED {tenant} (to {version}): {error}")
                }
                Progress::WaveCompleted {
                    wave,
                    waves,
                    elapsed,
                } => {
                    writeln!(out, "wave {wave}/{waves} done in {:.2?}", elapsed)
                }
            };
            let _ = out.flush();
        };
        let outcome = fleet
            .apply(&plan, &options, Some(lock.as_ref()), &progress)
            .await;
        let mut end = outcome.end();
        if end == tenantry_application::fleet::RunEnd::Completed && !plan.unreadable.is_empty() {
            end = tenantry_application::fleet::RunEnd::Failed {
                error: format!(
                    "{} tenant(s) whose version could not be read",
                    plan.unreadable.len()
                ),
            };
        }
        lock.finish(end).await?;
        drop(lock);
        let out = shared.into_inner().unwrap();
        let secs = outcome.elapsed.as_secs_f64();
        writeln!(
            out,
            "migrated {} tenant(s) in {secs:.2} s ({:.1} tenants/s); failed {}; not started {}",
            outcome.migrated,
            if secs > 0.0 {
                outcome.migrated as f64 / secs
            } else {
                0.0
            },
            outcome.failed.len(),
            outcome.not_started
        )?;
        if outcome.paused {
            writeln!(
                out,
                "paused: fleet run {run_id} stopped with {} tenant(s) left; `tenantry migrations resume` continues it",
                outcome.not_started
            )?;
            return Ok(true);
        }
        if !outcome.completed() {
            writeln!(
                out,
                "stopped: fix the failure, then `tenantry migrations resume` continues with the tenants still behind"
            )?;
        }
        Ok(outcome.completed() && plan.unreadable.is_empty())
    }
}

fn print_run(run: &FleetRun, out: &mut impl Write) -> anyhow::Result<()> {
    writeln!(
        out,
        "latest run {}: {} to version {}; {} of {} tenant(s) migrated, {} failed; started {}, updated {}{}",
        run.id,
        run.status.as_str(),
        run.target_version,
        run.migrated,
        run.total,
        run.failed,
        run.started_at.to_rfc3339(),
        run.updated_at.to_rfc3339(),
        run.finished_at
            .map(|at| format!(", finished {}", at.to_rfc3339()))
            .unwrap_or_default()
    )?;
    if let Some(error) = &run.last_error {
        writeln!(out, "last error: {error}")?;
    }
    Ok(())
}

fn print_plan(
    plan: &FleetPlan,
    options: &FleetOptions,
    source: &str,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    writeln!(
        out,
        "tenant migrations: {source}, newest version {}",
        plan.target
    )?;
    for (version, tenants) in &plan.by_version {
        let mark = if *version >= plan.target {
            "up to date"
        } else {
            "behind"
        };
        writeln!(
            out,
            "version {version}: {} tenant(s) ({mark})",
            tenants.len()
        )?;
    }
    for (tenant, error) in &plan.unreadable {
        writeln!(
            out,
            "unreadable {} ({}): {error}",
            tenant.id,
            tenant.slug.as_str()
        )?;
    }
    let waves = plan.waves(options);
    writeln!(
        out,
        "behind: {} tenant(s), in {} wave(s) of sizes {:?}",
        plan.behind.len(),
        waves.len(),
        waves.iter().map(Vec::len).collect::<Vec<_>>()
    )?;
    Ok(())
}
