//! Fleet migration benchmark: `cargo bench -p tenantry-tests --bench fleet_migrations`.
//!
//! On a fresh database against the local PostgreSQL, seeds `FLEET_SCHEMA_TENANTS` (default 1000)
//! active `schema_per_tenant` tenants and `FLEET_DATABASE_TENANTS` (default 100)
//! `database_per_tenant` tenants (their histories appended to the event store, their schemas and
//! databases made by the provisioning adapters, at the built-in tenant migration). Then, for each
//! `--max-parallel` of `FLEET_PARALLEL` (default `1,4,8`), adds one migration to a
//! `TENANTRY_TENANT_MIGRATIONS_DIR`-style directory — a table and an index — and runs the fleet
//! migration (`tenantry migrations apply`'s code: the run lock and record, plan, waves, one
//! transaction per tenant, an event per tenant, the pause check and the run's counts) over every
//! tenant of the model; beside it, the same DDL applied by a plain
//! shell loop of `psql -1 -c …`, one call per tenant (the baseline). Prints total time,
//! tenants/s and the ratio.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tenantry_api::Settings;
use tenantry_application::event_store::{Actor, EventStore};
use tenantry_application::fleet::{
    FleetMigration, FleetOptions, FleetPlan, FleetRuns, RunStart, TenantSchemas, WaveSize,
};
use tenantry_application::kernel::CommandContext;
use tenantry_application::provisioning::{Faults, Provisioner, SecretStore, TenantSpec};
use tenantry_domain::{IsolationModel, ProvisioningStep, ReservedSubdomains, Slug, TenantNames};
use tenantry_infrastructure::fleet_runs::PgFleetRuns;
use tenantry_infrastructure::provisioning::{TenantMigrationSet, TenantProvisioner};
use tenantry_infrastructure::secrets::{PgSecretStore, SecretKey};
use tenantry_tests::TestDb;
use tenantry_tests::lifecycle::{TenantScript, append_lifecycle};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ddl(table: &str) -> String {
    format!(
        "CREATE TABLE {table} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
         tenant_ref text NOT NULL, created_at timestamptz NOT NULL DEFAULT now()); \
         CREATE INDEX {table}_ref ON {table} (tenant_ref, created_at);"
    )
}

#[tokio::main]
async fn main() {
    let schema_tenants = env_usize("FLEET_SCHEMA_TENANTS", 1000);
    let database_tenants = env_usize("FLEET_DATABASE_TENANTS", 100);
    let parallel: Vec<usize> = std::env::var("FLEET_PARALLEL")
        .unwrap_or_else(|_| "1,4,8".into())
        .split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect();
    let db = TestDb::new().await;
    let store: Arc<dyn EventStore> = Arc::new(db.event_store());
    let redis_url =
        std::env::var("TENANTRY_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let secrets: Arc<dyn SecretStore> =
        Arc::new(PgSecretStore::new(db.pool.clone(), &SecretKey::generate()));
    let template = format!("tenantry_template_bench_{}", std::process::id());
    let base = TenantProvisioner::new(
        db.pool.clone(),
        redis::Client::open(redis_url.as_str()).unwrap(),
        secrets,
        Arc::new(Faults::none()),
    )
    .with_admin_connections(12, Duration::from_secs(60))
    .with_template_database(&template);
    let mut settings = Settings::from_env();
    settings.database_url = db.url.clone();
    let service = tenantry_api::startup::tenant_service(&settings, store.clone()).unwrap();
    let runs = PgFleetRuns::new(db.pool.clone());

    let root = std::env::temp_dir().join(format!("tenantry-fleet-bench-{}", std::process::id()));

    println!("fleet migration benchmark (one transaction per tenant, an event per tenant)");
    let mut round = 0;
    for (model, count, plan) in [
        (IsolationModel::SchemaPerTenant, schema_tenants, "pro"),
        (
            IsolationModel::DatabasePerTenant,
            database_tenants,
            "enterprise",
        ),
    ] {
        if count == 0 {
            continue;
        }
        // A directory per model: each round adds one migration to the tenants' previous one.
        let dir = root.join(model.as_str());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../migrations/tenant/20261122000001_tenant_base.sql"
            ),
            dir.join("20261122000001_tenant_base.sql"),
        )
        .unwrap();
        let seeded = Instant::now();
        let tenants = seed(&*store, &base, count, plan, model).await;
        println!(
            "\n{model}: {count} tenants seeded in {:.1} s",
            seeded.elapsed().as_secs_f64()
        );
        for &p in &parallel {
            round += 1;
            let version = 20270101000000_i64 + round;
            std::fs::write(
                dir.join(format!("{version}_bench_{round}.sql")),
                ddl(&format!("bench_{round}")),
            )
            .unwrap();
            let provisioner = base
                .clone()
                .with_tenant_migrations(TenantMigrationSet::load(&dir).unwrap());
            let schemas: Arc<dyn TenantSchemas> = Arc::new(provisioner);
            let started = Instant::now();
            let run = runs.lock().await.expect("no other run");
            let plan = FleetPlan::read(schemas.as_ref(), tenants.clone(), p).await;
            assert_eq!(plan.behind.len(), count, "every tenant is behind");
            let mut context = CommandContext::new(Actor::System);
            context.user_agent = Some("fleet bench".into());
            let fleet = FleetMigration::new(schemas.clone(), service.clone(), context);
            let options = FleetOptions {
                canary: 0,
                wave: WaveSize::All,
                max_parallel: p,
                pause_on_failure: false,
            };
            run.start(RunStart::Apply, plan.target, &options, plan.behind.len())
                .await
                .expect("the run is recorded");
            let outcome = fleet
                .apply(&plan, &options, Some(run.as_ref()), &|_| {})
                .await;
            run.finish(outcome.end()).await.expect("the run ends");
            drop(run);
            let fleet_secs = started.elapsed().as_secs_f64();
            assert!(outcome.completed(), "{:?}", outcome.failed.first());

            let baseline = baseline(&db.url, &tenants, &format!("baseline_{round}"));
            println!(
                "  --max-parallel {p}: {fleet_secs:.2} s, {:.1} tenants/s | psql loop: {baseline:.2} s, {:.1} tenants/s | psql/fleet {:.1}x",
                count as f64 / fleet_secs,
                count as f64 / baseline,
                baseline / fleet_secs
            );
        }
        let cleanup = Instant::now();
        futures::stream::iter(&tenants)
            .for_each_concurrent(8, |t| {
                let base = &base;
                async move {
                    let step = match t.isolation {
                        IsolationModel::DatabasePerTenant => ProvisioningStep::Database,
                        _ => ProvisioningStep::Schema,
                    };
                    base.release(t.id, step).await.unwrap();
                }
            })
            .await;
        println!("  released in {:.1} s", cleanup.elapsed().as_secs_f64());
    }
    let _ = std::fs::remove_dir_all(&root);
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{template}\""))
        .execute(&db.pool)
        .await
        .expect("the benchmark's template is dropped");
}

