//! The saga under a lease it loses (issue 11, "leaders are fenced"): a drive checks the lease
//! before each step's apply and before each record, so once the lease is gone no step runs and
//! nothing is appended; the runner cancels the drives in flight when its heartbeat finds the
//! lease gone. Over a real event store, with a provisioner that counts what it is asked.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tenantry_api::Settings;
use tenantry_api::startup::tenant_service;
use tenantry_application::clock::SystemClock;
use tenantry_application::event_store::{Actor, EventStore};
use tenantry_application::provisioning::{Faults, ProvisionError, Provisioner, TenantSpec};
use tenantry_application::sagas::{Backoff, Lease, SagaConfig, SagaError, SagaRunner, TenantSaga};
use tenantry_application::tenants::{CommandContext, CreateTenantInput, TenantService};
use tenantry_domain::{
    AccessAction, AccessResource, ProvisionedResource, ProvisioningStep, TenantId,
};
use tenantry_projections::ReadModelWork;
use tenantry_tests::TestDb;

/// Held for its first `held_for` checks, or until [`Expiring::lose`]; never again after.
struct Expiring {
    checks: AtomicUsize,
    held_for: usize,
    lost: AtomicBool,
}

impl Expiring {
    fn new(held_for: usize) -> Arc<Self> {
        Arc::new(Self {
            checks: AtomicUsize::new(0),
            held_for,
            lost: AtomicBool::new(false),
        })
    }

    fn lose(&self) {
        self.lost.store(true, Ordering::SeqCst);
    }
}

#[async_trait]
impl Lease for Expiring {
    async fn try_acquire(&self) -> anyhow::Result<bool> {
        Ok(!self.lost.load(Ordering::SeqCst) && self.checks.load(Ordering::SeqCst) < self.held_for)
    }
    async fn held(&self) -> bool {
        !self.lost.load(Ordering::SeqCst)
            && self.checks.fetch_add(1, Ordering::SeqCst) < self.held_for
    }
    async fn release(&self) {}
}

/// Counts applies; an apply never ends (until its drive is cancelled, which it notes).
#[derive(Default)]
struct Hanging {
    applies: AtomicUsize,
    cancelled: Arc<AtomicBool>,
}

struct NoteDrop(Arc<AtomicBool>);

impl Drop for NoteDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[async_trait]
impl Provisioner for Hanging {
    async fn apply(
        &self,
        _tenant: &TenantSpec,
        _step: ProvisioningStep,
    ) -> Result<ProvisionedResource, ProvisionError> {
        self.applies.fetch_add(1, Ordering::SeqCst);
        let _noted = NoteDrop(self.cancelled.clone());
        std::future::pending::<()>().await;
        Err(ProvisionError::Permanent(anyhow::anyhow!("unreachable")))
    }
    async fn release(
        &self,
        _tenant: TenantId,
        _step: ProvisioningStep,
    ) -> Result<(), ProvisionError> {
        Ok(())
    }
    async fn set_access(
        &self,
        _tenant: &TenantSpec,
        _resource: AccessResource,
        _action: AccessAction,
    ) -> Result<(), ProvisionError> {
        Ok(())
    }
}

async fn setup() -> (TestDb, Arc<dyn EventStore>, TenantService) {
    let db = TestDb::new().await;
    let mut settings = Settings::from_env();
    settings.database_url = db.url.clone();
    let store: Arc<dyn EventStore> = Arc::new(db.event_store_polling(Duration::from_millis(50)));
    let tenants = tenant_service(&settings, store.clone()).expect("service");
    (db, store, tenants)
}

fn saga(tenants: &TenantService, provisioner: Arc<Hanging>) -> TenantSaga {
    TenantSaga::new(
        tenants.clone(),
        provisioner,
        Arc::new(Faults::none()),
        Arc::new(SystemClock),
        5,
        Backoff {
            base: Duration::from_millis(50),
            max: Duration::from_millis(200),
        },
    )
}

async fn create(tenants: &TenantService, name: &str) -> TenantId {
    tenants
        .create(
            CreateTenantInput {
                name: name.into(),
                plan: Some("free".into()),
                ..Default::default()
            },
            &CommandContext::new(Actor::System),
        )
        .await
        .expect("create")
        .tenant_id
}

async fn event_types(store: &dyn EventStore, tenant: TenantId) -> Vec<String> {
    store
        .read_stream(&tenant.stream_id(), 0, 1000)
        .await
        .expect("read")
        .into_iter()
        .map(|e| e.event_type)
        .collect()
}

/// A drive that runs a step would hang in it: fail instead.
async fn bounded<T>(drive: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), drive)
        .await
        .expect("the drive ran a step (it hangs) or never ended")
}

#[tokio::test]
async fn a_drive_that_lost_its_lease_applies_and_records_nothing() {
    let (_db, store, tenants) = setup().await;
    let provisioner = Arc::new(Hanging::default());
    let saga = saga(&tenants, provisioner.clone());

    // Lost from the start: not even the start of provisioning is recorded.
    let first = create(&tenants, "Never Started").await;
    let lease = Expiring::new(0);
    let outcome = bounded(saga.drive_fenced(first, &mut 0, Some(&*lease))).await;
    assert!(matches!(outcome, Err(SagaError::LeaseLost)), "{outcome:?}");
    assert_eq!(event_types(&*store, first).await, ["TenantCreated"]);

    // Held for one check (the record of `ProvisioningRequested`), lost before the first step.
    let second = create(&tenants, "Stopped Before Step").await;
    let lease = Expiring::new(1);
    let outcome = bounded(saga.drive_fenced(second, &mut 0, Some(&*lease))).await;
    assert!(matches!(outcome, Err(SagaError::LeaseLost)), "{outcome:?}");
    assert_eq!(
        event_types(&*store, second).await,
        ["TenantCreated", "ProvisioningRequested"]
    );
    assert_eq!(provisioner.applies.load(Ordering::SeqCst), 0, "no step ran");
}

#[tokio::test]
async fn the_runner_cancels_its_drives_in_flight_when_the_lease_is_lost() {
    let (db, store, tenants) = setup().await;
    let provisioner = Arc::new(Hanging::default());
    // Held until the drive is inside its first step's apply; then lost.
    let lease = Expiring::new(usize::MAX);
    let runner = SagaRunner::new(
        Arc::new(saga(&tenants, provisioner.clone())),
        store.clone(),
        Arc::new(ReadModelWork::new(db.pool.clone())),
        lease.clone(),
        SagaConfig {
            heartbeat: Duration::from_millis(200),
            sweep_interval: Duration::from_secs(600),
            lease_retry: Duration::from_millis(100),
            ..SagaConfig::default()
        },
    );
    let tenant = create(&tenants, "Cancelled Midway").await;
    let handle = runner.start();

    let deadline = Instant::now() + Duration::from_secs(60);
    while provisioner.applies.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "no step was ever applied");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    lease.lose();
    while !provisioner.cancelled.load(Ordering::SeqCst) {
        assert!(
            Instant::now() < deadline,
            "the drive in flight was never cancelled (applies: {}, lease checks: {})",
            provisioner.applies.load(Ordering::SeqCst),
            lease.checks.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(provisioner.applies.load(Ordering::SeqCst), 1);
    // Not leading any more: nothing else runs or is recorded.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(provisioner.applies.load(Ordering::SeqCst), 1);
    assert_eq!(
        event_types(&*store, tenant).await,
        ["TenantCreated", "ProvisioningRequested"]
    );
    handle.shutdown().await;
}
