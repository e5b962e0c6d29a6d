//! One event per provisioning step that succeeded, named for what it made. Each carries the names
//! a read model or a later release needs; secrets only as references.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::TenantEvent;
use crate::{HookName, ProvisionedResource, SecretRef, TenantId};

/// `shared_schema`: the tenant's row is in the shared tenant tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedTenantRegistered {
    pub tenant_id: TenantId,
    /// The provisioning attempt this step belongs to.
    pub attempt: u32,
    pub at: DateTime<Utc>,
}

/// `schema_per_tenant`: the tenant's schema and its role exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaProvisioned {
    pub tenant_id: TenantId,
    pub attempt: u32,
    pub schema: String,
    /// The role that can use only `schema`.
    pub role: String,
    pub at: DateTime<Utc>,
}

/// `database_per_tenant`: the tenant's login role and its database exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseProvisioned {
    pub tenant_id: TenantId,
    pub attempt: u32,
    pub database: String,
    pub role: String,
    /// Where `role`'s password is kept; the password itself never enters an event.
    pub password_secret: SecretRef,
    pub at: DateTime<Utc>,
}

/// The per-tenant migrations are applied to the tenant's schema or database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantMigrationsApplied {
    pub tenant_id: TenantId,
    pub attempt: u32,
    /// The schema or database the migrations were applied to.
    pub target: String,
    /// The version of the last migration applied.
    pub latest_version: i64,
    pub at: DateTime<Utc>,
}

/// The tenant's Redis ACL user exists, restricted to its namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedisNamespaceProvisioned {
    pub tenant_id: TenantId,
    pub attempt: u32,
    /// The key prefix, `tenant:{id}:`.
    pub namespace: String,
    pub acl_user: String,
    pub password_secret: SecretRef,
    pub at: DateTime<Utc>,
}

/// The tenant's default job queue exists in its namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueProvisioned {
    pub tenant_id: TenantId,
    pub attempt: u32,
    /// The queue's Redis stream key.
    pub queue: String,
    pub at: DateTime<Utc>,
}

/// An operator's hook step answered 2xx (`apply`). `outputs` is the JSON body it answered (`null`
/// when it answered none): what it made outside, e.g. a WhatsApp instance's name. The hook's
/// secret never enters an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookStepSucceeded {
    pub tenant_id: TenantId,
    pub attempt: u32,
    pub hook: HookName,
    pub outputs: serde_json::Value,
    pub at: DateTime<Utc>,
}

impl ProvisionedResource {
    /// The event that records this resource's step as succeeded.
    pub(crate) fn into_event(
        self,
        tenant_id: TenantId,
        attempt: u32,
        at: DateTime<Utc>,
    ) -> TenantEvent {
        match self {
            Self::SharedTenant => SharedTenantRegistered {
                tenant_id,
                attempt,
                at,
            }
            .into(),
            Self::Schema { schema, role } => SchemaProvisioned {
                tenant_id,
                attempt,
                schema,
                role,
                at,
            }
            .into(),
            Self::Database {
                database,
                role,
                password_secret,
            } => DatabaseProvisioned {
                tenant_id,
                attempt,
                database,
                role,
                password_secret,
                at,
            }
            .into(),
            Self::TenantMigrations {
                target,
                latest_version,
            } => TenantMigrationsApplied {
                tenant_id,
                attempt,
                target,
                latest_version,
                at,
            }
            .into(),
            Self::RedisNamespace {
                namespace,
                acl_user,
                password_secret,
            } => RedisNamespaceProvisioned {
                tenant_id,
                attempt,
                namespace,
                acl_user,
                password_secret,
                at,
            }
            .into(),
            Self::Queue { queue } => QueueProvisioned {
                tenant_id,
                attempt,
                queue,
                at,
            }
            .into(),
            Self::Hook { hook, outputs } => HookStepSucceeded {
                tenant_id,
                attempt,
                hook,
                outputs,
                at,
            }
            .into(),
        }
    }
}

impl TenantEvent {
    /// What a step-succeeded event made, or `None` for any other event.
    pub fn provisioned_resource(&self) -> Option<ProvisionedResource> {
        Some(match self {
            Self::SharedTenantRegistered(_) => ProvisionedResource::SharedTenant,
            Self::SchemaProvisioned(e) => ProvisionedResource::Schema {
                schema: e.schema.clone(),
                role: e.role.clone(),
            },
            Self::DatabaseProvisioned(e) => ProvisionedResource::Database {
                database: e.database.clone(),
                role: e.role.clone(),
                password_secret: e.password_secret.clone(),
            },
            Self::TenantMigrationsApplied(e) => ProvisionedResource::TenantMigrations {
                target: e.target.clone(),
                latest_version: e.latest_version,
            },
            Self::RedisNamespaceProvisioned(e) => ProvisionedResource::RedisNamespace {
                namespace: e.namespace.clone(),
                acl_user: e.acl_user.clone(),
                password_secret: e.password_secret.clone(),
            },
            Self::QueueProvisioned(e) => ProvisionedResource::Queue {
                queue: e.queue.clone(),
            },
            Self::HookStepSucceeded(e) => ProvisionedResource::Hook {
                hook: e.hook,
                outputs: e.outputs.clone(),
            },
            _ => return None,
        })
    }
}
