//! The operator's command-line tools besides `serve` and `migrate`: staff accounts
//! (`tenantry staff …`), the services' tokens (`tenantry service-token …`), the drift report (`tenantry doctor`), tenants for scripts (`tenantry
//! tenant …`), inspecting and rebuilding the read models (`tenantry projections …`), reading the
//! event log (`tenantry events …`) and the OpenAPI document (`tenantry openapi`). Each but the last
//! talks to the control-plane database and the event store named in the
//! [`Settings`](crate::Settings) (built by [`crate::event_store`]), through the same application
//! services as the API.

pub mod doctor;
pub mod events;
pub mod migrations;
pub mod openapi;
pub mod projections;
pub mod service_token;
pub mod staff;
pub mod tenant;

use std::sync::Arc;

use anyhow::Context;
use sqlx::PgPool;
use tenantry_application::event_store::EventStore;

use crate::Settings;

/// A small pool on the control-plane database and the configured event store, for a CLI command.
async fn connect(settings: &Settings) -> anyhow::Result<(PgPool, Arc<dyn EventStore>)> {
    let pool = tenantry_infrastructure::postgres::connect(&settings.database_url, 4)
        .await
        .context("failed to connect to the control-plane database")?;
    let store = crate::event_store::build(settings, &pool).await?;
    Ok((pool, store))
}
