//! A fresh database per test, migrated, dropped when the test ends, so tests run in parallel and
//! leave nothing behind. The server is `TENANTRY_TEST_DATABASE_URL` (default: the local
//! PostgreSQL with trust auth, `postgres://postgres@127.0.0.1:5432/postgres`).

use std::time::Duration;

use sqlx::{Connection, PgConnection, PgPool};
use tenantry_application::event_store::Upcasters;
use tenantry_infrastructure::event_store::PgEventStore;

const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Clone)]
pub struct TestDb {
    pub pool: PgPool,
    /// The URL of this test's database.
    pub url: String,
    /// Drops the database when the last clone goes (a test can restart the service on it).
    _dropper: std::sync::Arc<Dropper>,
}

struct Dropper {
    name: String,
    server_url: String,
}

impl TestDb {
    /// Creates `tenantry_test_<random>` and applies the control-plane migrations.
    pub async fn new() -> Self {
        let server_url =
            std::env::var("TENANTRY_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_SERVER.into());
        Self::on_server(&server_url).await
    }

    /// The same on the server `server_url` names (with the database to connect to for
    /// `CREATE DATABASE`, e.g. a [`crate::PrivatePg::server_url`]).
    pub async fn on_server(server_url: &str) -> Self {
        let server_url = server_url.to_owned();
        let name = format!("tenantry_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&server_url)
            .await
            .expect("PostgreSQL must be running (see README: prerequisites)");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("failed to create the test database");
        admin.close().await.ok();
        let (server, _) = server_url
            .rsplit_once('/')
            .expect("TENANTRY_TEST_DATABASE_URL must name a database");
        let url = format!("{server}/{name}");
        tenantry_infrastructure::postgres::migrate(&url)
            .await
            .expect("failed to migrate the test database");
        let pool = tenantry_infrastructure::postgres::connect(&url, 24)
            .await
            .expect("failed to connect to the test database");
        Self {
            pool,
            url,
            _dropper: std::sync::Arc::new(Dropper { name, server_url }),
        }
    }

    /// An event store over this database with the conformance suite's upcasters.
    pub fn event_store(&self) -> PgEventStore {
        self.event_store_polling(Duration::from_millis(500))
    }

    /// Same, polling when idle at `poll_interval`.
    pub fn event_store_polling(&self, poll_interval: Duration) -> PgEventStore {
        PgEventStore::with_poll_interval(
            self.pool.clone(),
            crate::conformance::upcasters(),
            poll_interval,
        )
    }

    /// An event store with the given upcasters.
    pub fn event_store_with(&self, upcasters: Upcasters) -> PgEventStore {
        PgEventStore::new(self.pool.clone(), upcasters)
    }
}

impl Drop for Dropper {
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
