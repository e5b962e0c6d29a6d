//! `tenantry migrations apply|resume` over real tenants: a canary and waves bring every tenant to
//! the newest tenant migration, each step an event on the tenant; a failing tenant stops the run
//! and keeps its version, and `resume` continues after the fix; a run cut off mid-way (the
//! process gone) is continued by `resume`. `pause` from a second caller stops a run between
//! tenants, and `resume` finishes it; a second `apply` while one runs is refused. A
//! `-- no-transaction` migration (`CREATE INDEX CONCURRENTLY`) runs alone, between the tenant's
//! transactions: a failure in it leaves the tenant at the version before it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tenantry_api::Settings;
use tenantry_api::cli::migrations::{MigrationsCommand, RunArgs};
use tenantry_application::event_store::EventStore;
use tenantry_application::fleet::RunStatus;
use tenantry_application::provisioning::{Faults, Provisioner, SecretStore, TenantSpec};
use tenantry_domain::{IsolationModel, ProvisioningStep, ReservedSubdomains, Slug, TenantNames};
use tenantry_infrastructure::fleet_runs::latest_run;
use tenantry_infrastructure::provisioning::{
    TenantMigrationSet, TenantProvisioner, latest_version,
};
use tenantry_infrastructure::secrets::{PgSecretStore, SecretKey};
use tenantry_projections::{ProjectionRuntime, RuntimeConfig, default_projectors};
use tenantry_tests::lifecycle::{TenantScript, append_lifecycle};
use tenantry_tests::{TestApp, TestDb};

const TENANTS: usize = 20;
const PATIENTS: i64 = 20270101000000;
const ROOMS: i64 = 20270102000000;

/// A migration that takes a while per tenant, so that a run can be paused in the middle.
const NOTES: i64 = 20270103000000;

fn args(canary: usize, wave_size: u64, max_parallel: u64) -> RunArgs {
    RunArgs {
        canary,
        wave_size: Some(wave_size),
        wave_percent: None,
        max_parallel,
        pause_on_failure: false,
    }
}

async fn run(settings: &Settings, command: MigrationsCommand) -> (bool, String) {
    let mut out = Vec::new();
    let ok = command
        .run(settings, &mut out)
        .await
        .expect("the command runs");
    (ok, String::from_utf8(out).unwrap())
}

async fn version(db: &TestDb, tenant: &TenantSpec) -> i64 {
    sqlx::query_scalar::<_, Option<i64>>(&format!(
        "SELECT max(version) FROM {}._sqlx_migrations WHERE success",
        TenantNames::of(tenant.id).schema()
    ))
    .fetch_one(&db.pool)
    .await
    .unwrap()
    .unwrap_or(0)
}

async fn events_of(db: &TestDb, tenant: &TenantSpec, event_type: &str) -> Vec<serde_json::Value> {
    sqlx::query_scalar(
        "SELECT payload FROM events WHERE stream_id = $1 AND event_type = $2 ORDER BY position",
    )
    .bind(tenant.id.stream_id().to_string())
    .bind(event_type)
    .fetch_all(&db.pool)
    .await
    .unwrap()
}

/// A control-plane database with its projectors and `n` active `schema_per_tenant` tenants at
/// the built-in version (schemas real), sorted by id, and a migrations directory holding the
/// built-in migration.
struct Fleet {
    db: TestDb,
    _projectors: tenantry_projections::RuntimeHandle,
    provisioner: TenantProvisioner,
    tenants: Vec<TenantSpec>,
    settings: Settings,
    dir: PathBuf,
}

