//! The read models' projectors. Each owns its tables in schema `read` (created by the migration
//! `20261122000002_read_models.sql`, which documents their columns) and nothing else.
//!
//! The tenant panel and the provisioning steps fold each batch in memory: they load the rows of
//! the tenants the batch touches, apply its events to them in order, and write them back in one
//! statement, so a batch costs a few round trips however many events it holds.

mod audit_log;
mod provisioning_steps;
mod tenant_directory;
mod tenant_panel;

use std::sync::Arc;

use anyhow::Context;
use tenantry_application::event_store::RecordedEvent;
use tenantry_domain::{DomainEvent, TenantEvent};

pub use audit_log::AuditLog;
pub use provisioning_steps::ProvisioningSteps;
pub use tenant_directory::TenantDirectory;
pub use tenant_panel::TenantPanel;

use crate::Projector;

/// Every projector Tenantry runs: the tenant panel, provisioning steps, audit log and tenant
/// directory.
pub fn default_projectors() -> Vec<Arc<dyn Projector>> {
    vec![
        Arc::new(TenantPanel),
        Arc::new(ProvisioningSteps),
        Arc::new(AuditLog),
        Arc::new(TenantDirectory),
    ]
}

/// The names of [`default_projectors`], e.g. for `wait_for_position`.
pub const ALL: &[&str] = &[
    TenantPanel::NAME,
    ProvisioningSteps::NAME,
    AuditLog::NAME,
    TenantDirectory::NAME,
];

/// The tenant event in a stored event (already upcast by the store).
pub(crate) fn decode(event: &RecordedEvent) -> anyhow::Result<TenantEvent> {
    TenantEvent::decode(
        &event.event_type,
        event.schema_version,
        event.payload.clone(),
    )
    .with_context(|| format!("failed to decode the event at position {}", event.position))
}
