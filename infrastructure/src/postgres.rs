//! The control-plane PostgreSQL database: connecting, creating it when it does not exist, and its
//! migrations (`migrations/control/`).

use std::time::Duration;

use anyhow::Context;
use sqlx::migrate::{MigrateDatabase, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};

/// The control-plane migrations: the event store, read models and checkpoints.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations/control");

/// How long the service waits for a pooled connection before answering 503 (and the default of
/// `TENANTRY_DATABASE_ACQUIRE_TIMEOUT_MS`). A PostgreSQL that is down, refuses connections or
/// has no slot left shows as a pool timeout after this long: sqlx retries refused and
/// "too many clients" connects until the acquire deadline.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1_500);

/// How long a connection of the service's pool stays open unused (sqlx's default is 10 min):
/// the server's slots are shared with the other processes and with provisioning, which under a
/// full server waits for one (issue 11: `max_connections` low, two processes).
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a connection of the service's pool lives at most. sqlx hands out its idle
/// connections oldest first, so light steady use (a poll every second or two) keeps every
/// connection of a pool from its idle timeout, and a pool that grew in a burst would keep the
/// burst's connections for good. Closed when this old, they are opened again only as demand
/// needs them, and the slots they held go back to the server (issue 11: two processes' pools
/// held every slot of a small server, and provisioning waited for one).
pub const POOL_MAX_LIFETIME: Duration = Duration::from_secs(60);

/// The service's pool over `url`: no IO until the first query (an unreachable database shows on
/// `/readyz` and as 503s, it does not stop the start), at most `max_connections`, each acquire
/// waiting at most `acquire_timeout`, an idle connection closed after [`POOL_IDLE_TIMEOUT`].
pub fn connect_lazy(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = url
        .parse()
        .with_context(|| format!("invalid database url {}", crate::redact::redact_url(url)))?;
    Ok(service_pool(options, max_connections, acquire_timeout))
}

fn service_pool(
    options: PgConnectOptions,
    max_connections: u32,
    acquire_timeout: Duration,
) -> PgPool {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(acquire_timeout)
        .idle_timeout(POOL_IDLE_TIMEOUT)
        .max_lifetime(POOL_MAX_LIFETIME)
        .connect_lazy_with(options)
}

/// [`connect_lazy`], and a transaction of the pool left idle for `liveness` ends: the server
/// rolls it back and closes its connection. A process frozen in the middle of a transaction
/// (between two statements) would otherwise hold its locks, and hold back every reader of the
/// event log (README: "Positions and checkpoints"), until it resumes; the service's own
/// transactions never wait on anything but their own statements.
pub fn connect_lazy_with_liveness(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
    liveness: Duration,
) -> anyhow::Result<PgPool> {
    let pool = connect_lazy(url, max_connections, acquire_timeout)?;
    let ms = liveness.as_millis().max(1).to_string();
    let options = (*pool.connect_options())
        .clone()
        .options([("idle_in_transaction_session_timeout", ms.as_str())]);
    Ok(service_pool(options, max_connections, acquire_timeout))
}

/// Connects a pool to `url` (no migrations run).
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = url
        .parse()
        .with_context(|| format!("invalid database url {}", crate::redact::redact_url(url)))?;
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .context("failed to connect to PostgreSQL")
}

/// Creates the database named in `url` if it does not exist, then applies the migrations.
pub async fn migrate(url: &str) -> anyhow::Result<()> {
    if !Postgres::database_exists(url)
        .await
        .context("failed to check whether the database exists")?
    {
        tracing::info!("creating the database");
        if let Err(error) = Postgres::create_database(url).await {
            // Another process may have created it in the meantime; that is fine.
            if !Postgres::database_exists(url).await.unwrap_or(false) {
                return Err(error).context("failed to create the database");
            }
        }
    }
    let pool = connect(url, 2).await?;
    MIGRATOR
        .run(&pool)
        .await
        .context("failed to apply the migrations")?;
    pool.close().await;
    Ok(())
}

/// Whether every migration this binary knows is applied to the database behind `db` (a pool or
/// a connection).
pub async fn migrations_applied(db: impl sqlx::PgExecutor<'_>) -> anyhow::Result<bool> {
    let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let applied: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(db)
            .await
            .context("failed to read the applied migrations")?;
    Ok(applied.unwrap_or(0) >= latest)
}
