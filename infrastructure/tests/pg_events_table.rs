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

/// The log lines an append writes, as the `tenantry` binary formats them (no colours).
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A conflict is an answer the repository handles by deciding again: the store reports it to its
/// caller and does not log it at ERROR.
#[tokio::test]
async fn a_conflict_is_not_logged_as_an_error() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let db = tenantry_tests::TestDb::new().await;
    let store = PgEventStore::new(db.pool.clone(), Upcasters::new());
    let event = || NewEvent::new("Happened", 1, json!({}), EventMetadata::system());
    store
        .append("tenant-y", ExpectedVersion::NoStream, vec![event()])
        .await
        .expect("the first append");
    let conflict = store
        .append("tenant-y", ExpectedVersion::NoStream, vec![event()])
        .await;
    assert!(
        matches!(
            conflict,
            Err(tenantry_application::event_store::EventStoreError::Conflict { .. })
        ),
        "{conflict:?}"
    );
    tracing::error!("a line that is an error");
    let logged = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
    let errors: Vec<&str> = logged.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(errors.len(), 1, "only the test's own line: {logged}");
}
