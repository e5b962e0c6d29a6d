//! What only the PostgreSQL event store's table promises, checked beside the adapter because it
//! names the table: the log is append-only, so an `UPDATE`, `DELETE` or `TRUNCATE` on `events` is
//! refused by the database itself, whoever connects. Each test runs in a fresh database on
//! `TENANTRY_TEST_DATABASE_URL`'s server (default: the local PostgreSQL), dropped afterwards.

use serde_json::json;
use sqlx::{Connection, PgConnection, PgPool};
use tenantry_application::event_store::{
    EventMetadata, EventStore, ExpectedVersion, NewEvent, Upcasters,
};
use tenantry_infrastructure::event_store::PgEventStore;

const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A fresh, migrated database, dropped when this goes.
struct FreshDb {
    pool: PgPool,
    name: String,
    server_url: String,
}

impl FreshDb {
    async fn new() -> Self {
        let server_url =
            std::env::var("TENANTRY_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_SERVER.into());
        let name = format!("tenantry_infra_{}", uuid::Uuid::new_v4().simple());
        let (server, _) = server_url
            .rsplit_once('/')
            .expect("TENANTRY_TEST_DATABASE_URL must name a database");
        let url = format!("{server}/{name}");
        // `migrate` creates the database.
        tenantry_infrastructure::postgres::migrate(&url)
            .await
            .expect("PostgreSQL must be running (see README: prerequisites)");
        let pool = tenantry_infrastructure::postgres::connect(&url, 4)
            .await
            .expect("connect");
        Self {
            pool,
            name,
            server_url,
        }
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        let (server_url, name) = (self.server_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot block on itself: use a thread.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&server_url).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await?;
                anyhow::Ok(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

#[tokio::test]
async fn the_events_table_refuses_update_delete_and_truncate() {
    let db = FreshDb::new().await;
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
