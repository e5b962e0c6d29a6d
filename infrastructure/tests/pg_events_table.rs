//! What only the PostgreSQL event store's table promises, checked beside the adapter because it
//! names the table: the log is append-only, so an `UPDATE`, `DELETE` or `TRUNCATE` on `events` is
//! refused by the database itself, whoever connects. Each test runs in a fresh database
//! (`tenantry_tests::TestDb`), dropped afterwards.

use serde_json::json;
use tenantry_application::event_store::{
    EventMetadata, EventStore, ExpectedVersion, NewEvent, Upcasters,
};
use tenantry_infrastructure::event_store::PgEventStore;

#[tokio::test]
async fn the_events_table_refuses_update_delete_and_truncate() {
    let db = tenantry_tests::TestDb::new().await;
    let store = PgEventStore::new(db.pool.clone(), Upcasters::new());
    store
        .append(
            "tenant-x",
            ExpectedVersion::NoStream,
            vec![NewEvent::new(
                "Happened",
                1,
                json!({}),
                EventMetadata::system(),
            )],
        )
        .await
        .expect("append");
    for sql in [
        "UPDATE events SET payload = '{\"forged\": true}'",
        "DELETE FROM events",
        "TRUNCATE events",
    ] {
        let error = sqlx::query(sql)
            .execute(&db.pool)
            .await
            .expect_err("the change is refused");
        assert!(error.to_string().contains("append-only"), "{sql}: {error}");
    }
    let stored = store.read_stream("tenant-x", 1, 10).await.expect("read");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].payload, json!({}));
}
