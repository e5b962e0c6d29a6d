//! The event store conformance suite against KurrentDB. It needs a running KurrentDB, which our
//! machines cannot run: it is built with `--features kurrentdb` and runs only when
//! `TENANTRY_KURRENTDB_URL` is set (e.g. `kurrentdb://127.0.0.1:2113?tls=false`); otherwise each
//! test returns at once and says so.
#![cfg(feature = "kurrentdb")]

use std::sync::Arc;

use tenantry_infrastructure::event_store::kurrentdb::KurrentDbEventStore;
use tenantry_tests::conformance;

async fn store() -> Option<Arc<KurrentDbEventStore>> {
    let Ok(url) = std::env::var("TENANTRY_KURRENTDB_URL") else {
        eprintln!("TENANTRY_KURRENTDB_URL is not set: skipping the KurrentDB conformance test");
        return None;
    };
    let store = KurrentDbEventStore::connect(&url, conformance::upcasters())
        .await
        .expect("failed to connect to KurrentDB");
    Some(Arc::new(store))
}

macro_rules! conformance_tests {
    (by_ref: $($name:ident),*; shared: $($shared:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                if let Some(store) = store().await {
                    conformance::$name(&*store).await;
                }
            }
        )*
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $shared() {
                if let Some(store) = store().await {
                    conformance::$shared(store).await;
                }
            }
        )*
    };
}

conformance_tests!(
    by_ref: version_conflicts, idempotent_append, malformed_appends_are_refused, stream_reads,
        all_stream_order, reading_backwards, head_and_backlog, upcasting,
        subscription_follows_new_appends;
    shared: one_winner_per_expected_version, concurrent_retries_store_once,
        concurrent_writers_and_subscriber, hot_stream_keeps_version_order
);
