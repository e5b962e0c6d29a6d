//! Hung saga drives are reported (issue 11): a step that does not end — here the database step of
//! a `database_per_tenant` tenant, waiting for the tenant template's lock, which the test holds —
//! shows, once it has been at work longer than `TENANTRY_HUNG_DRIVE_SECS`, in `/readyz`
//! (`degraded`, with the tenant), in `/metrics` (`tenantry_saga_hung_drives`) and in `tenantry
//! projections status`, a separate process that reads it from the database. Once the lock is
//! given up the tenant goes on and the reports clear.
//!
//! On a private PostgreSQL cluster and Redis: the tenant's role, database and Redis user go with
//! them.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use tenantry_tests::{PrivatePg, PrivateRedis, TestApp, TestDb};

/// The bound the test sets (seconds).
const BOUND: u64 = 2;
/// The advisory lock a template copy shares (`infrastructure::provisioning::template`).
const TEMPLATE_LOCK: &str = "SELECT pg_advisory_lock(1413828180, hashtext('tenant template'))";

async fn readyz(app: &TestApp) -> (u16, Value) {
    let response = app.get("/readyz").await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

fn projections_status(app: &TestApp) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_tenantry"))
        .args(["projections", "status"])
        .env("TENANTRY_DATABASE_URL", &app.db.url)
        .env("TENANTRY_HUNG_DRIVE_SECS", BOUND.to_string())
        .env("RUST_LOG", "error")
        .output()
        .expect("tenantry projections status runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_that_does_not_end_is_reported_hung_everywhere_then_clears() {
    let pg = PrivatePg::start_new();
    let redis = PrivateRedis::start().await;
    let db = TestDb::on_server(&pg.server_url()).await;
    let redis_url = redis.url();
    let app = TestApp::spawn_with(db, move |s| {
        s.run_sagas = true;
        s.redis_url = redis_url;
        s.hung_drive_secs = BOUND;
        // Long enough that the step's own limit does not end it while the test looks.
        s.step_timeouts = "database=600".into();
    })
    .await;
    let (code, ready) = readyz(&app).await;
    assert_eq!(
        (code, ready["status"].as_str()),
        (200, Some("ready")),
        "{ready}"
    );
    assert_eq!(ready["drives"]["hung"], 0, "{ready}");
    assert_eq!(ready["drives"]["status"], "ok", "{ready}");
    assert!(projections_status(&app).contains("saga drives: none hung"));

    // Every template copy waits while the test holds the template lock alone.
    let mut holder = PgConnection::connect(&app.db.url).await.expect("connect");
    sqlx::query(TEMPLATE_LOCK)
        .execute(&mut holder)
        .await
        .expect("lock");
    let token = app.staff_token().await;
    let created = app
        .post_json_auth(
            "/platform/api/tenants",
            &json!({"name": "Hung Drive", "plan": "enterprise"}),
            &token,
        )
        .await;
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let deadline = Instant::now() + Duration::from_secs(60);
    let ready = loop {
        let (code, ready) = readyz(&app).await;
        if ready["drives"]["hung"] == 1 {
            assert_eq!(code, 200, "{ready}");
            break ready;
        }
        assert!(Instant::now() < deadline, "never reported hung: {ready}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(ready["status"], "degraded", "{ready}");
    let drives = &ready["drives"];
    assert_eq!(drives["status"], "hung", "{ready}");
    assert_eq!(drives["bound_seconds"], BOUND, "{ready}");
    assert!(
        drives["oldest_seconds"].as_f64().expect("seconds") >= BOUND as f64,
        "{ready}"
    );
    assert_eq!(drives["tenants"][0]["tenant_id"], id.as_str(), "{ready}");
    assert_eq!(drives["tenants"][0]["step"], "database", "{ready}");

    let metrics = app.get("/metrics").await.text().await.expect("text");
    assert!(
        metrics.lines().any(|l| l == "tenantry_saga_hung_drives 1"),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("tenantry_saga_hung_drive_oldest_seconds ")),
        "{metrics}"
    );
    let status = projections_status(&app);
    assert!(status.contains("saga drives: 1 hung"), "{status}");
    assert!(
        status
            .lines()
            .any(|l| l.contains(&id) && l.contains("database")),
        "{status}"
    );

    // Given the lock, the step ends, the tenant goes on and nothing is hung any more.
    holder.close().await.expect("unlock");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let shown = app
            .get_auth(&format!("/platform/api/tenants/{id}"), &token)
            .await
            .json::<Value>()
            .await
            .expect("json");
        let (_, ready) = readyz(&app).await;
        if shown["status"] == "active" && ready["drives"]["hung"] == 0 {
            assert_eq!(ready["status"], "ready", "{ready}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the tenant did not go on: {shown} {ready}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let metrics = app.get("/metrics").await.text().await.expect("text");
    assert!(
        metrics.lines().any(|l| l == "tenantry_saga_hung_drives 0"),
        "{metrics}"
    );
    assert!(projections_status(&app).contains("saga drives: none hung"));
}
