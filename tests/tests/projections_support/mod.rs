//! Helpers shared by the `projections_*` tests: a runtime tuned for tests (small batches, quick
//! hand-over), seeding real tenant histories, waiting until the read models caught up, and whole-
//! table snapshots to compare a read model with one rebuilt from scratch.

// Each test file is its own crate and uses a different part of these helpers.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tenantry_application::event_store::{Checkpoint, EventStore};
use tenantry_projections::{
    ProjectionRuntime, Projector, RebuildOptions, RetryPolicy, RuntimeConfig, RuntimeHandle,
    default_projectors, projectors,
};
use tenantry_tests::lifecycle::{Lifecycle, append_lifecycle, lifecycle};

/// Every table of the default read models.
pub(crate) const TABLES: &[&str] = &[
    "tenant_panel",
    "provisioning_steps",
    "audit_log",
    "tenant_directory",
    "tenant_hosts",
];

/// Small batches (so a short log makes many), quick lock hand-over and retries.
pub(crate) fn test_config() -> RuntimeConfig {
    RuntimeConfig {
        batch_size: 25,
        lock_retry: Duration::from_millis(100),
        liveness: Duration::from_secs(10),
        retry: RetryPolicy {
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            max_attempts: 3,
        },
        stall_check: Duration::from_millis(100),
        metrics_interval: Duration::from_millis(200),
    }
}

pub(crate) fn start(pool: &PgPool, store: Arc<dyn EventStore>) -> RuntimeHandle {
    start_with(pool, store, default_projectors())
}

pub(crate) fn start_with(
    pool: &PgPool,
    store: Arc<dyn EventStore>,
    projectors: Vec<Arc<dyn Projector>>,
) -> RuntimeHandle {
    ProjectionRuntime::start(pool.clone(), store, projectors, test_config())
}

/// Appends the lives of tenants `from..to`; returns them and the greatest checkpoint appended.
pub(crate) async fn seed(
    store: &dyn EventStore,
    from: u64,
    to: u64,
) -> (Vec<Lifecycle>, Checkpoint) {
    let mut lives = Vec::new();
    let mut last = Checkpoint::START;
    for n in from..to {
        let life = lifecycle(n);
        last = last.max(append_lifecycle(store, &life).await.last);
        lives.push(life);
    }
    (lives, last)
}

/// Waits (bounded, generously) until a reader of the log sees everything up to `last`. Appends
/// become readable only once every older transaction in the cluster has ended (see the event
/// store's docs), and other tests' transactions run on the same server.
pub(crate) async fn readable(store: &dyn EventStore, last: Checkpoint) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut after = Checkpoint::START;
    while after < last {
        assert!(
            std::time::Instant::now() < deadline,
            "the log never became readable up to {last:?}"
        );
        match store
            .read_all(after, 1_000)
            .await
            .expect("the log reads")
            .last()
        {
            Some(event) => after = event.checkpoint(),
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Waits (bounded, generously) until every default projector has applied `position`.
pub(crate) async fn caught_up(pool: &PgPool, store: &dyn EventStore, position: u64) {
    let done = tenantry_projections::wait_for_position(
        pool,
        store,
        position,
        projectors::ALL,
        Duration::from_secs(60),
    )
    .await
    .expect("waiting for the projectors failed");
    assert!(done, "the projectors did not reach position {position}");
}

/// Every row of each of `tables`, as JSON, in a stable order.
pub(crate) async fn snapshot(pool: &PgPool, tables: &[&str]) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    for table in tables {
        let rows: serde_json::Value = sqlx::query_scalar(&format!(
            "SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY to_jsonb(t)::text), '[]') \
             FROM read.{table} t"
        ))
        .fetch_one(pool)
        .await
        .expect("failed to read a table");
        out.push(((*table).to_owned(), rows));
    }
    out
}

/// Rebuilds every default read model from scratch (replay and swap).
pub(crate) async fn rebuild_all(pool: &PgPool, store: &dyn EventStore) {
    for projector in default_projectors() {
        let options = RebuildOptions {
            batch_size: 40,
            ..RebuildOptions::default()
        };
        tenantry_projections::rebuild(pool, store, &*projector, &options, |_| {})
            .await
            .unwrap_or_else(|e| panic!("rebuilding {} failed: {e}", projector.name()));
    }
}

/// Asserts that the read models equal ones rebuilt from scratch from the whole log. Stop the
/// runtime first, so that the tables do not move in between.
pub(crate) async fn assert_equal_to_rebuild(pool: &PgPool, store: &dyn EventStore) {
    let live = snapshot(pool, TABLES).await;
    rebuild_all(pool, store).await;
    let rebuilt = snapshot(pool, TABLES).await;
    for ((table, live), (_, rebuilt)) in live.iter().zip(&rebuilt) {
        assert!(
            live.as_array().is_some_and(|rows| !rows.is_empty()),
            "{table} is empty"
        );
        assert_eq!(live, rebuilt, "{table} differs from a rebuild from scratch");
    }
}

/// The number of events in the log.
pub(crate) async fn event_count(store: &dyn EventStore) -> i64 {
    tenantry_tests::event_log::event_count(store).await as i64
}
