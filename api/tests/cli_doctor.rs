//! `tenantry doctor`, run as the binary, against a fresh database and the real PostgreSQL and
//! Redis servers (which other tests, like other control planes, share): one line per tenant with
//! its verdict, then the totals; foreign resources only counted unless `--show-foreign`; `--fix`
//! releases the orphans; the exit code is non-zero while drift remains.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tenantry_domain::{TenantId, TenantNames};
use tenantry_tests::{TestApp, TestDb};
use uuid::Uuid;

fn doctor(app: &TestApp, args: &[&str]) -> (Output, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tenantry"))
        .arg("doctor")
        .args(args)
        .env("TENANTRY_DATABASE_URL", &app.db.url)
        .env("TENANTRY_REDIS_URL", REDIS_URL)
        .env_remove("TENANTRY_EVENT_STORE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("tenantry runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

const REDIS_URL: &str = "redis://127.0.0.1:6379";

async fn status_of(app: &TestApp, token: &str, id: &str) -> String {
    let tenant: Value = app
        .get_auth(&format!("/platform/api/tenants/{id}"), token)
        .await
        .json()
        .await
        .unwrap_or(Value::Null);
    tenant["status"].as_str().unwrap_or_default().to_owned()
}

async fn wait_for(app: &TestApp, token: &str, id: &str, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while status_of(app, token, id).await != status {
        assert!(
            Instant::now() < deadline,
            "tenant {id} never became {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The line of the tenant `id`.
fn line_of<'a>(stdout: &'a str, id: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.split('\t').nth(1) == Some(id))
        .unwrap_or_else(|| panic!("no line of {id} in:\n{stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_judges_each_tenant_and_hides_foreign_resources_unless_asked() {
    let app = TestApp::spawn_with(TestDb::new().await, |s| s.run_sagas = true).await;
    let token = app.staff_token().await;
    let response = app
        .post_json_auth(
            "/platform/api/tenants",
            &json!({"name": "Doctor Ok", "slug": "doctor-ok", "plan": "free"}),
            &token,
        )
        .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.expect("json");
    let id = created["id"].as_str().expect("id").to_owned();
    wait_for(&app, &token, &id, "active").await;

    // An orphan: a schema of a tenant id this control plane never made, in its own database.
    let stranger = TenantId::from_uuid(Uuid::new_v4());
    let stranger_schema = TenantNames::of(stranger).schema().to_owned();
    sqlx::query(&format!("CREATE SCHEMA {stranger_schema}"))
        .execute(&app.db.pool)
        .await
        .expect("create schema");
    // Foreign: keys of another control plane's tenant on the shared Redis.
    let other = TenantId::from_uuid(Uuid::new_v4());
    let other_namespace = TenantNames::of(other).redis_namespace().to_owned();
    let redis = redis::Client::open(REDIS_URL).expect("redis url");
    let mut conn = redis
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let () = redis::cmd("SET")
        .arg(format!("{other_namespace}probe"))
        .arg("1")
        .query_async(&mut conn)
        .await
        .expect("set");

    let (output, stdout) = doctor(&app, &[]);
    assert_eq!(output.status.code(), Some(1), "drift: {output:?}");
    assert_eq!(
        line_of(&stdout, &id),
        format!("doctor-ok\t{id}\tactive\tok"),
        "{stdout}"
    );
    assert_eq!(
        line_of(&stdout, &stranger.to_string()),
        format!(
            "-\t{stranger}\tunknown\tdrift: orphaned Schema {stranger_schema}; a tenant id this \
             control plane never made"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("2 tenant(s): 1 ok, 1 drift, 0 not judged; 1 orphan(s), 0 missing"),
        "{stdout}"
    );
    let hidden = stdout
        .lines()
        .find(|l| l.ends_with(" foreign resource(s) hidden; --show-foreign lists them"))
        .unwrap_or_else(|| panic!("no count of the foreign resources in:\n{stdout}"));
    let count: usize = hidden
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(count >= 1, "{hidden}");
    assert!(!stdout.contains(&other_namespace), "{stdout}");
    assert!(!stdout.contains("foreign\t"), "{stdout}");

    let (output, stdout) = doctor(&app, &["--show-foreign"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        stdout.contains(&format!(
            "foreign\tRedisKeys\t{other_namespace}\t(not this control plane's; left alone)"
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("hidden"), "{stdout}");
    assert_eq!(
        line_of(&stdout, &id),
        format!("doctor-ok\t{id}\tactive\tok")
    );

    // --fix releases the stranger's schema; the foreign keys are left alone.
    let (output, stdout) = doctor(&app, &["--fix"]);
    assert!(output.status.success(), "{output:?}");
    let (before, after) = stdout
        .split_once("released everything of 1 tenant(s)\n")
        .unwrap_or_else(|| panic!("nothing released:\n{stdout}"));
    assert!(before.contains(&stranger.to_string()), "{stdout}");
    assert!(!after.contains(&stranger.to_string()), "{stdout}");
    assert!(
        after.contains("1 tenant(s): 1 ok, 0 drift, 0 not judged; 0 orphan(s), 0 missing"),
        "{stdout}"
    );
    let exists: bool = redis::cmd("EXISTS")
        .arg(format!("{other_namespace}probe"))
        .query_async(&mut conn)
        .await
        .expect("exists");
    assert!(exists, "a foreign key was touched");

    // Something of an active tenant gone: its line says what is missing.
    let () = redis::cmd("ACL")
        .arg("DELUSER")
        .arg(TenantNames::of(TenantId::from_uuid(id.parse().expect("uuid"))).redis_user())
        .query_async(&mut conn)
        .await
        .map(|_: i64| ())
        .expect("acl deluser");
    let (output, stdout) = doctor(&app, &[]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(
        line_of(&stdout, &id),
        format!("doctor-ok\t{id}\tactive\tdrift: missing RedisUser"),
        "{stdout}"
    );

    let () = redis::cmd("DEL")
        .arg(format!("{other_namespace}probe"))
        .query_async(&mut conn)
        .await
        .map(|_: i64| ())
        .expect("del");
    let response = app
        .delete_auth(&format!("/platform/api/tenants/{id}"), &token)
        .await;
    assert_eq!(response.status(), 202);
    wait_for(&app, &token, &id, "deleted").await;
}
