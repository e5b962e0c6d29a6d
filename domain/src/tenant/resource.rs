//! What a provisioning step made: the names a later step, the tenant directory, a rollback or a
//! deletion needs to find it again. Secrets appear only as references.

use serde::{Deserialize, Serialize};

use super::{HookName, ProvisioningStep};
use crate::SecretRef;

/// The outcome of one successful provisioning step. Serialized with the step's name as its `step`
/// tag, e.g. `{"step": "schema", "schema": "tenant_…", "role": "tenant_…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum ProvisionedResource {
    /// The tenant's row in the shared tenant tables (keyed by the tenant id, so nothing to name).
    #[serde(rename = "register_shared_tenant")]
    SharedTenant,
    Schema {
        schema: String,
        /// The role that can use only `schema`.
        role: String,
    },
    Database {
        database: String,
        /// The login that owns `database`.
        role: String,
        /// Where `role`'s password is kept.
        password_secret: SecretRef,
    },
    TenantMigrations {
        /// The schema or database the migrations were applied to.
        target: String,
        /// The version of the last per-tenant migration applied.
        latest_version: i64,
    },
    RedisNamespace {
        /// The key prefix, `tenant:{id}:`.
        namespace: String,
        /// The ACL user restricted to `namespace`.
        acl_user: String,
        /// Where `acl_user`'s password is kept.
        password_secret: SecretRef,
    },
    Queue {
        /// The queue's Redis stream key, inside the tenant's namespace.
        queue: String,
    },
    /// An operator's hook step answered 2xx: `outputs` is its JSON body (`null` when empty), e.g.
    /// the name of what it made outside.
    Hook {
        hook: HookName,
        outputs: serde_json::Value,
    },
}

impl ProvisionedResource {
    /// The step that made this resource.
    pub fn step(&self) -> ProvisioningStep {
        match self {
            Self::SharedTenant => ProvisioningStep::RegisterSharedTenant,
            Self::Schema { .. } => ProvisioningStep::Schema,
            Self::Database { .. } => ProvisioningStep::Database,
            Self::TenantMigrations { .. } => ProvisioningStep::TenantMigrations,
            Self::RedisNamespace { .. } => ProvisioningStep::RedisNamespace,
            Self::Queue { .. } => ProvisioningStep::Queue,
            Self::Hook { hook, .. } => ProvisioningStep::Hook(*hook),
        }
    }
}
