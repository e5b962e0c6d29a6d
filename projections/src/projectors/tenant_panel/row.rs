//! A tenant panel row and how each tenant event changes it. It follows the aggregate's own
//! `TenantState::apply` for status, name and plan (a test holds the two together), and adds what
//! the panel shows besides: infrastructure names, domains, workers, the provisioning summary.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use tenantry_application::event_store::RecordedEvent;
use tenantry_domain::{
    AccessResource, IsolationModel, ProvisionedResource, ProvisioningStep, TenantEvent,
    TenantStatus,
};
use uuid::Uuid;

use crate::projectors::table_row::table_row;

table_row! {
    /// A row of `tenant_panel`; its fields are the table's columns.
    #[derive(Debug, Clone, PartialEq)]
    pub(crate) struct PanelRow in "tenant_panel", key (tenant_id) {
        pub(super) tenant_id: Uuid,
        pub(super) name: String,
        pub(super) slug: String,
        pub(super) plan: String,
        pub(super) isolation: String,
        pub(super) status: String,
        pub(super) version: i64,
        pub(super) last_position: i64,
        pub(super) created_at: DateTime<Utc>,
        pub(super) updated_at: DateTime<Utc>,
        pub(super) database: Option<String>,
        pub(super) schema_name: Option<String>,
        pub(super) redis_namespace: Option<String>,
        pub(super) queues: Json<Vec<String>>,
        pub(super) domains: Json<Vec<Domain>>,
        pub(super) workers: Json<Vec<Uuid>>,
        pub(super) active_workers: i32,
        pub(super) provisioning_status: String,
        pub(super) provisioning_attempt: i32,
        pub(super) provisioning_step: Option<String>,
        pub(super) remaining_steps: Json<Vec<ProvisioningStep>>,
        pub(super) suspension_reason: Option<String>,
        pub(super) suspended_at: Option<DateTime<Utc>>,
        pub(super) access_suspended: Json<Vec<AccessResource>>,
        pub(super) access_pending: bool,
        pub(super) hook_outputs: Json<BTreeMap<String, serde_json::Value>>,
        pub(super) schema_version: Option<i64>,
        pub(super) credentials_rotation: i32,
        pub(super) credentials_applied: i32,
        pub(super) credentials_retired: i32,
        pub(super) credentials_grace_until: Option<DateTime<Utc>>,
        pub(super) credentials_error: Option<String>,
    }
}

/// One of the tenant's extra hosts, as stored in `domains`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Domain {
    pub(super) host: String,
    /// `pending` until activated, then `active`.
    pub(super) status: String,
    pub(super) tls_expires_at: Option<DateTime<Utc>>,
}

impl PanelRow {
    /// The row a `TenantCreated` starts; `None` for any other event (a stream that does not start
    /// with one is not a tenant's).
    pub(super) fn create(envelope: &RecordedEvent, event: &TenantEvent) -> Option<Self> {
        let TenantEvent::TenantCreated(created) = event else {
            return None;
        };
        Some(Self {
            tenant_id: created.tenant_id.as_uuid(),
            name: created.name.to_string(),
            slug: created.slug.to_string(),
            plan: created.plan.to_string(),
            isolation: created.isolation.to_string(),
            status: TenantStatus::Pending.to_string(),
            version: envelope.stream_version as i64,
            last_position: envelope.position as i64,
            created_at: created.at,
            updated_at: created.at,
            database: None,
            schema_name: None,
            redis_namespace: None,
            queues: Json(vec![]),
            domains: Json(vec![]),
            workers: Json(vec![]),
            active_workers: 0,
            provisioning_status: "not_started".into(),
            provisioning_attempt: 0,
            provisioning_step: None,
            remaining_steps: Json(vec![]),
            suspension_reason: None,
            suspended_at: None,
            access_suspended: Json(vec![]),
            access_pending: false,
            hook_outputs: Json(BTreeMap::new()),
            schema_version: None,
            credentials_rotation: 0,
            credentials_applied: 0,
            credentials_retired: 0,
            credentials_grace_until: None,
            credentials_error: None,
        })
    }

