//! Choosing the event store: the one place where an adapter of the event store port is built,
//! for the server and every CLI command alike, so that which store holds the log is a matter of
//! configuration and nothing else.
//!
//! `TENANTRY_EVENT_STORE_URL` names it: unset, the PostgreSQL adapter over the control-plane
//! database (its pool is shared); a `postgres://` URL, the PostgreSQL adapter over that database
//! (migrated like the control plane's by `tenantry migrate` and `serve`); a `kurrentdb://` or
//! `esdb://` URL (also `kdb://`, and each with `+discover`), the KurrentDB adapter, which exists
//! only in a build with the `kurrentdb` cargo feature. The read models, checkpoints, leases and
//! idempotency keys stay in the control-plane database whichever store holds the log.
//!
//! The URL may carry a password, so no error here repeats it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use tenantry_application::event_store::{EventStore, Upcasters};
use tenantry_infrastructure::event_store::PgEventStore;

use crate::Settings;

/// Where the settings put the event log.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Location<'a> {
    /// The control-plane database itself.
    ControlPlane,
    /// Another PostgreSQL database.
    Postgres(&'a str),
    /// A KurrentDB (EventStoreDB) server or cluster.
    KurrentDb(&'a str),
}

/// The URL schemes of the KurrentDB client's connection strings.
const KURRENTDB_SCHEMES: &[&str] = &[
    "kurrentdb",
    "kurrentdb+discover",
    "esdb",
    "esdb+discover",
    "kdb",
    "kdb+discover",
];

fn location(settings: &Settings) -> anyhow::Result<Location<'_>> {
    let Some(url) = settings.event_store_url.as_deref().map(str::trim) else {
        return Ok(Location::ControlPlane);
    };
    if url.is_empty() || url == settings.database_url {
        return Ok(Location::ControlPlane);
    }
    let scheme = url
        .split_once("://")
        .map(|(scheme, _)| scheme.to_ascii_lowercase())
        .unwrap_or_default();
    match scheme.as_str() {
        "postgres" | "postgresql" => Ok(Location::Postgres(url)),
        s if KURRENTDB_SCHEMES.contains(&s) => Ok(Location::KurrentDb(url)),
        _ => anyhow::bail!(
            "TENANTRY_EVENT_STORE_URL must be a postgres:// or a kurrentdb:// (esdb://) URL, \
             not a {scheme:?} one"
        ),
    }
}

/// The upcasters of Tenantry's stored events (none yet: no event has changed its shape).
pub fn upcasters() -> Upcasters {
    Upcasters::new()
}

/// The event store the settings name. `pool` is the control-plane database's; the PostgreSQL
/// adapter shares it unless the log lives in another database, which then gets a pool as large.
/// Connects lazily: an unreachable store shows on first use, not here.
pub async fn build(settings: &Settings, pool: &PgPool) -> anyhow::Result<Arc<dyn EventStore>> {
    match location(settings)? {
        Location::ControlPlane => Ok(Arc::new(PgEventStore::new(pool.clone(), upcasters()))),
        Location::Postgres(url) => {
            let events_pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(pool.options().get_max_connections())
                .acquire_timeout(Duration::from_secs(5))
                .connect_lazy(url)
                .context("invalid TENANTRY_EVENT_STORE_URL (a postgres:// URL)")?;
            Ok(Arc::new(PgEventStore::new(events_pool, upcasters())))
        }
        Location::KurrentDb(url) => kurrentdb(url).await,
    }
}

#[cfg(feature = "kurrentdb")]
async fn kurrentdb(url: &str) -> anyhow::Result<Arc<dyn EventStore>> {
    let store = tenantry_infrastructure::event_store::kurrentdb::KurrentDbEventStore::connect(
        url,
        upcasters(),
    )
    .await
    .context("invalid TENANTRY_EVENT_STORE_URL (a KurrentDB connection string)")?;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "kurrentdb"))]
async fn kurrentdb(_url: &str) -> anyhow::Result<Arc<dyn EventStore>> {
    anyhow::bail!(
        "TENANTRY_EVENT_STORE_URL names a KurrentDB server, but this tenantry was built without \
         the `kurrentdb` cargo feature: build it with `cargo build --release --features \
         kurrentdb`, or point TENANTRY_EVENT_STORE_URL at PostgreSQL"
    )
}

/// Applies the control-plane migrations to the event store's database when the log lives in a
/// PostgreSQL database of its own (only their event store tables are used there). The
/// control-plane database is migrated by its own call; KurrentDB needs no migrations.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    if let Location::Postgres(url) = location(settings)? {
        tenantry_infrastructure::postgres::migrate(url)
            .await
            .context("failed to migrate the event store's database")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(event_store_url: Option<&str>) -> Settings {
        let mut settings = Settings::from_env();
        settings.database_url = "postgres://postgres@127.0.0.1:5432/tenantry".into();
        settings.event_store_url = event_store_url.map(str::to_owned);
        settings
    }

    fn pool() -> PgPool {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect_lazy("postgres://postgres@127.0.0.1:5432/tenantry")
            .expect("a valid URL")
    }

    #[test]
    fn the_url_chooses_where_the_log_lives() {
        let same = "postgres://postgres@127.0.0.1:5432/tenantry";
        for (url, expected) in [
            (None, Location::ControlPlane),
            (Some(""), Location::ControlPlane),
            (Some(same), Location::ControlPlane),
            (
                Some("postgresql://db.internal/events"),
                Location::Postgres("postgresql://db.internal/events"),
            ),
            (
                Some("kurrentdb://localhost:2113?tls=false"),
                Location::KurrentDb("kurrentdb://localhost:2113?tls=false"),
            ),
            (
                Some("ESDB+discover://cluster:2113"),
                Location::KurrentDb("ESDB+discover://cluster:2113"),
            ),
        ] {
            let settings = settings(url);
            assert_eq!(location(&settings).expect("accepted"), expected, "{url:?}");
        }
    }

    #[tokio::test]
    async fn another_scheme_is_refused_without_repeating_the_url() {
        let error = build(&settings(Some("mysql://root:hunter2@db/events")), &pool())
            .await
            .err()
            .expect("refused")
            .to_string();
        assert!(error.contains("postgres://"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[cfg(not(feature = "kurrentdb"))]
    #[tokio::test]
    async fn a_kurrentdb_url_without_the_feature_names_the_feature() {
        let url = "kurrentdb://admin:hunter2@localhost:2113?tls=false";
        let error = build(&settings(Some(url)), &pool())
            .await
            .err()
            .expect("refused without the feature")
            .to_string();
        assert!(error.contains("`kurrentdb` cargo feature"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }

    /// With the feature, a KurrentDB URL builds the adapter; the client connects on first use, so
    /// no server is needed for this.
    #[cfg(feature = "kurrentdb")]
    #[tokio::test]
    async fn a_kurrentdb_url_with_the_feature_builds_the_adapter() {
        let url = "kurrentdb://admin:hunter2@localhost:2113?tls=false";
        build(&settings(Some(url)), &pool())
            .await
            .expect("the KurrentDB adapter");
        let error = build(&settings(Some("kurrentdb://")), &pool())
            .await
            .err()
            .expect("an invalid connection string is refused")
            .to_string();
        assert!(error.contains("KurrentDB connection string"), "{error}");
    }
}
