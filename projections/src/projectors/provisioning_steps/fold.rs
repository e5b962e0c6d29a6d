//! How each provisioning event changes a tenant's step rows.
//!
//! No event says "step started": a step is taken to start when the one before it succeeds (the
//! first one when provisioning is requested), which is when the saga moves on to it.

use chrono::{DateTime, Utc};
use tenantry_domain::events::{
    DatabaseProvisioned, HookStepSucceeded, ProvisioningRequested, ProvisioningRetryScheduled,
    ProvisioningRollbackStarted, ProvisioningStepFailed, QueueProvisioned,
    RedisNamespaceProvisioned, ResourceReleased, SchemaProvisioned, SharedTenantRegistered,
    TenantDeletionRequested, TenantMigrationsApplied,
};
use tenantry_domain::{ProvisioningStep, TenantEvent};
use uuid::Uuid;

use crate::projectors::event_names::event_types;
use crate::projectors::table_row::table_row;

/// The events this read model changes on.
pub(super) const EVENT_TYPES: &[&str] = event_types![
    ProvisioningRequested,
    SharedTenantRegistered,
    SchemaProvisioned,
    DatabaseProvisioned,
    TenantMigrationsApplied,
    RedisNamespaceProvisioned,
    QueueProvisioned,
    HookStepSucceeded,
    ProvisioningStepFailed,
    ProvisioningRetryScheduled,
    ProvisioningRollbackStarted,
    ResourceReleased,
    TenantDeletionRequested,
];

table_row! {
    /// A row of `provisioning_steps`; its fields are the table's columns.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) struct StepRow in "provisioning_steps", key (tenant_id, step) {
        pub(super) tenant_id: Uuid,
        pub(super) step: String,
        pub(super) ordinal: i32,
        pub(super) attempt: i32,
        pub(super) status: String,
        pub(super) attempts: i32,
        pub(super) last_error: Option<String>,
        pub(super) started_at: Option<DateTime<Utc>>,
        pub(super) finished_at: Option<DateTime<Utc>>,
        pub(super) next_retry_at: Option<DateTime<Utc>>,
    }
}

/// Applies `event` to one tenant's rows (in ordinal order).
pub(super) fn apply(rows: &mut Vec<StepRow>, event: &TenantEvent) {
    use TenantEvent as E;
    let at = event.at();
    if let Some(resource) = event.provisioned_resource() {
        return succeeded(rows, resource.step(), at);
    }
    match event {
        E::ProvisioningRequested(e) => {
            *rows = e
                .steps
                .iter()
                .enumerate()
                .map(|(i, step)| StepRow {
                    tenant_id: e.tenant_id.as_uuid(),
                    step: step.as_str().to_owned(),
                    ordinal: i as i32 + 1,
                    attempt: e.attempt as i32,
                    status: if i == 0 { "running" } else { "pending" }.into(),
                    attempts: 0,
                    last_error: None,
                    started_at: (i == 0).then_some(at),
                    finished_at: None,
                    next_retry_at: None,
                })
                .collect();
        }
        E::ProvisioningStepFailed(e) => {
            if let Some(row) = find(rows, e.step) {
                row.status = "failed".into();
                row.attempts = row.attempts.max(e.step_attempt as i32);
                row.last_error = Some(e.error.clone());
            }
        }
        E::ProvisioningRetryScheduled(e) => {
            if let Some(row) = find(rows, e.step) {
                row.status = "retry_scheduled".into();
                row.next_retry_at = Some(e.retry_at);
            }
        }
        E::ProvisioningRollbackStarted(_) => {
            for row in rows.iter_mut() {
                match row.status.as_str() {
                    "pending" => row.status = "skipped".into(),
                    "running" | "retry_scheduled" | "failed" => {
                        row.status = "failed".into();
                        row.next_retry_at = None;
                        row.finished_at = Some(at);
                    }
                    _ => {}
                }
            }
        }
        E::ResourceReleased(e) => {
            if let Some(row) = find(rows, e.step()) {
                row.status = "released".into();
                row.next_retry_at = None;
            }
        }
        E::TenantDeletionRequested(_) => {
            for row in rows.iter_mut() {
                if matches!(row.status.as_str(), "pending" | "retry_scheduled") {
                    row.status = "skipped".into();
                    row.next_retry_at = None;
                }
            }
        }
        _ => {}
    }
}

/// `step` succeeded: it is done, and the next pending step starts, if this one was the step in
/// progress (a step that reports success during a rollback starts nothing).
fn succeeded(rows: &mut [StepRow], step: ProvisioningStep, at: DateTime<Utc>) {
    let Some(index) = rows.iter().position(|r| r.step == step.as_str()) else {
        return;
    };
    let row = &mut rows[index];
    let was_in_progress = matches!(
        row.status.as_str(),
        "running" | "retry_scheduled" | "failed" | "pending"
    );
    row.status = "succeeded".into();
    row.attempts += 1;
    row.started_at.get_or_insert(at);
    row.finished_at = Some(at);
    row.next_retry_at = None;
    if was_in_progress
        && let Some(next) = rows[index + 1..].iter_mut().find(|r| r.status == "pending")
    {
        next.status = "running".into();
        next.started_at = Some(at);
    }
}

fn find(rows: &mut [StepRow], step: ProvisioningStep) -> Option<&mut StepRow> {
    rows.iter_mut().find(|r| r.step == step.as_str())
}
