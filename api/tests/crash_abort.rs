//! A real crash: `tenantry serve` runs as a child process with `TENANTRY_FAULTS` set to abort the
//! process right after it made a tenant's schema, before recording it. A second `tenantry serve`
//! on the same database, without the fault, finishes the provisioning; a deletion then leaves
//! nothing behind.

use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tenantry_api::Settings;
use tenantry_api::startup::tenant_service;
use tenantry_application::event_store::{Actor, EventStore};
use tenantry_application::provisioning::{Faults, ResourceKind};
use tenantry_application::tenants::{CommandContext, CreateTenantInput, TenantService};
use tenantry_domain::{TenantId, TenantStatus};
use tenantry_tests::TestDb;

fn serve(db: &TestDb, faults: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tenantry"))
        .arg("serve")
        .env("TENANTRY_DATABASE_URL", &db.url)
        .env("TENANTRY_HTTP_ADDR", "127.0.0.1:0")
        .env("TENANTRY_FAULTS", faults)
        .env("TENANTRY_PROVISIONING_RETRY_BASE_MS", "50")
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("tenantry serve starts")
}

async fn wait_for(tenants: &TenantService, id: TenantId, status: TenantStatus) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let state = tenants.state(id).await.expect("state");
        if state.status() == Some(status) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never {status}: {:?}",
            state.status()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_process_is_finished_by_the_next_one() {
    let db = TestDb::new().await;
    let mut settings = Settings::from_env();
    settings.database_url = db.url.clone();
    let store: Arc<dyn EventStore> = Arc::new(db.event_store());
    let tenants = tenant_service(&settings, store).expect("service");
    let created = tenants
        .create(
            CreateTenantInput {
                name: "Killed Midway".into(),
                plan: Some("pro".into()),
                ..Default::default()
            },
            &CommandContext::new(Actor::System),
        )
        .await
        .expect("create");
    let id = created.tenant_id;

    let mut first = serve(&db, "abort:after_apply:schema");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = first.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the process was never aborted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!status.success(), "aborted: {status:?}");
    let redis = redis::Client::open("redis://127.0.0.1:6379").expect("redis url");
    let adapters =
        tenantry_infrastructure::provisioning::build(db.pool.clone(), redis, None, Faults::none())
            .await
            .expect("adapters");
    let made = adapters.inventory.list().await.expect("inventory");
    assert!(
        made.iter()
            .any(|r| r.tenant == Some(id) && r.kind == ResourceKind::Schema),
        "the schema was made before the crash"
    );
    assert_eq!(
        tenants.state(id).await.expect("state").status(),
        Some(TenantStatus::Provisioning)
    );

    let mut second = serve(&db, "");
    wait_for(&tenants, id, TenantStatus::Active).await;
    tenants
        .request_deletion(id, None, &CommandContext::new(Actor::System))
        .await
        .expect("delete");
    wait_for(&tenants, id, TenantStatus::Deleted).await;
    second.kill().ok();
    second.wait().ok();
    let left: Vec<_> = adapters
        .inventory
        .list()
        .await
        .expect("inventory")
        .into_iter()
        .filter(|r| r.tenant == Some(id))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
