//! A plans file whose hook steps are wrong stops `tenantry serve` at start, naming the plan, the
//! field and why — and never printing the hook's secret.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tenantry_tests::TestDb;

#[tokio::test]
async fn serve_refuses_a_bad_hook_in_the_plans_file_naming_the_field() {
    let db = TestDb::new().await;
    let dir = std::env::temp_dir().join(format!("tenantry-plans-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("plans.json");
    let secret = "do-not-print-this-secret";
    std::fs::write(
        &path,
        serde_json::json!({
            "default_plan": "pro",
            "plans": [
                {"name": "free", "default_isolation": "shared_schema"},
                {"name": "pro", "default_isolation": "schema_per_tenant", "steps": [
                    {"name": "whatsapp", "url": "http://127.0.0.1:9/wa", "secret": secret, "timeout": "10s"},
                    {"name": "crm", "url": "localhost/crm", "secret": secret},
                ]},
            ],
        })
        .to_string(),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tenantry"))
        .arg("serve")
        .env("TENANTRY_DATABASE_URL", &db.url)
        .env_remove("TENANTRY_EVENT_STORE_URL")
        .env("TENANTRY_HTTP_ADDR", "127.0.0.1:0")
        .env("TENANTRY_RUN_SAGAS", "false")
        .env("TENANTRY_PLANS_FILE", &path)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tenantry runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve started with a bad plans file");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let output = child.wait_with_output().expect("output");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("TENANTRY_PLANS_FILE")
            && stderr.contains("plans[1] (\"pro\").steps[1].url: \"localhost/crm\" is not a URL"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(secret),
        "the secret is never printed: {stderr}"
    );
}
