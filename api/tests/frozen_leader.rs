//! A frozen leader (issue 11): two `tenantry serve` processes on one database; the one that leads
//! the projectors and the saga is frozen with SIGSTOP, its connections left open. Within the
//! liveness bound the other leads both (a tenant created through it becomes active, the read
//! models move); resumed with SIGCONT, the old leader notices it lost the lead and does nothing
//! stale: it applies no step, the checkpoints never go backwards, no event is recorded twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::PgPool;
use tenantry_application::event_store::EventStore;
use tenantry_tests::serve_process::message;
use tenantry_tests::{STAFF_PASSWORD, ServeProcess, TestDb};

/// The liveness bound the processes run with (shorter than the default, to keep the test short;
/// long enough for a loaded machine).
const LIVENESS_SECS: &str = "5";
/// Generous: the machine is shared by builds.
const DEADLINE: Duration = Duration::from_secs(120);

const PROJECTORS: usize = 4;

fn serve(db: &TestDb) -> ServeProcess {
    ServeProcess::start(
        env!("CARGO_BIN_EXE_tenantry").as_ref(),
        db,
        &[
            ("TENANTRY_LEADER_LIVENESS_SECS", LIVENESS_SECS),
            ("TENANTRY_PROVISIONING_RETRY_BASE_MS", "50"),
        ],
        DEADLINE,
    )
}

fn leads_saga(line: &Value) -> bool {
    message(line) == "leading the provisioning saga"
}

fn lost_saga(line: &Value) -> bool {
    message(line).starts_with("lost the saga lease")
}

fn applies_step(line: &Value) -> bool {
    message(line) == "applying a provisioning step"
}

/// The projectors that `process` started leading from line `from` on.
fn projectors_led(process: &ServeProcess, from: usize) -> usize {
    process
        .lines_since(from)
        .iter()
        .filter(|l| message(l) == "leading projector")
        .count()
}

struct Api {
    client: reqwest::Client,
    token: String,
}

impl Api {
    async fn login(process: &ServeProcess, email: &str) -> Self {
        let client = reqwest::Client::new();
        let response = client
            .post(format!("{}/platform/api/auth/login", process.address))
            .json(&serde_json::json!({"email": email, "password": STAFF_PASSWORD}))
            .send()
            .await
            .expect("login");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        let token = body["access_token"].as_str().expect("token").to_owned();
        Self { client, token }
    }

    async fn create(&self, process: &ServeProcess, name: &str) -> String {
        let response = self
            .client
            .post(format!("{}/platform/api/tenants", process.address))
            .bearer_auth(&self.token)
            .json(&serde_json::json!({"name": name, "plan": "free"}))
            .send()
            .await
            .expect("create");
        let status = response.status();
        let body: Value = response.json().await.expect("json");
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("id").to_owned()
    }

    async fn delete(&self, process: &ServeProcess, id: &str) {
        let response = self
            .client
            .delete(format!("{}/platform/api/tenants/{id}", process.address))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("delete");
        assert!(response.status().is_success(), "{}", response.status());
    }

    /// The tenant's status as `process`'s read models say (`None` while they do not know it).
    async fn status(&self, process: &ServeProcess, id: &str) -> Option<String> {
        let response = self
            .client
            .get(format!("{}/platform/api/tenants/{id}", process.address))
            .bearer_auth(&self.token)
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        let body: Value = response.json().await.ok()?;
        body["status"].as_str().map(str::to_owned)
    }

