//! What the `tenantry` binary writes to stderr, run as an operator runs it: with
//! `TENANTRY_LOG_FORMAT=json`, a line logged while handling a request carries that request's id
//! (the one its answer's `x-request-id` names); a bad database URL is reported without its
//! password.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tenantry_api::{Application, Settings};
use tenantry_tests::TestDb;

const PASSWORD: &str = "s3cretpw";

/// `tenantry serve` over `db`, logging JSON; its stderr lines arrive on the receiver.
fn serve(db: &TestDb) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tenantry"))
        .arg("serve")
        .env("TENANTRY_DATABASE_URL", &db.url)
        .env("TENANTRY_HTTP_ADDR", "127.0.0.1:0")
        .env("TENANTRY_RUN_SAGAS", "false")
        .env("TENANTRY_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("tenantry serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    (child, received)
}

/// The next JSON line whose `fields.message` is `message`.
fn wait_for(lines: &mpsc::Receiver<String>, message: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no log line {message:?}"));
        let Ok(json) = serde_json::from_str::<Value>(&line) else {
            panic!("not a JSON log line: {line}");
        };
        if json["fields"]["message"] == message {
            return json;
        }
    }
}

#[tokio::test]
async fn a_line_logged_while_handling_a_request_carries_its_request_id() {
    let db = TestDb::new().await;
    let (mut child, lines) = serve(&db);
    let serving = wait_for(&lines, "serving");
    let addr = serving["fields"]["addr"].as_str().expect("the address");

    let response = reqwest::Client::new()
        .post(format!("http://{addr}/platform/api/auth/login"))
        .json(&serde_json::json!({"email": "nobody@example.com", "password": "wrong"}))
        .send()
        .await
        .expect("the request failed");
    assert_eq!(response.status(), 401);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .expect("text")
        .to_owned();

    let refused = wait_for(&lines, "staff login refused");
    child.kill().ok();
    child.wait().ok();
    assert_eq!(
        refused["span"]["request_id"],
        request_id.as_str(),
        "{refused}"
    );
    assert_eq!(refused["span"]["route"], "/platform/api/auth/login");
    assert_eq!(refused["span"]["method"], "POST");
}

/// A failed command ends with one `error: …` line naming its causes, and no backtrace even when
/// `RUST_BACKTRACE` asks for one; a wrong projector name lists the right ones. Logs written to a
/// pipe have no colour codes.
#[tokio::test]
async fn a_failure_is_one_plain_error_line_without_a_backtrace() {
    let db = TestDb::new().await;
    let output = Command::new(env!("CARGO_BIN_EXE_tenantry"))
        .args(["projections", "rebuild", "tenant_pannel"])
        .env("TENANTRY_DATABASE_URL", &db.url)
        .env("RUST_BACKTRACE", "full")
        .output()
        .expect("tenantry runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: the projectors are: tenant_panel, ")
            && last.contains("no projector is named \"tenant_pannel\""),
        "{stderr}"
    );
    assert!(!stderr.to_lowercase().contains("backtrace"), "{stderr}");

    let output = Command::new(env!("CARGO_BIN_EXE_tenantry"))
        .arg("migrate")
        .env("TENANTRY_DATABASE_URL", &db.url)
        .env("RUST_LOG", "info")
        .output()
        .expect("tenantry migrate runs");
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("migrations applied"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes in a pipe: {stderr:?}"
    );
}

/// `tenant list --limit` takes what the API takes (1–500) and says so, instead of clamping.
#[test]
fn a_page_size_out_of_range_is_refused_by_name() {
    for limit in ["0", "501"] {
        let output = Command::new(env!("CARGO_BIN_EXE_tenantry"))
            .args(["tenant", "list", "--limit", limit])
            .env("TENANTRY_DATABASE_URL", "postgres://127.0.0.1:1/unused")
            .output()
            .expect("tenantry runs");
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("--limit") && stderr.contains("1..=500"),
            "{stderr}"
        );
    }
}

/// A subcommand's `--help` shows its own options first and the global ones apart, and a value the
/// environment may give is not shown as required; without it, the refusal says where it can come
/// from.
#[test]
fn help_puts_a_subcommands_own_options_first() {
    let output = Command::new(env!("CARGO_BIN_EXE_tenantry"))
        .args(["staff", "create", "--help"])
        .output()
        .expect("tenantry runs");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    let at = |needle: &str| {
        help.find(needle)
            .unwrap_or_else(|| panic!("{needle}: {help}"))
    };
    assert!(at("--email") < at("Global options:"), "{help}");
    assert!(at("--password") < at("Global options:"), "{help}");
    assert!(at("Global options:") < at("--database-url"), "{help}");
    let usage = help
        .lines()
        .find(|l| l.starts_with("Usage:"))
        .unwrap_or_default();
    assert!(!usage.contains("--password"), "{usage}");

    let output = Command::new(env!("CARGO_BIN_EXE_tenantry"))
        .args(["staff", "create", "--email", "ops@example.com"])
        .env_remove("TENANTRY_STAFF_PASSWORD")
        .env("TENANTRY_DATABASE_URL", "postgres://127.0.0.1:1/unused")
        .output()
        .expect("tenantry runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.trim_end().ends_with(
            "error: a password is required: --password, or TENANTRY_STAFF_PASSWORD to keep it out of the process list"
        ),
        "{stderr}"
    );
}

#[test]
fn a_bad_database_url_is_reported_without_its_password() {
    for url in [
        format!("postgres://app:{PASSWORD}@[bad"),
        format!("postgres://app:{PASSWORD}@127.0.0.1:1/tenantry"),
        format!("postgres://127.0.0.1:1/tenantry?password={PASSWORD}"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_tenantry"))
            .arg("migrate")
            .env("TENANTRY_DATABASE_URL", &url)
            .env("RUST_LOG", "debug")
            .output()
            .expect("tenantry migrate runs");
        assert!(!output.status.success(), "{url}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.is_empty());
        assert!(!stderr.contains(PASSWORD), "{url}: {stderr}");
    }
}

#[tokio::test]
async fn the_service_names_a_bad_url_without_its_password() {
    let mut settings = Settings::from_env();
    settings.http_addr = "127.0.0.1:0".parse().expect("an address");
    settings.database_url = format!("postgres://app:{PASSWORD}@[bad");
    let error = Application::build(&settings).await.err().expect("refused");
    let shown = format!("{error:#} {error:?}");
    assert!(shown.contains("invalid database url"), "{shown}");
    assert!(shown.contains("postgres://app:***@[bad"), "{shown}");
    assert!(!shown.contains(PASSWORD), "{shown}");

    settings.database_url = Settings::from_env().database_url;
    settings.redis_url = format!("redis://:{PASSWORD}@[bad");
    let error = Application::build(&settings).await.err().expect("refused");
    let shown = format!("{error:#} {error:?}");
    assert!(shown.contains("invalid redis url"), "{shown}");
    assert!(!shown.contains(PASSWORD), "{shown}");
}
