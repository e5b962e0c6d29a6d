//! Read models that stand still are reported (issue 11): while the process leading the projectors
//! is frozen (and, here, keeps its locks: a liveness bound of an hour), events wait and no batch
//! commits; `tenantry projections status` says `stalled` for each projector and another
//! process's `/readyz` answers 200 `degraded`, naming them.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tenantry_application::event_store::EventStore;
use tenantry_projections::projectors;
use tenantry_tests::lifecycle::{append_lifecycle, lifecycle};
use tenantry_tests::serve_process::message;
use tenantry_tests::{ServeProcess, TestDb};

const DEADLINE: Duration = Duration::from_secs(120);

fn status(db: &TestDb, stalled_secs: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_tenantry"))
        .args(["projections", "status"])
        .env("TENANTRY_DATABASE_URL", &db.url)
        .env_remove("TENANTRY_EVENT_STORE_URL")
        .env("TENANTRY_PROJECTOR_STALLED_SECS", stalled_secs)
        .output()
        .expect("tenantry runs");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The state column of each projector's line.
fn states(table: &str) -> Vec<(String, String)> {
    table
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with(' '))
        // The projectors' rows, not the saga drives' section after them.
        .filter(|l| projectors::ALL.iter().any(|name| l.starts_with(name)))
        .filter_map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            Some((fields.first()?.to_string(), fields.get(4)?.to_string()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_leader_shows_as_stalled_projectors() {
    let db = TestDb::new().await;
    let store: Arc<dyn EventStore> = Arc::new(db.event_store());
    let binary = env!("CARGO_BIN_EXE_tenantry").as_ref();
    let leader = ServeProcess::start(
        binary,
        &db,
        &[
            ("TENANTRY_LEADER_LIVENESS_SECS", "3600"),
            ("TENANTRY_RUN_SAGAS", "false"),
        ],
        DEADLINE,
    );
    let until = Instant::now() + DEADLINE;
    while leader
        .lines_since(0)
        .iter()
        .filter(|l| message(l) == "leading projector")
        .count()
        < projectors::ALL.len()
    {
        assert!(Instant::now() < until, "{:#?}", leader.messages(0));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let other = ServeProcess::start(
        binary,
        &db,
        &[
            ("TENANTRY_RUN_SAGAS", "false"),
            ("TENANTRY_PROJECTOR_STALLED_SECS", "1"),
        ],
        DEADLINE,
    );
    let readyz = || async {
        let response = reqwest::get(format!("{}/readyz", other.address))
            .await
            .expect("readyz");
        let code = response.status();
        let body: Value = response.json().await.expect("json");
        (code, body)
    };
    let (code, body) = readyz().await;
    assert_eq!(
        (code.as_u16(), body["status"].as_str()),
        (200, Some("ready")),
        "{body}"
    );
    assert_eq!(body["projectors"]["status"], "ok", "{body}");

    leader.freeze();
    append_lifecycle(&*store, &lifecycle(0)).await;
    // Waiting, not yet past the bound.
    assert!(
        states(&status(&db, "600"))
            .iter()
            .all(|(_, s)| s == "running"),
        "{}",
        status(&db, "600")
    );

    let until = Instant::now() + DEADLINE;
    loop {
        let (code, body) = readyz().await;
        let stalled = body["projectors"]["stalled"].as_array().map_or(0, Vec::len);
        if stalled == projectors::ALL.len() {
            assert_eq!(code, 200, "{body}");
            assert_eq!(body["status"], "degraded", "{body}");
            assert_eq!(body["projectors"]["status"], "stalled", "{body}");
            break;
        }
        assert!(Instant::now() < until, "never stalled: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let table = status(&db, "1");
    let states = states(&table);
    assert_eq!(states.len(), projectors::ALL.len(), "{table}");
    assert!(states.iter().all(|(_, s)| s == "stalled"), "{table}");
    assert!(table.contains("no batch committed for over 1 s"), "{table}");
    leader.resume();
}