    /// Waits until the read models say `id` is `status`.
    async fn wait_for(&self, process: &ServeProcess, id: &str, status: &str) -> Duration {
        let started = Instant::now();
        loop {
            let now = self.status(process, id).await;
            if now.as_deref() == Some(status) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < DEADLINE,
                "{id} never {status} (is {now:?}); the process logged: {:#?}",
                process.messages(0)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Every projector's checkpoint, by name.
async fn checkpoints(pool: &PgPool) -> Vec<(String, i64, i64)> {
    sqlx::query_as("SELECT name, commit, position FROM read.projector_checkpoints ORDER BY name")
        .fetch_all(pool)
        .await
        .unwrap_or_default()
}

/// Watches the checkpoints until told to stop; true when one ever went backwards.
fn watch_checkpoints(pool: PgPool, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Vec<String>> {
    tokio::spawn(async move {
        let mut last: std::collections::HashMap<String, (i64, i64)> = Default::default();
        let mut backwards = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            for (name, commit, position) in checkpoints(&pool).await {
                if let Some(&before) = last.get(&name)
                    && (commit, position) < before
                {
                    backwards.push(format!("{name}: {before:?} -> {:?}", (commit, position)));
                }
                last.insert(name, (commit, position));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        backwards
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_leader_is_replaced_and_does_nothing_stale_when_it_wakes() {
    let db = TestDb::new().await;
    let store: Arc<dyn EventStore> = Arc::new(db.event_store());
    let staff = tenantry_api::startup::staff_service(&db.pool, &store);
    let email = format!("staff-{}@example.com", uuid::Uuid::new_v4().simple());
    staff.create(&email, STAFF_PASSWORD).await.expect("staff");

    // The first process leads everything before the second starts.
    let old = serve(&db);
    assert!(
        old.wait_for_line(0, DEADLINE, leads_saga).is_some(),
        "{:#?}",
        old.messages(0)
    );
    let until = Instant::now() + DEADLINE;
    while projectors_led(&old, 0) < PROJECTORS {
        assert!(Instant::now() < until, "{:#?}", old.messages(0));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let new = serve(&db);
    let api = Api::login(&new, &email).await;
    let before = api.create(&new, "Before Freeze").await;
    api.wait_for(&new, &before, "active").await;
    assert!(!new.logged(0, "leading the provisioning saga"));
    assert_eq!(projectors_led(&new, 0), 0, "{:#?}", new.messages(0));

    let stop = Arc::new(AtomicBool::new(false));
    let watcher = watch_checkpoints(db.pool.clone(), stop.clone());

    // Frozen while it drives tenants: its connections stay open, it answers nothing.
    let mark = old.line_count();
    let mut in_flight = Vec::new();
    for n in 0..6 {
        in_flight.push(api.create(&new, &format!("In Flight {n}")).await);
    }
    assert!(
        old.wait_for_line(mark, DEADLINE, applies_step).is_some(),
        "{:#?}",
        old.messages(mark)
    );
    old.freeze();
    let frozen = Instant::now();
    let during = api.create(&new, "During Freeze").await;
    let took = api.wait_for(&new, &during, "active").await;
    for id in &in_flight {
        api.wait_for(&new, id, "active").await;
    }
    eprintln!(
        "frozen leader -> a tenant created meanwhile active and read: {:.1} s (bound {LIVENESS_SECS} s)",
        took.as_secs_f64()
    );
    assert!(new.logged(0, "leading the provisioning saga"));
    let until = Instant::now() + DEADLINE;
    while projectors_led(&new, 0) < PROJECTORS {
        assert!(Instant::now() < until, "{:#?}", new.messages(0));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "frozen leader -> every projector led by the other process: {:.1} s",
        frozen.elapsed().as_secs_f64()
    );

    // Woken up: it finds its lease gone, says so once, and applies nothing.
    let woken = old.line_count();
    old.resume();
    assert!(
        old.wait_for_line(woken, DEADLINE, lost_saga).is_some(),
        "the old leader never noticed: {:#?}",
        old.messages(woken)
    );
    let after = api.create(&new, "After Wake").await;
    api.wait_for(&new, &after, "active").await;
    // Room for anything stale the old one might still do.
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let backwards = watcher.await.expect("watcher");
    assert!(backwards.is_empty(), "checkpoints went back: {backwards:?}");

    let since = old.lines_since(woken);
    assert_eq!(
        since.iter().filter(|l| lost_saga(l)).count(),
        1,
        "{:#?}",
        old.messages(woken)
    );
    assert!(
        !since.iter().any(applies_step) && !since.iter().any(leads_saga),
        "the old leader acted after waking: {:#?}",
        old.messages(woken)
    );
    assert_eq!(
        since
            .iter()
            .filter(|l| message(l) == "leading projector")
            .count(),
        0,
        "{:#?}",
        old.messages(woken)
    );

    // Nothing recorded twice: each tenant's provisioning completed once, and no event but a
    // failed try and its retry appears twice in a history (each step's success is its own type).
    let completed: Vec<(String, i64)> = sqlx::query_as(
        "SELECT stream_id, count(*) FILTER (WHERE event_type = 'ProvisioningCompleted')
           FROM events WHERE stream_id LIKE 'tenant-%' GROUP BY stream_id",
    )
    .fetch_all(&db.pool)
    .await
    .expect("histories");
    assert_eq!(completed.len(), 3 + in_flight.len(), "{completed:?}");
    assert!(completed.iter().all(|(_, n)| *n == 1), "{completed:?}");
    let twice: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT stream_id, event_type, count(*) FROM events
          WHERE stream_id LIKE 'tenant-%'
            AND event_type NOT IN ('ProvisioningStepFailed', 'ProvisioningRetryScheduled')
          GROUP BY 1, 2 HAVING count(*) > 1",
    )
    .fetch_all(&db.pool)
    .await
    .expect("duplicates");
    assert!(twice.is_empty(), "recorded twice: {twice:?}");

    // Leave nothing behind on the shared servers.
    let all: Vec<&String> = [&before, &during, &after]
        .into_iter()
        .chain(&in_flight)
        .collect();
    for id in &all {
        api.delete(&new, id).await;
    }
    for id in &all {
        api.wait_for(&new, id, "deleted").await;
    }
}