    /// Applies one of the tenant's later events. An event at or below the row's version was
    /// applied already and changes nothing.
    pub(super) fn apply(&mut self, envelope: &RecordedEvent, event: &TenantEvent) {
        if envelope.stream_version as i64 <= self.version {
            return;
        }
        self.version = envelope.stream_version as i64;
        self.last_position = envelope.position as i64;
        self.updated_at = event.at();
        if let Some(resource) = event.provisioned_resource() {
            self.provisioned(resource);
        } else {
            self.apply_other(event);
        }
        self.active_workers = self.workers.0.len() as i32;
        self.provisioning_step = self
            .remaining_steps
            .0
            .first()
            .map(|s| s.as_str().to_owned());
        self.access_pending = self.access_pending();
    }

    /// Whether the saga has work on the tenant's access: to switch an access off (suspended: an
    /// access of the model still on) or on (active: an access still off), as
    /// `Tenant::access_work` says, or a credential rotation to apply or retire
    /// (`Tenant::credentials_work`; it waits while the tenant is suspended).
    fn access_pending(&self) -> bool {
        let rotating = self.credentials_retired < self.credentials_rotation;
        self.access_change_pending() || (rotating && self.status == TenantStatus::Active.as_str())
    }

    fn access_change_pending(&self) -> bool {
        let suspended = &self.access_suspended.0;
        match self.status.parse() {
            Ok(TenantStatus::Suspended) => IsolationModel::parse(&self.isolation)
                .map(|model| {
                    model
                        .access_resources()
                        .iter()
                        .any(|a| !suspended.contains(a))
                })
                .unwrap_or(false),
            Ok(TenantStatus::Active) => !suspended.is_empty(),
            _ => false,
        }
    }

    fn provisioned(&mut self, resource: ProvisionedResource) {
        let step = resource.step();
        match resource {
            ProvisionedResource::Schema { schema, .. } => self.schema_name = Some(schema),
            ProvisionedResource::Database { database, .. } => self.database = Some(database),
            ProvisionedResource::RedisNamespace { namespace, .. } => {
                self.redis_namespace = Some(namespace)
            }
            ProvisionedResource::Queue { queue } => {
                if !self.queues.0.contains(&queue) {
                    self.queues.0.push(queue);
                }
            }
            ProvisionedResource::Hook { hook, outputs } => {
                self.hook_outputs
                    .0
                    .insert(hook.as_str().to_owned(), outputs);
            }
            ProvisionedResource::TenantMigrations { latest_version, .. } => {
                self.schema_version = Some(latest_version)
            }
            ProvisionedResource::SharedTenant => {}
        }
        self.remaining_steps.0.retain(|s| *s != step);
        if self.provisioning_status == "retrying" {
            self.provisioning_status = "running".into();
        }
    }

