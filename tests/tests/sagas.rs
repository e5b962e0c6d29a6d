//! The provisioning and deletion saga end to end, over real PostgreSQL and Redis: through the
//! API, with failures and crashes injected (`TENANTRY_FAULTS`), checked against what exists.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection;
use tenantry_application::doctor::Doctor;
use tenantry_application::provisioning::{ExistingResource, Faults};
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
    /// The service with the saga on, retrying fast, with `faults` injected.
    async fn spawn(faults: &str, max_tries: u32, retry_base_ms: u64) -> Self {
        Self::spawn_on(TestDb::new().await, faults, max_tries, retry_base_ms).await
    }

    /// The same, over an existing database (a restart).
    async fn spawn_on(db: TestDb, faults: &str, max_tries: u32, retry_base_ms: u64) -> Self {
        let faults = faults.to_owned();
        let app = TestApp::spawn_with(db, move |s| {
            s.run_sagas = true;
            s.faults = faults;
            s.provisioning_max_tries = max_tries;
            s.provisioning_retry_base_ms = retry_base_ms;
            s.provisioning_retry_max_ms = retry_base_ms * 4;
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

    /// Polls until the tenant's status is `status`, and answers with the tenant.
    async fn wait_for(&self, id: TenantId, status: &str) -> Value {
        until(&format!("tenant {id} {status}"), || async {
            self.tenant(id).await["status"] == status
        })
        .await;
        self.tenant(id).await
    }

    async fn delete(&self, id: TenantId) {
        let response = self
            .app
            .delete_auth(&format!("/platform/api/tenants/{id}"), &self.token)
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }

    /// Asks for `id`'s deletion and waits until it is deleted with nothing left of it.
    async fn delete_and_wait(&self, id: TenantId) {
        self.delete(id).await;
        self.wait_for(id, "deleted").await;
        self.assert_nothing_left(id).await;
    }

    async fn assert_nothing_left(&self, id: TenantId) {
        let left = self.resources_of(id).await;
        assert!(left.is_empty(), "left of {id}: {left:?}");
    }

    /// What exists of `id`'s, in PostgreSQL, Redis and the secret store.
    async fn resources_of(&self, id: TenantId) -> Vec<ExistingResource> {
        let all = self.adapters.inventory.list().await.expect("inventory");
        all.into_iter().filter(|r| r.tenant == Some(id)).collect()
    }

    /// The drift report finds nothing of this control plane's.
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
}

/// Polls `check` until it holds (panics after 60 s, saying `what` never happened).
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

/// Polls `check` until it gives a value (panics after 60 s, saying `what` never happened).
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "{what} never happened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_isolation_model_provisions_works_and_is_deleted_without_a_trace() {
    let s = Saga::spawn("", 5, 100).await;
    let shared = s.create(json!({"name": "Shared Co", "plan": "free"})).await;
    let schema = s.create(json!({"name": "Schema Co", "plan": "pro"})).await;
    let database = s
        .create(json!({"name": "Database Co", "plan": "enterprise", "slug": "database-co"}))
        .await;

    for id in [shared, schema, database] {
        let tenant = s.wait_for(id, "active").await;
        assert_eq!(tenant["provisioning"]["status"], "completed", "{tenant}");
        assert_eq!(
            tenant["infrastructure"]["redis_namespace"],
            TenantNames::of(id).redis_namespace()
        );
        assert_eq!(
            tenant["infrastructure"]["queues"].as_array().map(Vec::len),
            Some(1)
        );
    }
    let t = s.tenant(schema).await;
    assert_eq!(
        t["infrastructure"]["schema"],
        TenantNames::of(schema).schema()
    );
    let t = s.tenant(database).await;
    assert_eq!(
        t["infrastructure"]["database"],
        TenantNames::of(database).database()
    );

    // The database tenant's role logs in with its stored password and writes its database.
    let password = s
        .adapters
        .secrets
        .get(&TenantNames::of(database).postgres_secret())
        .await
        .expect("secret store")
        .expect("a password");
    let names = TenantNames::of(database);
    let name = names.role();
    let mut conn = sqlx::PgConnection::connect(&format!(
        "postgres://{name}:{}@127.0.0.1:5432/{name}",
        password.expose()
    ))
    .await
    .expect("the tenant's login");
    sqlx::query("INSERT INTO records (kind) VALUES ('probe')")
        .execute(&mut conn)
        .await
        .expect("the tenant writes its own database");
    conn.close().await.ok();

    // The Redis user writes its namespace and nothing else.
    let password = s
        .adapters
        .secrets
        .get(&TenantNames::of(shared).redis_secret())
        .await
        .expect("secret store")
        .expect("a password");
    let client = redis::Client::open(format!(
        "redis://{}:{}@127.0.0.1:6379",
        TenantNames::of(shared).redis_user(),
        password.expose()
    ))
    .expect("url");
    let mut redis = client
        .get_multiplexed_async_connection()
        .await
        .expect("the tenant's Redis user");
    let own: redis::RedisResult<()> = redis::cmd("SET")
        .arg(format!(
            "{}probe",
            TenantNames::of(shared).redis_namespace()
        ))
        .arg("1")
        .query_async(&mut redis)
        .await;
    assert!(own.is_ok(), "{own:?}");
    let other: redis::RedisResult<()> = redis::cmd("SET")
        .arg(format!(
            "{}probe",
            TenantNames::of(schema).redis_namespace()
        ))
        .arg("1")
        .query_async(&mut redis)
        .await;
    assert!(other.is_err(), "another tenant's key is refused");
    s.assert_no_drift().await;

    for id in [shared, schema, database] {
        s.delete(id).await;
    }
    for id in [shared, schema, database] {
        s.wait_for(id, "deleted").await;
        s.assert_nothing_left(id).await;
    }
    s.assert_no_drift().await;
    // A deleted tenant's slug may be taken again.
    let again = s
        .create(json!({"name": "Database Co again", "slug": "database-co"}))
        .await;
    s.wait_for(again, "active").await;
    s.delete_and_wait(again).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_that_fails_twice_then_succeeds_ends_active_with_two_failures() {
    let s = Saga::spawn("queue:2", 5, 50).await;
    let id = s
        .create(json!({"name": "Flaky Queue", "plan": "free"}))
        .await;
    s.wait_for(id, "active").await;
    let types = s.event_types(id).await;
    let failures = types
        .iter()
        .filter(|t| *t == "ProvisioningStepFailed")
        .count();
    let retries = types
        .iter()
        .filter(|t| *t == "ProvisioningRetryScheduled")
        .count();
    assert_eq!((failures, retries), (2, 2), "{types:?}");
    s.delete_and_wait(id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_that_always_fails_rolls_back_and_leaves_nothing() {
    let s = Saga::spawn("redis_namespace:always", 3, 50).await;
    let id = s.create(json!({"name": "Doomed", "plan": "pro"})).await;
    let tenant = s.wait_for(id, "failed").await;
    assert_eq!(tenant["provisioning"]["status"], "failed", "{tenant}");
    let types = s.event_types(id).await;
    assert!(
        types.contains(&"ProvisioningRolledBack".to_owned()),
        "{types:?}"
    );
    assert!(
        types.contains(&"ResourceReleased".to_owned()),
        "the schema was released: {types:?}"
    );
    s.assert_nothing_left(id).await;
    s.assert_no_drift().await;
    // A failed tenant can be deleted.
    s.delete_and_wait(id).await;
}

/// One request's story: every event its provisioning led to (steps, failures, retries, the
/// rollback) carries the creating request's correlation id and names the event it reacted to as
/// its causation; `GET /platform/api/audit?correlation_id=` returns exactly that story, and the
/// deletion, a request of its own, has a story of its own told by `saga:deletion`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_requests_correlation_id_follows_its_provisioning_retries_and_rollback() {
    let s = Saga::spawn("redis_namespace:always", 3, 50).await;
    let id = s.create(json!({"name": "Traced", "plan": "pro"})).await;
    s.wait_for(id, "failed").await;

    let audit = |query: String| {
        let s = &s;
        async move {
            let response = s
                .app
                .get_auth(&format!("/platform/api/audit?{query}&limit=500"), &s.token)
                .await;
            assert_eq!(response.status(), StatusCode::OK);
            let page: Value = response.json().await.expect("json");
            page["items"].as_array().cloned().unwrap_or_default()
        }
    };
    let of_tenant = |items: &[Value]| -> Vec<Value> {
        items
            .iter()
            .filter(|i| i["stream_id"] == id.stream_id())
            .cloned()
            .collect()
    };
    // The audit log has the whole attempt once it shows the rollback's end.
    let history = eventually("the audit log shows the rollback", || async {
        let history = of_tenant(&audit(format!("tenant={id}")).await);
        let done = history
            .iter()
            .any(|i| i["event_type"] == "ProvisioningRolledBack");
        done.then_some(history)
    })
    .await;
    let created = &history[0];
    assert_eq!(created["event_type"], "TenantCreated");
    assert!(
        created["actor"].as_str().unwrap().starts_with("staff:"),
        "{created}"
    );
    let correlation = created["correlation_id"]
        .as_str()
        .expect("a correlation id");

    let everything = audit(format!("correlation_id={correlation}")).await;
    let types = |items: &[Value]| -> Vec<String> {
        items
            .iter()
            .map(|i| i["event_type"].as_str().unwrap().to_owned())
            .collect()
    };
    // Besides the tenant's stream, the request claimed the slug, and nothing else.
    let story = of_tenant(&everything);
    let elsewhere: Vec<String> = types(&everything)
        .into_iter()
        .filter(|t| !types(&story).contains(t))
        .collect();
    assert_eq!(elsewhere, ["SlugClaimed"]);
    let told = types(&story);
    let told: Vec<&str> = told.iter().map(String::as_str).collect();
    let lived = types(&history);
    let lived: Vec<&str> = lived.iter().map(String::as_str).collect();
    assert_eq!(
        told, lived,
        "the correlation holds the tenant's whole story"
    );
    for expected in [
        "ProvisioningRequested",
        "SchemaProvisioned",
        "ProvisioningStepFailed",
        "ProvisioningRetryScheduled",
        "ProvisioningRollbackStarted",
        "ResourceReleased",
        "ProvisioningRolledBack",
    ] {
        assert!(told.contains(&expected), "{expected} missing from {told:?}");
    }
    assert_eq!(
        told.iter()
            .filter(|t| **t == "ProvisioningStepFailed")
            .count(),
        3
    );
    for item in &story[1..] {
        assert_eq!(item["actor"], "saga:provisioning", "{item}");
    }

    // Each saga event names an earlier event of the tenant's stream as its cause.
    let store = tenantry_infrastructure::event_store::PgEventStore::new(
        s.app.db.pool.clone(),
        tenantry_application::event_store::Upcasters::new(),
    );
    let stream = tenantry_application::event_store::EventStore::read_stream(
        &store,
        &id.stream_id(),
        1,
        1000,
    )
    .await
    .expect("the tenant's stream");
    for (i, event) in stream.iter().enumerate().skip(1) {
        let cause = event
            .metadata
            .causation_id
            .expect("a saga event has a cause");
        assert!(
            stream[..i].iter().any(|earlier| earlier.event_id == cause),
            "{} at version {} names {cause}, not an earlier event",
            event.event_type,
            event.stream_version
        );
    }

    // The deletion is a request of its own: its story is the deletion saga's.
    s.delete_and_wait(id).await;
    let deletion = eventually("the audit log shows the deletion", || async {
        let deletion = of_tenant(&audit(format!("tenant={id}")).await);
        let done = deletion.iter().any(|i| i["event_type"] == "TenantDeleted");
        done.then_some(deletion)
    })
    .await;
    let requested = deletion
        .iter()
        .find(|i| i["event_type"] == "TenantDeletionRequested")
        .expect("the deletion request");
    assert_ne!(requested["correlation_id"], correlation);
    let story = audit(format!(
        "correlation_id={}",
        requested["correlation_id"].as_str().unwrap()
    ))
    .await;
    let deleted = story
        .iter()
        .find(|i| i["event_type"] == "TenantDeleted")
        .expect("TenantDeleted in the deletion's story");
    assert_eq!(deleted["actor"], "saga:deletion");
    assert!(
        story
            .iter()
            .any(|i| i["event_type"] == "SlugReleased" && i["actor"] == "saga:deletion"),
        "the slug's release belongs to the deletion: {story:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_each_named_point_resumes_to_the_end() {
    // Each entry panics the saga's task once per tenant at its point; the runner finds the tenant
    // again (its sweep) and carries on from what the events say.
    let faults = [
        "panic:before_apply:schema:1",
        "panic:during_apply:database:1",
        "panic:after_apply:tenant_migrations:1",
        "panic:after_record:redis_namespace:1",
        "panic:after_apply:register_shared_tenant:1",
        "panic:before_release:queue:1",
        "panic:during_release:redis_namespace:1",
        "panic:after_release:schema:1",
        "panic:after_release:database:1",
    ]
    .join(",");
    let s = Saga::spawn(&faults, 5, 50).await;
    let tenants = [
        s.create(json!({"name": "Crash Shared", "plan": "free"}))
            .await,
        s.create(json!({"name": "Crash Schema", "plan": "pro"}))
            .await,
        s.create(json!({"name": "Crash Database", "plan": "enterprise"}))
            .await,
    ];
    for id in tenants {
        s.wait_for(id, "active").await;
    }
    s.assert_no_drift().await;
    for id in tenants {
        s.delete(id).await;
    }
    for id in tenants {
        s.wait_for(id, "deleted").await;
        s.assert_nothing_left(id).await;
    }
    s.assert_no_drift().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_tenant_whose_provisioning_is_still_running() {
    // The Redis step keeps failing, with long waits between tries: the tenant stays provisioning.
    let s = Saga::spawn("redis_namespace:always", 10, 3_000).await;
    let id = s
        .create(json!({"name": "Half Made", "plan": "enterprise"}))
        .await;
    until("a scheduled retry", || async {
        s.event_types(id)
            .await
            .contains(&"ProvisioningRetryScheduled".to_owned())
    })
    .await;
    s.wait_for(id, "provisioning").await;
    s.delete_and_wait(id).await;
    s.assert_no_drift().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_service_finishes_what_a_crashed_one_left() {
    // The first service's saga dies every time right after it made the schema, before recording it.
    let first = Saga::spawn("panic:after_apply:schema", 5, 50).await;
    let id = first
        .create(json!({"name": "Interrupted", "plan": "pro"}))
        .await;
    until("the schema", || async {
        first
            .resources_of(id)
            .await
            .iter()
            .any(|r| r.kind == tenantry_application::provisioning::ResourceKind::Schema)
    })
    .await;
    // The read model may not show the tenant yet when the schema appears: wait for it.
    first.wait_for(id, "provisioning").await;

    // The service stops; a new one starts on the same database, without the fault.
    let db = first.app.db.clone();
    drop(first);
    let second = Saga::spawn_on(db, "", 5, 50).await;
    second.wait_for(id, "active").await;
    second.assert_no_drift().await;
    second.delete_and_wait(id).await;
}

/// The saga does not wait for the log to be readable past a long transaction: the command that
/// creates a tenant hints the runner in its process, and provisioning reads only the tenant's own
/// stream. (The read models do wait: the panel shows the tenant once the transaction ends.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_starts_while_a_long_transaction_holds_the_log_back() {
    let s = Saga::spawn("", 3, 50).await;
    let mut holder = sqlx::PgConnection::connect(&s.app.db.url)
        .await
        .expect("connect");
    let mut long = holder.begin().await.expect("begin");
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *long)
        .await
        .expect("an xid");

    let id = s
        .create(json!({"name": "Early Bird", "plan": "free"}))
        .await;
    until(
        &format!("tenant {id} provisioned behind the horizon"),
        || async {
            s.event_types(id)
                .await
                .contains(&"ProvisioningCompleted".to_owned())
        },
    )
    .await;
    let panel: Option<String> =
        sqlx::query_scalar("SELECT status FROM read.tenant_panel WHERE tenant_id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&s.app.db.pool)
            .await
            .expect("panel");
    assert_eq!(panel, None, "the panel read past an open transaction");

    long.commit().await.expect("commit");
    s.wait_for(id, "active").await;
    s.delete_and_wait(id).await;
}
