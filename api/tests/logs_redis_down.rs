//! What `tenantry serve` logs while Redis is down and a tenant waits for it: a warning when its
//! step first fails because Redis is unavailable (the issue saw a freeze "with no log line"),
//! then one every tenth failure in a row, not one per retry.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tenantry_tests::{PrivateRedis, TestDb};

const UNAVAILABLE: &str =
    "provisioning step failed: a dependency is unavailable; retrying without counting";

#[tokio::test]
async fn a_tenant_waiting_for_redis_is_logged_at_the_start_of_the_outage_and_every_tenth_try() {
    let db = TestDb::new().await;
    // A port of our own that refuses connections: a private Redis, stopped.
    let mut redis = PrivateRedis::start().await;
    redis.stop().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tenantry"))
        .arg("serve")
        .env("TENANTRY_DATABASE_URL", &db.url)
        .env("TENANTRY_REDIS_URL", redis.url())
        .env("TENANTRY_HTTP_ADDR", "127.0.0.1:0")
        .env("TENANTRY_RUN_SAGAS", "true")
        .env("TENANTRY_PROVISIONING_RETRY_BASE_MS", "20")
        .env("TENANTRY_PROVISIONING_TRANSIENT_RETRY_MAX_MS", "40")
        .env("TENANTRY_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("tenantry serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let (sender, lines) = mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(json) = serde_json::from_str(&line)
                && sender.send(json).is_err()
            {
                return;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let next = || {
        lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the log ended early")
    };
    while next()["fields"]["message"] != "serving" {}

    let created = Command::new(env!("CARGO_BIN_EXE_tenantry"))
        .args([
            "tenant",
            "create",
            "--name",
            "Waiting for Redis",
            "--plan",
            "free",
        ])
        .env("TENANTRY_DATABASE_URL", &db.url)
        .output()
        .expect("tenantry tenant create runs");
    assert!(created.status.success(), "{created:?}");

    let mut warned = Vec::new();
    while !warned.contains(&20) {
        let line = next();
        if line["fields"]["message"] != UNAVAILABLE {
            continue;
        }
        assert_eq!(line["level"], "WARN", "{line}");
        assert_eq!(line["fields"]["step"], "redis_namespace", "{line}");
        assert!(
            line["fields"]["error"]
                .as_str()
                .is_some_and(|e| e.contains("Redis")),
            "{line}"
        );
        warned.push(line["fields"]["in_a_row"].as_u64().expect("in_a_row"));
    }
    child.kill().ok();
    child.wait().ok();
    assert_eq!(warned, [1, 10, 20], "one warning per ten failures in a row");
}