    fn apply_other(&mut self, event: &TenantEvent) {
        use TenantEvent as E;
        match event {
            E::ProvisioningRequested(e) => {
                self.set_status(TenantStatus::Provisioning);
                self.provisioning_status = "running".into();
                self.provisioning_attempt = e.attempt as i32;
                self.remaining_steps = Json(e.steps.clone());
            }
            E::ProvisioningStepFailed(_) | E::ProvisioningRetryScheduled(_) => {
                self.provisioning_status = "retrying".into();
            }
            E::ProvisioningCompleted(_) => {
                self.set_status(TenantStatus::Active);
                self.provisioning_status = "completed".into();
                self.remaining_steps.0.clear();
            }
            E::ProvisioningRollbackStarted(_) => {
                self.set_status(TenantStatus::RollingBack);
                self.provisioning_status = "rolling_back".into();
            }
            E::ResourceReleased(e) => self.released(&e.resource),
            E::ProvisioningRolledBack(_) => {
                self.set_status(TenantStatus::Failed);
                self.provisioning_status = "failed".into();
                self.remaining_steps.0.clear();
            }
            E::TenantRenamed(e) => self.name = e.name.to_string(),
            E::PlanChanged(e) => self.plan = e.plan.to_string(),
            E::TenantSuspended(e) => {
                self.set_status(TenantStatus::Suspended);
                self.suspension_reason = e.reason.clone();
                self.suspended_at = Some(e.at);
            }
            E::TenantReactivated(_) => {
                self.set_status(TenantStatus::Active);
                self.suspension_reason = None;
                self.suspended_at = None;
            }
            E::TenantDeletionRequested(_) => {
                self.set_status(TenantStatus::Deleting);
                self.suspension_reason = None;
                self.suspended_at = None;
            }
            E::AccessSuspended(e) => {
                if !self.access_suspended.0.contains(&e.resource) {
                    self.access_suspended.0.push(e.resource);
                    self.access_suspended.0.sort();
                }
            }
            E::AccessRestored(e) => self.access_suspended.0.retain(|a| *a != e.resource),
            // The failure and its retry are in the tenant's history; the row shows the outcome.
            E::AccessChangeFailed(_) => {}
            E::TenantDeleted(_) => {
                self.set_status(TenantStatus::Deleted);
                // Its hosts are free again (the directory forgets them too).
                self.domains.0.clear();
            }
            E::DomainRegistered(e) => {
                self.domain(&e.host);
            }
            E::DomainActivated(e) => self.domain(&e.host).status = "active".into(),
            E::CertificateIssued(e) => self.domain(&e.host).tls_expires_at = Some(e.expires_at),
            E::WorkerStarted(e) => {
                if !self.workers.0.contains(&e.worker_id) {
                    self.workers.0.push(e.worker_id);
                }
            }
            E::WorkerStopped(e) => self.workers.0.retain(|w| *w != e.worker_id),
            // The repaired resource's name is the one the row has from its step's event; only
            // the version and `updated_at` move.
            E::ResourceRepaired(_) => {}
            // An audit record: only the version and `updated_at` move.
            E::TenantCredentialsRevealed(_) => {}
            E::TenantMigrated(migrated) => self.schema_version = Some(migrated.to),
            E::TenantMigrationFailed(_) => {}
            E::TenantCredentialsRotated(e) => {
                self.credentials_rotation = e.rotation as i32;
                self.credentials_grace_until = Some(e.grace_until);
                self.credentials_error = None;
            }
            E::TenantCredentialsApplied(e) => {
                self.credentials_applied = e.rotation as i32;
                self.credentials_error = None;
            }
            E::TenantCredentialsRetired(e) => {
                self.credentials_retired = e.rotation as i32;
                self.credentials_error = None;
            }
            E::CredentialsChangeFailed(e) => self.credentials_error = Some(e.error.clone()),
            // A second `TenantCreated` cannot be decided; the step events went to `provisioned`.
            E::TenantCreated(_)
            | E::SharedTenantRegistered(_)
            | E::SchemaProvisioned(_)
            | E::DatabaseProvisioned(_)
            | E::TenantMigrationsApplied(_)
            | E::RedisNamespaceProvisioned(_)
            | E::QueueProvisioned(_)
            | E::HookStepSucceeded(_) => {}
        }
    }

    fn released(&mut self, resource: &ProvisionedResource) {
        match resource {
            ProvisionedResource::Schema { .. } => self.schema_name = None,
            ProvisionedResource::Database { .. } => self.database = None,
            ProvisionedResource::RedisNamespace { .. } => self.redis_namespace = None,
            ProvisionedResource::Queue { queue } => self.queues.0.retain(|q| q != queue),
            ProvisionedResource::Hook { hook, .. } => {
                self.hook_outputs.0.remove(hook.as_str());
            }
            ProvisionedResource::SharedTenant | ProvisionedResource::TenantMigrations { .. } => {}
        }
    }

    fn set_status(&mut self, status: TenantStatus) {
        self.status = status.to_string();
    }

    /// The domain named `host`, added (pending) if the row does not have it yet.
    fn domain(&mut self, host: &str) -> &mut Domain {
        let domains = &mut self.domains.0;
        let index = match domains.iter().position(|d| d.host == host) {
            Some(index) => index,
            None => {
                domains.push(Domain {
                    host: host.to_owned(),
                    status: "pending".into(),
                    tls_expires_at: None,
                });
                domains.len() - 1
            }
        };
        &mut domains[index]
    }
}
