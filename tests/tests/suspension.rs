//! Suspension means suspended (issue 12 §4), over real PostgreSQL and Redis through the API: a
//! suspended tenant's database login and Redis user are switched off (and their open sessions
//! ended) by the saga, recorded as `AccessSuspended`, and switched on again after reactivation
//! (`AccessRestored`); a failing switch is retried until it converges, also across a restart; the
//! drift report does not call a switched-off resource drift, and a repair keeps it off.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection;
use tenantry_api::Settings;
use tenantry_api::startup::tenant_service;
use tenantry_application::doctor::Doctor;
use tenantry_application::event_store::EventStore;
use tenantry_application::kernel::CommandContext;
use tenantry_application::provisioning::Faults;
use tenantry_application::reconcile::{Reconciler, RepairOptions};
use tenantry_domain::{TenantId, TenantNames};
use tenantry_infrastructure::provisioning::{ProvisioningAdapters, build};
use tenantry_projections::ReadModelWork;
use tenantry_tests::{TestApp, TestDb};

struct Saga {
    app: TestApp,
    token: String,
    adapters: ProvisioningAdapters,
}

impl Saga {
    async fn spawn(faults: &str) -> Self {
        Self::spawn_on(TestDb::new().await, faults).await
    }

    async fn spawn_on(db: TestDb, faults: &str) -> Self {
        let faults = faults.to_owned();
        let app = TestApp::spawn_with(db, move |s| {
            s.run_sagas = true;
            s.faults = faults;
            s.provisioning_max_tries = 5;
            s.provisioning_retry_base_ms = 50;
            s.provisioning_retry_max_ms = 200;
        })
        .await;
        let token = app.staff_token().await;
        let redis = redis::Client::open("redis://127.0.0.1:6379").expect("redis url");
        let adapters = build(app.db.pool.clone(), redis, None, Faults::none())
            .await
            .expect("adapters");
        Self {
            app,
            token,
            adapters,
        }
    }

    async fn create(&self, body: Value) -> TenantId {
        self.app.create_tenant(&body, &self.token).await
    }

    async fn tenant(&self, id: TenantId) -> Value {
        self.app.tenant_json(id, &self.token).await
    }

    async fn command(&self, id: TenantId, action: &str, body: Value) {
        let response = self
            .app
            .post_json_auth(
                &format!("/platform/api/tenants/{id}/{action}"),
                &body,
                &self.token,
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{action}");
    }

    /// Polls until the tenant is `status` with exactly `off` switched off and nothing pending.
    async fn wait_for_access(&self, id: TenantId, status: &str, off: &[&str]) -> Value {
        until(
            &format!("tenant {id} {status} with {off:?} off"),
            || async {
                let t = self.tenant(id).await;
                t["status"] == status
                    && t["access"]["suspended"] == json!(off)
                    && t["access"]["pending"] == false
            },
        )
        .await;
        self.tenant(id).await
    }

    async fn assert_no_drift(&self) {
        let doctor = Doctor::new(
            self.adapters.inventory.clone(),
            self.adapters.provisioner.clone(),
        );
        let tenants = ReadModelWork::new(self.app.db.pool.clone())
            .tenants()
            .await
            .expect("tenants");
        let report = doctor.examine(&tenants).await.expect("doctor");
        assert!(!report.has_drift(), "drift: {report:?}");
    }

    async fn event_types(&self, id: TenantId) -> Vec<String> {
        tenantry_tests::event_log::event_types(&*self.app.store, &id.stream_id()).await
    }

    async fn postgres_password(&self, id: TenantId) -> String {
        let secret = self
            .adapters
            .secrets
            .get(&TenantNames::of(id).postgres_secret())
            .await
            .expect("secret store")
            .expect("a password");
        secret.expose().to_owned()
    }

    async fn redis_password(&self, id: TenantId) -> String {
        let secret = self
            .adapters
            .secrets
            .get(&TenantNames::of(id).redis_secret())
            .await
            .expect("secret store")
            .expect("a password");
        secret.expose().to_owned()
    }
}

/// The tenant's own database login, with its stored password.
async fn pg_login(id: TenantId, password: &str) -> Result<sqlx::PgConnection, sqlx::Error> {
    let name = TenantNames::of(id).role().to_owned();
    sqlx::PgConnection::connect(&format!(
        "postgres://{name}:{password}@127.0.0.1:5432/{name}"
    ))
    .await
}

/// The tenant's Redis user, authenticated with its stored password.
async fn redis_login(
    id: TenantId,
    password: &str,
) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
    let client = redis::Client::open(format!(
        "redis://{}:{password}@127.0.0.1:6379",
        TenantNames::of(id).redis_user()
    ))?;
    client.get_multiplexed_async_connection().await
}