impl Fleet {
    async fn new(n: usize) -> Self {
        let db = TestDb::new().await;
        let store: Arc<dyn EventStore> = Arc::new(db.event_store());
        let projectors = ProjectionRuntime::start(
            db.pool.clone(),
            store.clone(),
            default_projectors(),
            RuntimeConfig::default(),
        );
        let redis_url =
            std::env::var("TENANTRY_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let secrets: Arc<dyn SecretStore> =
            Arc::new(PgSecretStore::new(db.pool.clone(), &SecretKey::generate()));
        let provisioner = TenantProvisioner::new(
            db.pool.clone(),
            redis::Client::open(redis_url.as_str()).unwrap(),
            secrets,
            Arc::new(Faults::none()),
        );
        let mut tenants = Vec::new();
        for i in 0..n {
            let mut script = TenantScript::create(i as u64, "pro");
            script.provision(0);
            let tenant = script.state().tenant().unwrap().clone();
            append_lifecycle(&*store, &script.finish()).await;
            let spec = TenantSpec {
                id: tenant.id,
                slug: Slug::parse(
                    tenant.slug.as_str(),
                    &ReservedSubdomains::new::<_, &str>([]),
                )
                .unwrap(),
                isolation: IsolationModel::SchemaPerTenant,
            };
            provisioner
                .apply(&spec, ProvisioningStep::Schema)
                .await
                .expect("schema");
            provisioner
                .apply(&spec, ProvisioningStep::TenantMigrations)
                .await
                .expect("migrated");
            tenants.push(spec);
        }
        tenants.sort_by_key(|t| t.id);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let active: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM read.tenant_panel WHERE status = 'active'",
            )
            .fetch_one(&db.pool)
            .await
            .unwrap();
            if active == n as i64 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the tenants were not projected: {active}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let dir: PathBuf =
            std::env::temp_dir().join(format!("tenantry-fleet-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let builtin = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../migrations/tenant/20261122000001_tenant_base.sql"
        );
        std::fs::copy(builtin, dir.join("20261122000001_tenant_base.sql")).unwrap();
        let mut settings = Settings::from_env();
        settings.database_url = db.url.clone();
        settings.redis_url = redis_url;
        settings.tenant_migrations_dir = Some(dir.clone());
        Self {
            db,
            _projectors: projectors,
            provisioner,
            tenants,
            settings,
            dir,
        }
    }

    async fn release(self) {
        for tenant in &self.tenants {
            self.provisioner
                .release(tenant.id, ProvisioningStep::Schema)
                .await
                .unwrap();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn a_fleet_migration_goes_in_waves_stops_at_a_failure_and_resumes_also_after_a_crash() {
    let fleet = Fleet::new(TENANTS).await;
    let (db, tenants, settings, dir) = (&fleet.db, &fleet.tenants, &fleet.settings, &fleet.dir);

    // The SaaS's migrations: the built-in one, then a table and an index, which fails on a
    // tenant holding a `poison` table.
    std::fs::write(
        dir.join(format!("{PATIENTS}_patients.sql")),
        "DO $$ BEGIN
             IF to_regclass('poison') IS NOT NULL THEN RAISE EXCEPTION 'poisoned tenant'; END IF;
         END $$;
         CREATE TABLE patients (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
         CREATE INDEX patients_name ON patients (name);",
    )
    .unwrap();
    let poisoned = &tenants[10];
    let poison = format!(
        "CREATE TABLE {}.poison ()",
        TenantNames::of(poisoned.id).schema()
    );
    sqlx::query(&poison).execute(&db.pool).await.unwrap();

    let (ok, plan) = run(settings, MigrationsCommand::Plan(args(2, 5, 4))).await;
    assert!(ok, "{plan}");
    assert!(
        plan.contains(&format!(
            "version {}: {TENANTS} tenant(s) (behind)",
            latest_version()
        )),
        "{plan}"
    );
    assert!(
        plan.contains("in 5 wave(s) of sizes [2, 5, 5, 5, 3]"),
        "{plan}"
    );

    // Canary of 2, waves of 5: the third wave (tenants 7..12) holds the poisoned one; it
    // finishes, and no wave starts after it.
    let (ok, out) = run(settings, MigrationsCommand::Apply(args(2, 5, 4))).await;
    assert!(!ok, "{out}");
    assert!(out.contains("wave 1/5 done"), "{out}");
    assert!(out.contains(&format!("FAILED {}", poisoned.id)), "{out}");
    assert!(out.contains("poisoned tenant"), "{out}");
    assert!(!out.contains("wave 4/5"), "{out}");
    for (i, tenant) in tenants.iter().enumerate() {
        let expected = if i < 12 && i != 10 {
            PATIENTS
        } else {
            latest_version()
        };
        assert_eq!(version(db, tenant).await, expected, "tenant {i}: {out}");
    }
    // (The seeded histories say version 3; the catch-up of unrecorded migrations records the
    // built-in one first.)
    let migrated: Vec<_> = events_of(db, &tenants[0], "TenantMigrated")
        .await
        .into_iter()
        .filter(|e| e["to"] == PATIENTS)
        .collect();
    assert_eq!(migrated.len(), 1, "{migrated:?}");
    assert_eq!(migrated[0]["from"], latest_version());
    assert_eq!(migrated[0]["to"], PATIENTS);
    let failed = events_of(db, poisoned, "TenantMigrationFailed").await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["version"], PATIENTS);
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("poisoned tenant"),
        "{failed:?}"
    );
    assert!(
        !events_of(db, &tenants[15], "TenantMigrated")
            .await
            .iter()
            .any(|e| e["to"] == PATIENTS),
        "a tenant after the failed wave was not migrated"
    );

    // Fixed: resume continues with the tenants still behind.
    sqlx::query(&format!(
        "DROP TABLE {}.poison",
        TenantNames::of(poisoned.id).schema()
    ))
    .execute(&db.pool)
    .await
    .unwrap();
    let (ok, out) = run(settings, MigrationsCommand::Resume(args(0, 5, 4))).await;
    assert!(ok, "{out}");
    assert!(out.contains("behind: 9 tenant(s)"), "{out}");
    for tenant in tenants {
        assert_eq!(version(db, tenant).await, PATIENTS);
    }
    let to_patients = events_of(db, &tenants[0], "TenantMigrated")
        .await
        .into_iter()
        .filter(|e| e["to"] == PATIENTS)
        .count();
    assert_eq!(to_patients, 1, "not migrated twice");

    // A crash mid-run: the run is dropped (its connections with it) after some tenants moved on.
    std::fs::write(
        dir.join(format!("{ROOMS}_rooms.sql")),
        "CREATE TABLE rooms (id bigint PRIMARY KEY); SELECT pg_sleep(0.05);",
    )
    .unwrap();
    let cut_off = async {
        let deadline = Instant::now() + Duration::from_secs(60);
        while version(db, &tenants[3]).await < ROOMS {
            assert!(Instant::now() < deadline, "the run did not get going");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::select! {
        // Dropped when the fourth tenant is done: its connections go, as with a killed process.
        (_, out) = run(settings, MigrationsCommand::Apply(args(0, 2, 1))) => panic!("the run ended first: {out}"),
        () = cut_off => {}
    }
    let mut behind = 0;
    for tenant in tenants {
        if version(db, tenant).await < ROOMS {
            behind += 1;
        }
    }
    assert!(behind > 0, "the run was cut off before the end");
    // Its record says `running`, its lock went with its connection: `resume` takes it over.
    let crashed = latest_run(&db.pool).await.unwrap().expect("a run");
    assert_eq!(crashed.status, RunStatus::Running, "{crashed:?}");
    let refused = MigrationsCommand::Apply(args(0, 5, 4))
        .run(settings, &mut Vec::new())
        .await
        .expect_err("apply with a crashed run open is refused");
    assert!(
        format!("{refused:#}").contains("left running by a process that is gone"),
        "{refused:#}"
    );
    let (ok, out) = run(settings, MigrationsCommand::Resume(args(0, 5, 4))).await;
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("behind: {behind} tenant(s)")),
        "{out}"
    );
    for tenant in tenants {
        assert_eq!(version(db, tenant).await, ROOMS);
    }
    // The API's view (`GET /platform/api/tenants/{id}`) shows each tenant's schema version.
    let deadline = Instant::now() + Duration::from_secs(30);
    for tenant in tenants {
        loop {
            let view = tenantry_projections::queries::tenants::get(&db.pool, tenant.id.as_uuid())
                .await
                .unwrap()
                .expect("the tenant is in the read model");
            if view.infrastructure.schema_version == Some(ROOMS) {
                break;
            }
            assert!(Instant::now() < deadline, "{:?}", view.infrastructure);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let (ok, status) = run(settings, MigrationsCommand::Status).await;
    assert!(ok);
    assert!(
        status.contains(&format!(
            "version {ROOMS}: {TENANTS} tenant(s) (up to date)"
        )),
        "{status}"
    );
    // The run's record: the crashed run was taken over by the resume and completed.
    let latest = latest_run(&db.pool).await.unwrap().expect("a run");
    assert_eq!(latest.id, crashed.id, "the same run, taken over");
    assert_eq!(latest.status, RunStatus::Completed, "{latest:?}");
    assert_eq!(latest.target_version, ROOMS);
    // (The cut-off run may have lost a count between a tenant's commit and it: the record is a
    // report, the tenants' histories are the truth.)
    assert_eq!(latest.migrated, latest.total, "{latest:?}");
    assert!(latest.total >= TENANTS as i64 - 1, "{latest:?}");
    assert!(
        status.contains(&format!("latest run {}: completed", latest.id)),
        "{status}"
    );

    fleet.release().await;
}

#[tokio::test]
async fn pause_stops_a_run_between_tenants_resume_finishes_it_and_a_second_apply_is_refused() {
    const N: usize = 8;
    let fleet = Fleet::new(N).await;
    let (db, tenants, settings) = (&fleet.db, &fleet.tenants, &fleet.settings);
    std::fs::write(
        fleet.dir.join(format!("{NOTES}_notes.sql")),
        "SELECT pg_sleep(0.3); CREATE TABLE notes (id bigint PRIMARY KEY);",
    )
    .unwrap();

    // One tenant at a time; once the first is migrated, a second `apply` is refused and a
    // `pause` (another caller, as from another process) stops the run.
    let apply = run(settings, MigrationsCommand::Apply(args(0, N as u64, 1)));
    let other = async {
        let deadline = Instant::now() + Duration::from_secs(60);
        while version(db, &tenants[0]).await < NOTES {
            assert!(Instant::now() < deadline, "the run did not get going");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let refused = MigrationsCommand::Apply(args(0, N as u64, 1))
            .run(settings, &mut Vec::new())
            .await
            .expect_err("a second apply is refused");
        let paused = run(settings, MigrationsCommand::Pause).await;
        (refused, paused)
    };
    let ((ok, out), (refused, (pause_ok, pause_out))) = tokio::join!(apply, other);
    assert!(
        format!("{refused:#}").contains("another fleet migration is running"),
        "{refused:#}"
    );
    assert!(pause_ok, "{pause_out}");
    assert!(pause_out.contains("paused"), "{pause_out}");
    assert!(ok, "a paused run exits 0: {out}");
    assert!(out.contains("paused: fleet run"), "{out}");
    let mut left = 0;
    for tenant in tenants {
        if version(db, tenant).await < NOTES {
            left += 1;
        }
    }
    assert!(
        left > 0 && left < N,
        "the run stopped in the middle: {left} left; {out}"
    );

    let (ok, status) = run(settings, MigrationsCommand::Status).await;
    assert!(ok, "{status}");
    let run_id = latest_run(&db.pool).await.unwrap().expect("a run").id;
    assert!(
        status.contains(&format!("latest run {run_id}: paused to version {NOTES}")),
        "{status}"
    );
    assert!(
        status.contains(&format!("{} of {N} tenant(s) migrated", N - left)),
        "{status}"
    );
    // A paused run is resumed, not applied anew.
    let open = MigrationsCommand::Apply(args(0, N as u64, 4))
        .run(settings, &mut Vec::new())
        .await
        .expect_err("apply with a paused run open is refused");
    assert!(format!("{open:#}").contains("resume"), "{open:#}");

    let (ok, out) = run(settings, MigrationsCommand::Resume(args(0, N as u64, 4))).await;
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("fleet run {run_id}: {left} tenant(s)")),
        "{out}"
    );
    for tenant in tenants {
        assert_eq!(version(db, tenant).await, NOTES);
    }
    let latest = latest_run(&db.pool).await.unwrap().expect("a run");
    assert_eq!(latest.id, run_id);
    assert_eq!(latest.status, RunStatus::Completed, "{latest:?}");
    assert_eq!(
        (latest.migrated, latest.total, latest.failed),
        (N as i64, N as i64, 0)
    );
    assert!(latest.finished_at.is_some());

    // Nothing runs now: nothing to pause.
    let (ok, out) = run(settings, MigrationsCommand::Pause).await;
    assert!(!ok, "{out}");
    assert!(out.contains("no fleet run is running"), "{out}");

    fleet.release().await;
}

#[tokio::test]
async fn a_no_transaction_migration_runs_alone_and_a_failure_in_it_leaves_the_version_before_it() {
    const N: usize = 4;
    const UNIQUE_NAMES: i64 = 20270101000001;
    let fleet = Fleet::new(N).await;
    let (db, tenants, settings) = (&fleet.db, &fleet.tenants, &fleet.settings);
    let dir = &fleet.dir;
    std::fs::write(
        dir.join(format!("{PATIENTS}_patients.sql")),
        "CREATE TABLE patients (id bigint PRIMARY KEY, name text NOT NULL);
         DO $$ BEGIN
             IF to_regclass('duplicates') IS NOT NULL THEN
                 INSERT INTO patients VALUES (1, 'Ana'), (2, 'Ana');
             END IF;
         END $$;",
    )
    .unwrap();
    // sqlx's marker, one statement, written to run again.
    std::fs::write(
        dir.join(format!("{UNIQUE_NAMES}_unique_names.sql")),
        "-- no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS patients_name ON patients (name);\n",
    )
    .unwrap();
    std::fs::write(
        dir.join(format!("{ROOMS}_rooms.sql")),
        "CREATE TABLE rooms (id bigint PRIMARY KEY);",
    )
    .unwrap();
    let set = TenantMigrationSet::load(dir).expect("a -- no-transaction migration loads");
    assert_eq!(set.no_transaction_versions(), vec![UNIQUE_NAMES]);
    assert_eq!(set.latest_version(), ROOMS);

    // Tenant 1 holds two patients of one name: its unique index cannot be built.
    let poisoned = &tenants[1];
    let schema = |t: &TenantSpec| TenantNames::of(t.id).schema().to_owned();
    sqlx::query(&format!("CREATE TABLE {}.duplicates ()", schema(poisoned)))
        .execute(&db.pool)
        .await
        .unwrap();

    let (ok, out) = run(settings, MigrationsCommand::Apply(args(0, N as u64, 2))).await;
    assert!(!ok, "{out}");
    assert!(out.contains(&format!("FAILED {}", poisoned.id)), "{out}");
    for (i, tenant) in tenants.iter().enumerate() {
        let expected = if i == 1 { PATIENTS } else { ROOMS };
        // The poisoned tenant kept the stage before the no-transaction migration.
        assert_eq!(version(db, tenant).await, expected, "tenant {i}: {out}");
    }
    let valid: Vec<bool> = sqlx::query_scalar(
        "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relname = 'patients_name' ORDER BY n.nspname",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(valid.iter().filter(|v| **v).count(), N - 1, "{valid:?}");
    // The role may use what the stage after it made.
    for tenant in tenants.iter().filter(|t| t.id != poisoned.id) {
        let names = TenantNames::of(tenant.id);
        let granted: bool = sqlx::query_scalar("SELECT has_table_privilege($1, $2, 'SELECT')")
            .bind(names.role())
            .bind(format!("{}.rooms", names.schema()))
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert!(granted);
    }

    // The fix: the duplicate goes, and so does the invalid index the failure left behind (which
    // `IF NOT EXISTS` would take for done); resume builds it.
    let s = schema(poisoned);
    sqlx::raw_sql(&format!(
        "DELETE FROM {s}.patients WHERE id = 2; DROP INDEX {s}.patients_name;"
    ))
    .execute(&db.pool)
    .await
    .unwrap();
    let (ok, out) = run(settings, MigrationsCommand::Resume(args(0, N as u64, 2))).await;
    assert!(ok, "{out}");
    assert!(out.contains("behind: 1 tenant(s)"), "{out}");
    assert_eq!(version(db, poisoned).await, ROOMS);
    let valid: bool = sqlx::query_scalar(&format!(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = '{s}.patients_name'::regclass"
    ))
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(valid);

    fleet.release().await;
}

#[tokio::test]
async fn the_api_shows_the_fleets_versions_and_the_latest_run() {
    use tenantry_application::fleet::{FleetOptions, FleetRuns, RunEnd, RunStart};
    use tenantry_infrastructure::fleet_runs::PgFleetRuns;

    let dir: PathBuf =
        std::env::temp_dir().join(format!("tenantry-fleet-api-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("{PATIENTS}_patients.sql")),
        "CREATE TABLE patients (id bigint PRIMARY KEY);",
    )
    .unwrap();
    let app = TestApp::spawn_with(TestDb::new().await, |s| {
        s.tenant_migrations_dir = Some(dir.clone());
    })
    .await;
    let token = app.staff_token().await;
    let path = "/platform/api/migrations";
    assert_eq!(
        app.get(path).await.status(),
        reqwest::StatusCode::UNAUTHORIZED
    );

    let read = || async {
        let response = app.get_auth(path, &token).await;
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        response.json::<serde_json::Value>().await.unwrap()
    };
    let empty = read().await;
    assert_eq!(empty["target_version"], PATIENTS, "{empty}");
    assert_eq!(empty["tenants"], 0, "{empty}");
    assert_eq!(empty["by_version"], serde_json::json!([]), "{empty}");
    assert!(empty["latest_run"].is_null(), "{empty}");

    // Three provisioned tenants (their histories record version 3) and one still pending.
    for n in 0..3 {
        let mut script = TenantScript::create(n, "pro");
        script.provision(0);
        append_lifecycle(&*app.store, &script.finish()).await;
    }
    append_lifecycle(&*app.store, &TenantScript::create(3, "pro").finish()).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let shown = loop {
        let shown = read().await;
        if shown["tenants"] == 3 {
            break shown;
        }
        assert!(Instant::now() < deadline, "{shown}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        shown["by_version"],
        serde_json::json!([{"version": 3, "tenants": 3, "up_to_date": false}]),
        "{shown}"
    );
    assert_eq!(shown["behind"], 3, "{shown}");
    assert_eq!(shown["unknown"], 0, "{shown}");

    // A run's record, as `apply` keeps it: one tenant migrated, one failed.
    let runs = PgFleetRuns::new(app.db.pool.clone());
    let run = runs.lock().await.unwrap();
    let id = run
        .start(RunStart::Apply, PATIENTS, &FleetOptions::default(), 3)
        .await
        .unwrap();
    run.tenant_migrated().await.unwrap();
    let running = read().await;
    assert_eq!(running["latest_run"]["id"], id, "{running}");
    assert_eq!(running["latest_run"]["status"], "running", "{running}");
    assert_eq!(running["latest_run"]["migrated"], 1, "{running}");
    assert!(running["latest_run"]["finished_at"].is_null(), "{running}");
    run.tenant_failed("relation \"patients\" already exists")
        .await
        .unwrap();
    run.finish(RunEnd::Failed {
        error: "tenant x: relation \"patients\" already exists".into(),
    })
    .await
    .unwrap();
    let done = read().await;
    let latest = &done["latest_run"];
    assert_eq!(latest["status"], "failed", "{done}");
    assert_eq!(
        (&latest["total"], &latest["migrated"], &latest["failed"]),
        (
            &serde_json::json!(3),
            &serde_json::json!(1),
            &serde_json::json!(1)
        ),
        "{done}"
    );
    assert_eq!(latest["target_version"], PATIENTS);
    assert_eq!(latest["options"]["max_parallel"], 4, "{done}");
    assert!(
        latest["last_error"]
            .as_str()
            .unwrap()
            .contains("already exists"),
        "{done}"
    );
    for key in ["started_at", "updated_at", "finished_at"] {
        assert!(latest[key].is_string(), "{key}: {done}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
