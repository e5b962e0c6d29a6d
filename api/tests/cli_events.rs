//! `tenantry events tail`, run as the binary, against a fresh database: it prints the last events
//! of the log, oldest first, read through the configured event store; and a KurrentDB URL in a
//! build without the `kurrentdb` feature is refused, naming the feature.

use std::process::Command;
use std::time::Duration;

use serde_json::json;
use tenantry_application::event_store::{EventMetadata, EventStore, ExpectedVersion, NewEvent};
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
