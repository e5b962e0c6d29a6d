//! Running out of PostgreSQL connections does not fail tenants (issue 11): on a private cluster
//! with `max_connections = 30`, two `tenantry serve` processes (each with its default pools: 16
//! connections for requests, projectors and the saga, 4 for the provisioning steps) provision 60
//! `database_per_tenant` tenants. Connections are scarce — the two processes together would open
//! more than the server has — yet every tenant ends `active` and none `failed`: the steps wait
//! for their own bounded pool, and "too many clients" or a pool timeout is a transient failure
//! that spends no try.
//!
//! `cargo test -p tenantry-api --test faults_connections -- --nocapture` prints how long the 60
//! took and how many failures were transient or counted.

use std::collections::{BTreeMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tenantry_api::Settings;
use tenantry_api::startup::tenant_service;
use tenantry_application::event_store::{Actor, EventStore};
use tenantry_application::tenants::{CommandContext, CreateTenantInput};
use tenantry_domain::{EventPayload, TenantId, TenantStatus, events::ProvisioningStepFailed};
use tenantry_tests::{PrivatePg, PrivatePgOptions, PrivateRedis, TestDb, event_log};

const TENANTS: usize = 60;
const MAX_CONNECTIONS: u32 = 30;
/// Generous, for a loaded 2-core machine: all 60 usually take well under a minute.
const DEADLINE: Duration = Duration::from_secs(240);

/// A `tenantry serve` child, killed on drop.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

fn serve(db: &TestDb, redis: &str) -> Serve {
    let child = Command::new(env!("CARGO_BIN_EXE_tenantry"))
        .arg("serve")
        .env("TENANTRY_DATABASE_URL", &db.url)
        .env("TENANTRY_REDIS_URL", redis)
        .env("TENANTRY_HTTP_ADDR", "127.0.0.1:0")
        .env(
            "TENANTRY_SECRET_KEY",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        )
        .env(
            "TENANTRY_JWT_SECRET",
            "a-jwt-secret-of-at-least-32-bytes-for-the-test",
        )
        .env("TENANTRY_FAULTS", "")
        // `TENANTRY_TEST_SERVE_LOG=warn` shows what the servers say.
        .env(
            "RUST_LOG",
            std::env::var("TENANTRY_TEST_SERVE_LOG").unwrap_or_else(|_| "error".into()),
        )
        .stdout(Stdio::null())
        .spawn()
        .expect("tenantry serve starts");
    Serve(child)
}

// It once stalled on a loaded machine (slots held by the pools of the process that did not lead,
// and by burst connections that light steady use kept from their idle timeout): fixed by trying
// the locks and the lease on pooled connections, keeping provisioning connections only while
// leading, and a 60 s lifetime for the service pool's connections (README: "Outages").
// `TENANTRY_TEST_DIAG=1` prints pg_stat_activity every 10 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn few_connections_two_processes_sixty_database_tenants_none_failed() {
    let pg = PrivatePg::start_with(PrivatePgOptions {
        max_connections: MAX_CONNECTIONS,
    });
    let redis = PrivateRedis::start().await;
    let db = TestDb::on_server(&pg.server_url()).await;
    let mut settings = Settings::from_env();
    settings.database_url = db.url.clone();
    let store: Arc<dyn EventStore> = Arc::new(db.event_store());
    let tenants = tenant_service(&settings, store.clone()).expect("service");

    // The tenants first (the test's own connection is open before the servers take the rest).
    let context = CommandContext::new(Actor::System);
    let mut ids = Vec::new();
    for i in 0..TENANTS {
        let created = tenants
            .create(
                CreateTenantInput {
                    name: format!("Scarce {i}"),
                    plan: Some("enterprise".into()),
                    isolation: Some("database_per_tenant".into()),
                    ..Default::default()
                },
                &context,
            )
            .await
            .expect("create");
        ids.push(created.tenant_id);
    }
    let started = Instant::now();
    let _first = serve(&db, &redis.url());
    let _second = serve(&db, &redis.url());

    let mut active: HashSet<TenantId> = HashSet::new();
    let mut last_report = Instant::now();
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    while active.len() < TENANTS {
        statuses.clear();
        for &id in &ids {
            if active.contains(&id) {
                continue;
            }
            // The test's connection may be taken from it too: a failed read is tried again.
            let Ok(state) = tenants.state(id).await else {
                *statuses.entry("unread".into()).or_default() += 1;
                continue;
            };
            let status = state.status();
            assert_ne!(
                status,
                Some(TenantStatus::Failed),
                "tenant {id} failed: {:?}",
                failures(&*store, id).await
            );
            if status == Some(TenantStatus::Active) {
                active.insert(id);
            } else {
                let name = status.map_or_else(|| "none".to_owned(), |s| s.to_string());
                *statuses.entry(name).or_default() += 1;
            }
        }
        if std::env::var("TENANTRY_TEST_DIAG").is_ok()
            && last_report.elapsed() > Duration::from_secs(10)
        {
            last_report = Instant::now();
            let rows: Result<Vec<(String, String, String, i64)>, _> = sqlx::query_as(
                "SELECT coalesce(application_name, ''), coalesce(state, ''), left(coalesce(query, ''), 60), count(*)
                   FROM pg_stat_activity WHERE backend_type = 'client backend'
                  GROUP BY 1, 2, 3 ORDER BY 4 DESC",
            )
            .fetch_all(&db.pool)
            .await;
            println!(
                "{:?} active {} {statuses:?}",
                started.elapsed(),
                active.len()
            );
            for row in rows.unwrap_or_default() {
                println!("   {row:?}");
            }
        }
        assert!(
            started.elapsed() < DEADLINE,
            "after {DEADLINE:?} only {} of {TENANTS} tenants are active; the others: {statuses:?}",
            active.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let took = started.elapsed();

    let (mut transient, mut counted) = (0, Vec::new());
    for &id in &ids {
        for failure in failures(&*store, id).await {
            if failure["transient"] == true {
                transient += 1;
            } else {
                counted.push(failure["error"].as_str().unwrap_or_default().to_owned());
            }
        }
    }
    println!(
        "{TENANTS} database_per_tenant tenants active in {:.1} s with max_connections = \
         {MAX_CONNECTIONS} and two processes; none failed; step failures: {transient} transient \
         (not counted), {} counted {counted:?}",
        took.as_secs_f64(),
        counted.len()
    );
}

/// Every `ProvisioningStepFailed` of `tenant`, as recorded.
async fn failures(store: &dyn EventStore, tenant: TenantId) -> Vec<serde_json::Value> {
    event_log::stream(store, &tenant.stream_id())
        .await
        .into_iter()
        .filter(|e| e.event_type == ProvisioningStepFailed::EVENT_TYPE)
        .map(|e| e.payload)
        .collect()
}
