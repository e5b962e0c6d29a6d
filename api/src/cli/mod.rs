//! The operator's command-line tools besides `serve` and `migrate`: staff accounts
//! (`tenantry staff …`), the drift report (`tenantry doctor`), tenants for scripts (`tenantry tenant …`), inspecting and rebuilding the read models (`tenantry projections …`) and
//! reading the event log (`tenantry events …`). Each talks to the control-plane database named in
//! the [`Settings`](crate::Settings), through the same application services as the API.

pub mod doctor;
pub mod events;
pub mod projections;
pub mod staff;
pub mod tenant;

use anyhow::Context;
use sqlx::PgPool;
use tenantry_application::event_store::Upcasters;
use tenantry_infrastructure::event_store::PgEventStore;

use crate::Settings;

/// A small pool and an event store over it, for a CLI command.
async fn connect(settings: &Settings) -> anyhow::Result<(PgPool, PgEventStore)> {
    let pool = tenantry_infrastructure::postgres::connect(&settings.database_url, 4)
        .await
        .context("failed to connect to the control-plane database")?;
    let store = PgEventStore::new(pool.clone(), Upcasters::new());
    Ok((pool, store))
}