/// `count` active tenants of `model`, with their histories and their schemas or databases at the
/// built-in version.
async fn seed(
    store: &dyn EventStore,
    provisioner: &TenantProvisioner,
    count: usize,
    plan: &str,
    model: IsolationModel,
) -> Vec<TenantSpec> {
    let mut specs = Vec::new();
    for n in 0..count {
        let mut script = TenantScript::create(n as u64, plan);
        script.provision(0);
        let tenant = script.state().tenant().unwrap().clone();
        append_lifecycle(store, &script.finish()).await;
        specs.push(TenantSpec {
            id: tenant.id,
            slug: Slug::parse(
                tenant.slug.as_str(),
                &ReservedSubdomains::new::<_, &str>([]),
            )
            .unwrap(),
            isolation: model,
        });
    }
    let first = match model {
        IsolationModel::DatabasePerTenant => ProvisioningStep::Database,
        _ => ProvisioningStep::Schema,
    };
    futures::stream::iter(&specs)
        .for_each_concurrent(8, |t| async move {
            provisioner.apply(t, first).await.expect("made");
            provisioner
                .apply(t, ProvisioningStep::TenantMigrations)
                .await
                .expect("migrated");
        })
        .await;
    specs
}

/// The same DDL applied by a plain loop of `psql` calls, one transaction per tenant; seconds.
fn baseline(url: &str, tenants: &[TenantSpec], table: &str) -> f64 {
    let started = Instant::now();
    for tenant in tenants {
        let names = TenantNames::of(tenant.id);
        let (target_url, schema) = match tenant.isolation {
            IsolationModel::DatabasePerTenant => (with_database(url, names.database()), "public"),
            _ => (url.to_owned(), names.schema()),
        };
        let status = Command::new("psql")
            .args(["-q", "-X", "-1", "-v", "ON_ERROR_STOP=1", &target_url, "-c"])
            .arg(format!("SET search_path TO {schema}; {}", ddl(table)))
            .status()
            .expect("psql runs");
        assert!(status.success(), "psql failed for {}", tenant.id);
    }
    started.elapsed().as_secs_f64()
}

fn with_database(url: &str, database: &str) -> String {
    let (server, rest) = url.rsplit_once('/').expect("a database URL");
    let query = rest
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{server}/{database}{query}")
}
