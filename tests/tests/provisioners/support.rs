//! A fresh control-plane database with the provisioning adapters over it, tenants with unique
//! ids, and [`Harness::run`], which releases every tenant a test made even when the test fails.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgConnection};
use tenantry_application::provisioning::{
    ExistingResource, Faults, ProvisionError, Provisioner, ResourceInventory, SecretStore,
    TenantSpec,
};
use tenantry_domain::{
    IsolationModel, ProvisionedResource, ProvisioningStep, ReservedSubdomains, Slug, TenantId,
};
use tenantry_infrastructure::provisioning::TenantProvisioner;
use tenantry_infrastructure::secrets::{PgSecretStore, SecretKey};
use tenantry_tests::TestDb;

pub(crate) struct Harness {
    pub(crate) db: TestDb,
    pub(crate) redis: redis::Client,
    pub(crate) key: SecretKey,
    pub(crate) secrets: Arc<dyn SecretStore>,
    pub(crate) adapter: TenantProvisioner,
    pub(crate) provisioner: Arc<dyn Provisioner>,
    tenants: Mutex<Vec<TenantId>>,
}

impl Harness {
    pub(crate) async fn new() -> Self {
        Self::with_faults(Faults::none()).await
    }

    /// With `faults` consulted inside the steps (`during_apply`, `during_release`).
    pub(crate) async fn with_faults(faults: Faults) -> Self {
        let db = TestDb::new().await;
        let redis = redis::Client::open(redis_url()).expect("a valid Redis URL");
        let key = SecretKey::generate();
        let secrets: Arc<dyn SecretStore> = Arc::new(PgSecretStore::new(db.pool.clone(), &key));
        let adapter = TenantProvisioner::new(
            db.pool.clone(),
            redis.clone(),
            secrets.clone(),
            Arc::new(faults),
        );
        Self {
            db,
            redis,
            key,
            secrets,
            provisioner: Arc::new(adapter.clone()),
            adapter,
            tenants: Mutex::default(),
        }
    }

    /// A provisioner over the same database and Redis without faults: "after the restart".
    pub(crate) fn restarted(&self) -> TenantProvisioner {
        TenantProvisioner::new(
            self.db.pool.clone(),
            self.redis.clone(),
            self.secrets.clone(),
            Arc::new(Faults::none()),
        )
    }

    /// Runs `test`, then releases every tenant it made (whether it passed or not), then passes
    /// its panic on.
    pub(crate) async fn run<'a, F, Fut>(&'a self, test: F)
    where
        F: FnOnce(&'a Self) -> Fut,
        Fut: Future<Output = ()> + 'a,
    {
        let outcome = AssertUnwindSafe(test(self)).catch_unwind().await;
        let tenants = self.tenants.lock().unwrap().clone();
        let cleaner = self.restarted();
        for tenant in tenants {
            for step in ProvisioningStep::ALL.iter().rev() {
                if let Err(e) = cleaner.release(tenant, *step).await {
                    eprintln!("cleanup: release of {step} for {tenant} failed: {e}");
                }
            }
        }
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }

    /// A new tenant with a unique id, released by [`Harness::run`].
    pub(crate) fn tenant(&self, isolation: IsolationModel) -> TenantSpec {
        let id = TenantId::from_uuid(uuid::Uuid::now_v7());
        self.tenants.lock().unwrap().push(id);
        let slug = format!("t-{}", &id.as_uuid().simple().to_string()[24..]);
        TenantSpec {
            id,
            slug: Slug::parse(&slug, &ReservedSubdomains::default()).expect("a valid slug"),
            isolation,
        }
    }

    /// Applies every step of the tenant's isolation model, in order.
    pub(crate) async fn apply_all(&self, tenant: &TenantSpec) -> Vec<ProvisionedResource> {
        apply_all(self.provisioner.as_ref(), tenant)
            .await
            .expect("every step applies")
    }

    /// Releases every step of the tenant's isolation model, in reverse order.
    pub(crate) async fn release_all(&self, tenant: &TenantSpec) {
        for step in ProvisioningStep::sequence(tenant.isolation).iter().rev() {
            self.provisioner
                .release(tenant.id, *step)
                .await
                .unwrap_or_else(|e| panic!("release of {step} failed: {e}"));
        }
    }

    /// What exists for `tenant`, by the inventory.
    pub(crate) async fn remaining(&self, tenant: TenantId) -> Vec<ExistingResource> {
        self.adapter
            .list()
            .await
            .expect("the inventory lists")
            .into_iter()
            .filter(|r| r.tenant == Some(tenant))
            .collect()
    }

    /// A superuser connection of its own to the control-plane database.
    pub(crate) async fn connect(&self) -> PgConnection {
        self.options().connect().await.expect("connects")
    }

    pub(crate) fn options(&self) -> PgConnectOptions {
        self.db.url.parse().expect("a valid database URL")
    }
}

pub(crate) async fn apply_all(
    provisioner: &dyn Provisioner,
    tenant: &TenantSpec,
) -> Result<Vec<ProvisionedResource>, ProvisionError> {
    let mut made = Vec::new();
    for step in ProvisioningStep::sequence(tenant.isolation) {
        made.push(provisioner.apply(tenant, *step).await?);
    }
    Ok(made)
}

pub(crate) fn redis_url() -> String {
    std::env::var("TENANTRY_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The SQLSTATE of a failed query, or a panic.
pub(crate) fn sqlstate(error: sqlx::Error) -> String {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .unwrap_or_else(|| panic!("expected a database error, got {error}"))
        .into_owned()
}
