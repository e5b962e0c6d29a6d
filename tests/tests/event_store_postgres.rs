//! The event store conformance suite against PostgreSQL, plus what only PostgreSQL promises:
//! wake-ups across processes through LISTEN/NOTIFY. (That its table refuses changes is checked
//! beside the adapter, in `infrastructure/tests/`.)

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use tenantry_application::event_store::{
    Checkpoint, EventMetadata, EventStore, ExpectedVersion, NewEvent,
};
use tenantry_tests::{TestDb, conformance};

macro_rules! conformance_tests {
    (by_ref: $($name:ident),*; shared: $($shared:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let db = TestDb::new().await;
                conformance::$name(&db.event_store()).await;
            }
        )*
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $shared() {
                let db = TestDb::new().await;
                conformance::$shared(Arc::new(db.event_store())).await;
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

/// A subscriber in one "process" (its own store, pool and listener) is woken by an append in
/// another through NOTIFY, long before its poll interval of an hour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_wakes_a_subscriber_in_another_process() {
    let db = TestDb::new().await;
    let reader_pool = tenantry_infrastructure::postgres::connect(&db.url, 4)
        .await
        .expect("connect");
    let reader = tenantry_infrastructure::event_store::PgEventStore::with_poll_interval(
        reader_pool,
        conformance::upcasters(),
        Duration::from_secs(3600),
    );
    let writer = db.event_store();
    let mut subscription = reader.subscribe_all(Checkpoint::START, 10);
    // Let the subscription reach its idle wait (and its listener connect) first.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for n in 0..3 {
        writer
            .append(
                "tenant-notify",
                ExpectedVersion::Any,
                vec![NewEvent::new(
                    "Happened",
                    1,
                    json!({ "n": n }),
                    EventMetadata::system(),
                )],
            )
            .await
            .expect("append");
        let batch = tokio::time::timeout(conformance::HORIZON_WAIT, subscription.next())
            .await
            .expect("woken by NOTIFY, not by the hourly poll")
            .expect("open")
            .expect("ok");
        assert_eq!(batch[0].payload, json!({ "n": n }));
    }
}
