//! Frozen-leader recovery: `cargo build --release -p tenantry-api && cargo bench -p tenantry-tests
//! --bench recovery_leader`.
//!
//! Two `tenantry serve` processes (the built binary: `TENANTRY_BIN`, else the `tenantry` next to
//! this benchmark's build directory) on a fresh database, sagas off. The one leading every
//! projector is frozen with SIGSTOP (its connections stay open) and, at once, a tenant's history
//! is appended; the figure is the time from the freeze until every projector's checkpoint covers
//! that history, i.e. the read models move again, led by the other process. The frozen one is
//! then killed and a fresh standby started for the next repetition. `BENCH_REPS` (default 3)
//! repetitions, `TENANTRY_LEADER_LIVENESS_SECS` as `BENCH_LIVENESS` (default 10, the service's
//! default); prints each figure, p50 and max.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tenantry_application::event_store::EventStore;
use tenantry_projections::projectors;
use tenantry_tests::lifecycle::{append_lifecycle, lifecycle};
use tenantry_tests::serve_process::message;
use tenantry_tests::{ServeProcess, TestDb};

const DEADLINE: Duration = Duration::from_secs(180);

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `tenantry` binary: `TENANTRY_BIN`, or the one built into the same profile directory as
/// this benchmark (`target/release/deps/recovery_leader-…` → `target/release/tenantry`).
fn binary() -> PathBuf {
    if let Ok(path) = std::env::var("TENANTRY_BIN") {
        return path.into();
    }
    let exe = std::env::current_exe().expect("the benchmark's path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("a build directory");
    let path = dir.join("tenantry");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --release -p tenantry-api` first, or set TENANTRY_BIN",
        path.display()
    );
    path
}

fn serve(binary: &Path, db: &TestDb, liveness: &str) -> ServeProcess {
    ServeProcess::start(
        binary,
        db,
        &[
            ("TENANTRY_LEADER_LIVENESS_SECS", liveness),
            ("TENANTRY_RUN_SAGAS", "false"),
            ("RUST_LOG", "info"),
        ],
        DEADLINE,
    )
}

/// Waits until `process` leads every projector (it logged `leading projector` once for each
/// since line `from`).
fn wait_leading_all(process: &ServeProcess, from: usize) {
    let until = Instant::now() + DEADLINE;
    loop {
        let led = process
            .lines_since(from)
            .iter()
            .filter(|l| message(l) == "leading projector")
            .count();
        if led >= projectors::ALL.len() {
            return;
        }
        assert!(Instant::now() < until, "{:#?}", process.messages(from));
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::main]
async fn main() {
    let reps = env("BENCH_REPS", 3).max(1);
    let liveness = env("BENCH_LIVENESS", 10).to_string();
    let binary = binary();
    let db = TestDb::new().await;
    let store: Arc<dyn EventStore> = Arc::new(db.event_store_polling(Duration::from_millis(50)));

    let mut leader = serve(&binary, &db, &liveness);
    wait_leading_all(&leader, 0);
    let mut standby = serve(&binary, &db, &liveness);
    let mut figures = Vec::new();
    for rep in 0..reps {
        let from = standby.line_count();
        leader.freeze();
        let frozen = Instant::now();
        let appended = append_lifecycle(&*store, &lifecycle(rep)).await.last;
        let moved = tenantry_projections::wait_for_position(
            &db.pool,
            &*store,
            appended.position,
            projectors::ALL,
            DEADLINE,
        )
        .await
        .expect("waiting for the projectors");
        assert!(moved, "the read models never moved again");
        let seconds = frozen.elapsed().as_secs_f64();
        wait_leading_all(&standby, from);
        println!(
            "repetition {}: frozen leader -> read models moving again in {seconds:.2} s",
            rep + 1
        );
        figures.push(seconds);
        // The frozen one is killed; the survivor leads; a fresh standby for the next round.
        drop(std::mem::replace(&mut leader, standby));
        standby = serve(&binary, &db, &liveness);
    }
    figures.sort_by(f64::total_cmp);
    let p50 = figures[figures.len() / 2];
    let max = figures[figures.len() - 1];
    println!(
        "recovery_leader: {reps} repetition(s), liveness bound {liveness} s: p50 {p50:.2} s, max {max:.2} s"
    );
}
