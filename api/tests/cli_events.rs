//! `tenantry events tail` and `tenantry events replay`, run as the binary, against a fresh
//! database: `tail` prints the last events of the log, oldest first, read through the configured
//! event store; `replay` takes a tenant's id or slug or a stream's name, and its errors say what a
//! stream is called; a KurrentDB URL in a build without the `kurrentdb` feature is refused,
//! naming the feature.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tenantry_application::event_store::{EventMetadata, EventStore, ExpectedVersion, NewEvent};
use tenantry_projections::{ProjectionRuntime, RuntimeConfig, default_projectors};
use tenantry_tests::TestDb;

fn tenantry(db: &TestDb, args: &[&str], event_store_url: Option<&str>) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenantry"));
    command
        .args(args)
        .env("TENANTRY_DATABASE_URL", &db.url)
        .env_remove("TENANTRY_EVENT_STORE_URL")
        .env("RUST_LOG", "warn");
    if let Some(url) = event_store_url {
        command.env("TENANTRY_EVENT_STORE_URL", url);
    }
    command.output().expect("tenantry runs")
}

#[tokio::test]
async fn tail_prints_the_last_events_oldest_first() {
    let db = TestDb::new().await;
    let store = db.event_store();
    let mut last = None;
    for n in 0..6 {
        let appended = store
            .append(
                &format!("tenant-tail{}", n % 2),
                ExpectedVersion::Any,
                vec![NewEvent::new(
                    "TailHappened",
                    1,
                    json!({ "n": n }),
                    EventMetadata::system(),
                )],
            )
            .await
            .expect("append");
        last = Some(appended.last);
    }
    // `tail` reads what is final in the log: wait until the last append is.
    let deadline = tokio::time::Instant::now() + tenantry_tests::conformance::HORIZON_WAIT;
    while store.head().await.expect("head") < last.expect("appended") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the log never caught up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let output = tenantry(&db, &["events", "tail", "-n", "3"], None);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    for (line, n) in lines.iter().zip(3..6) {
        assert!(line.contains("TailHappened"), "{line}");
        assert!(line.ends_with(&format!("{{\"n\":{n}}}")), "{line}");
    }

    let all = tenantry(&db, &["events", "tail", "-n", "100"], None);
    assert!(all.status.success(), "{all:?}");
    assert_eq!(String::from_utf8_lossy(&all.stdout).lines().count(), 6);
}

#[cfg(not(feature = "kurrentdb"))]
#[tokio::test]
async fn a_kurrentdb_url_in_a_build_without_the_feature_is_refused_naming_it() {
    let db = TestDb::new().await;
    let output = tenantry(
        &db,
        &["events", "tail"],
        Some("kurrentdb://admin:hunter2@127.0.0.1:2113?tls=false"),
    );
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("`kurrentdb` cargo feature"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

const STREAM_FORMS: &str =
    "a stream is called tenant-{uuid}, slug-{slug}, staff-{uuid} or invitation-{uuid}";

#[tokio::test]
async fn replay_takes_a_tenant_id_a_slug_or_a_stream_and_says_what_a_stream_is_called() {
    let db = TestDb::new().await;
    let store: Arc<dyn EventStore> = Arc::new(db.event_store());
    let projectors = ProjectionRuntime::start(
        db.pool.clone(),
        store.clone(),
        default_projectors(),
        RuntimeConfig::default(),
    );
    let created = tenantry(
        &db,
        &[
            "tenant",
            "create",
            "--name",
            "Replay Me",
            "--slug",
            "replay-me",
        ],
        None,
    );
    assert!(created.status.success(), "{created:?}");
    let created: Value = serde_json::from_slice(&created.stdout).expect("JSON");
    let id = created["id"].as_str().expect("id").to_owned();
    // A slug names a tenant once the directory has it.
    let projected = tenantry_projections::wait_for_position(
        &db.pool,
        &*store,
        created["position"].as_u64().expect("position"),
        &["tenant_directory"],
        tenantry_tests::conformance::HORIZON_WAIT,
    )
    .await
    .expect("wait");
    assert!(projected);
    projectors.shutdown().await;

    let stream = format!("tenant-{id}");
    for args in [
        vec!["events", "replay", id.as_str()],
        vec!["events", "replay", "replay-me"],
        vec!["events", "replay", stream.as_str()],
        vec!["events", "replay", "--stream", "replay-me"],
    ] {
        let output = tenantry(&db, &args, None);
        assert!(output.status.success(), "{args:?}: {output:?}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains(&format!("{stream}@1 TenantCreated")),
            "{args:?}: {stdout}"
        );
        assert!(
            stdout.contains("  slug:         replay-me"),
            "{args:?}: {stdout}"
        );
    }
    // The slug's claim stream, by its name.
    let claim = tenantry(&db, &["events", "replay", "slug-replay-me"], None);
    assert!(claim.status.success(), "{claim:?}");
    let stdout = String::from_utf8_lossy(&claim.stdout);
    assert!(stdout.contains("slug-replay-me@1 SlugClaimed"), "{stdout}");
    assert!(!stdout.contains("state at position"), "{stdout}");

    let failure = |args: &[&str]| {
        let output = tenantry(&db, args, None);
        assert!(!output.status.success(), "{args:?}: {output:?}");
        assert!(output.stdout.is_empty(), "{args:?}: {output:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let unknown = failure(&["events", "replay", "drmarco"]);
    assert!(
        unknown.contains("no live tenant has the slug \"drmarco\""),
        "{unknown}"
    );
    assert!(unknown.contains(STREAM_FORMS), "{unknown}");
    let bad = failure(&["events", "replay", "Not A Stream!"]);
    assert!(
        bad.contains("\"Not A Stream!\" is neither a tenant's id or slug nor the name of a stream"),
        "{bad}"
    );
    assert!(bad.contains(STREAM_FORMS), "{bad}");
    let nobody = uuid::Uuid::new_v4();
    let empty = failure(&["events", "replay", &nobody.to_string()]);
    assert!(
        empty.contains(&format!(
            "stream tenant-{nobody} has no events: no tenant has the id {nobody}"
        )),
        "{empty}"
    );
    let empty = failure(&["events", "replay", &format!("staff-{nobody}")]);
    assert!(
        empty.contains(&format!("stream staff-{nobody} has no events")),
        "{empty}"
    );
    let before = failure(&["events", "replay", "replay-me", "--until", "0"]);
    assert!(
        before.contains(&format!(
            "stream {stream} has no events at or before position 0 (its first is at position"
        )),
        "{before}"
    );
}