async fn redis_set(
    conn: &mut redis::aio::MultiplexedConnection,
    id: TenantId,
) -> redis::RedisResult<()> {
    redis::cmd("SET")
        .arg(format!("{}probe", TenantNames::of(id).redis_namespace()))
        .arg("1")
        .query_async(conn)
        .await
}

/// Whether a Redis error is the refusal of a disabled user (WRONGPASS, which the client reports
/// as an authentication failure).
fn refused_auth(error: &str) -> bool {
    let error = error.to_lowercase();
    error.contains("wrongpass")
        || error.contains("authentication failed")
        || error.contains("disabled")
}

async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(Instant::now() < deadline, "{what} never happened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_tenant_cannot_log_in_anywhere_and_can_again_once_reactivated() {
    let s = Saga::spawn("").await;
    let id = s
        .create(json!({"name": "Clinica Suspensa", "plan": "enterprise"}))
        .await;
    until("active", || async {
        s.tenant(id).await["status"] == "active"
    })
    .await;
    let (pg_password, redis_password) = (s.postgres_password(id).await, s.redis_password(id).await);

    // Connections opened before the suspension.
    let mut open_pg = pg_login(id, &pg_password)
        .await
        .expect("the tenant's login");
    sqlx::query("SELECT 1")
        .execute(&mut open_pg)
        .await
        .expect("a query");
    let mut open_redis = redis_login(id, &redis_password)
        .await
        .expect("the Redis user");
    redis_set(&mut open_redis, id)
        .await
        .expect("a write to its namespace");

    s.command(id, "suspend", json!({"reason": "payment overdue"}))
        .await;
    let t = s
        .wait_for_access(id, "suspended", &["database_login", "redis_user"])
        .await;
    assert_eq!(t["suspension"]["reason"], "payment overdue", "{t}");
    assert!(t["suspension"]["suspended_at"].is_string(), "{t}");

    // No new login, and the open ones are ended.
    let refused = match pg_login(id, &pg_password).await {
        Err(error) => error.to_string(),
        Ok(_) => panic!("a suspended tenant's role logged in"),
    };
    assert!(refused.contains("not permitted to log in"), "{refused}");
    let ended = sqlx::query("SELECT 1").execute(&mut open_pg).await;
    assert!(ended.is_err(), "the open session outlived the suspension");
    let refused = match redis_login(id, &redis_password).await {
        Err(error) => error.to_string(),
        Ok(mut conn) => redis_set(&mut conn, id)
            .await
            .expect_err("a suspended tenant's Redis user ran a command")
            .to_string(),
    };
    assert!(refused_auth(&refused), "{refused}");
    let ended = redis_set(&mut open_redis, id).await;
    assert!(
        ended.is_err(),
        "the open Redis client outlived the suspension"
    );

    // Switched off is not drift, and the user and role still exist.
    s.assert_no_drift().await;

    s.command(id, "reactivate", json!({})).await;
    let t = s.wait_for_access(id, "active", &[]).await;
    assert!(t["suspension"].is_null(), "{t}");
    let mut conn = pg_login(id, &pg_password)
        .await
        .expect("the login works again");
    sqlx::query("SELECT 1")
        .execute(&mut conn)
        .await
        .expect("a query");
    conn.close().await.ok();
    let mut conn = redis_login(id, &redis_password)
        .await
        .expect("the Redis user works again");
    redis_set(&mut conn, id).await.expect("a write again");

    let events = s.event_types(id).await;
    for event in ["AccessSuspended", "AccessRestored"] {
        assert_eq!(
            events.iter().filter(|e| *e == event).count(),
            2,
            "{event} once per access: {events:?}"
        );
    }
    s.assert_no_drift().await;

    // A suspended tenant is deleted without a trace.
    s.command(id, "suspend", json!({})).await;
    s.wait_for_access(id, "suspended", &["database_login", "redis_user"])
        .await;
    let response = s
        .app
        .delete_auth(&format!("/platform/api/tenants/{id}"), &s.token)
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    until("deleted", || async {
        s.tenant(id).await["status"] == "deleted"
    })
    .await;
    let left: Vec<_> = s
        .adapters
        .inventory
        .list()
        .await
        .expect("inventory")
        .into_iter()
        .filter(|r| r.tenant == Some(id))
        .collect();
    assert!(left.is_empty(), "left: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_suspension_is_retried_across_a_restart_until_it_converges() {
    // The first service cannot switch the Redis user off (as with Redis down): every try fails.
    let first = Saga::spawn("access:redis_user:always").await;
    let id = first
        .create(json!({"name": "Falha Transitoria", "plan": "free"}))
        .await;
    until("active", || async {
        first.tenant(id).await["status"] == "active"
    })
    .await;
    let password = first.redis_password(id).await;
    first
        .command(id, "suspend", json!({"reason": "abuse"}))
        .await;
    until("two failed tries", || async {
        first
            .event_types(id)
            .await
            .iter()
            .filter(|e| *e == "AccessChangeFailed")
            .count()
            >= 2
    })
    .await;
    until("the panel shows the suspension pending", || async {
        first.tenant(id).await["access"]["pending"] == true
    })
    .await;
    let mut conn = redis_login(id, &password).await.expect("still on");
    redis_set(&mut conn, id).await.expect("still on");

    // A new service on the same database, without the fault, finds the work and finishes it.
    let db = first.app.db.clone();
    drop(first);
    let second = Saga::spawn_on(db, "").await;
    second
        .wait_for_access(id, "suspended", &["redis_user"])
        .await;
    let refused = match redis_login(id, &password).await {
        Err(error) => error.to_string(),
        Ok(mut conn) => redis_set(&mut conn, id)
            .await
            .expect_err("switched off")
            .to_string(),
    };
    assert!(refused_auth(&refused), "{refused}");
    let failed: Vec<Value> = tenantry_tests::event_log::stream(&*second.app.store, &id.stream_id())
        .await
        .into_iter()
        .filter(|e| e.event_type == "AccessChangeFailed")
        .map(|e| e.payload)
        .collect();
    assert!(
        failed
            .iter()
            .all(|p| p["transient"] == true && p["action"] == "suspend"),
        "{failed:?}"
    );
    second.assert_no_drift().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repair_of_a_suspended_tenant_keeps_its_user_switched_off() {
    let s = Saga::spawn("").await;
    let id = s
        .create(json!({"name": "Reparo Suspenso", "plan": "free"}))
        .await;
    until("active", || async {
        s.tenant(id).await["status"] == "active"
    })
    .await;
    s.command(id, "suspend", json!({})).await;
    s.wait_for_access(id, "suspended", &["redis_user"]).await;
    let password = s.redis_password(id).await;

    // Redis loses the user (a restart without an ACL file).
    let mut admin = redis::Client::open("redis://127.0.0.1:6379")
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let user = TenantNames::of(id).redis_user().to_owned();
    let _: () = redis::cmd("ACL")
        .arg("DELUSER")
        .arg(&user)
        .query_async(&mut admin)
        .await
        .expect("deluser");

    let doctor = Doctor::new(s.adapters.inventory.clone(), s.adapters.provisioner.clone());
    let tenants = ReadModelWork::new(s.app.db.pool.clone())
        .tenants()
        .await
        .expect("tenants");
    let report = doctor.examine(&tenants).await.expect("doctor");
    assert!(report.has_drift(), "the lost user is drift");
    let mut settings = Settings::from_env();
    settings.database_url = s.app.db.url.clone();
    let store: std::sync::Arc<dyn EventStore> = s.app.store.clone();
    let reconciler = Reconciler::new(
        s.adapters.provisioner.clone(),
        s.adapters.secrets.clone(),
        tenant_service(&settings, store).expect("service"),
        CommandContext::new(Reconciler::background_actor()),
    );
    let outcome = reconciler.repair(&report, RepairOptions::default()).await;
    assert_eq!(outcome.repaired(), 1, "{outcome:?}");
    assert_eq!(outcome.left(), 0, "{outcome:?}");

    // The user is back, and still off.
    let flags: Vec<redis::Value> = redis::cmd("ACL")
        .arg("GETUSER")
        .arg(&user)
        .query_async(&mut admin)
        .await
        .expect("getuser");
    let described = format!("{flags:?}");
    assert!(described.contains("off"), "{described}");
    assert!(
        redis_login(id, &password).await.is_err(),
        "the repaired user of a suspended tenant let its application in"
    );
    let report = doctor.examine(&tenants).await.expect("doctor");
    assert!(!report.has_drift(), "{report:?}");
}
