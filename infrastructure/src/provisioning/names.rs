//! The names of one tenant's resources, all derived from its id, and the quoting of PostgreSQL
//! identifiers. SQL is only ever built from these names, never from input.

use tenantry_application::provisioning::tenant_secret_ref;
use tenantry_domain::{SecretRef, TenantId};

/// The secret kinds, as the last part of a tenant secret's reference.
pub(super) const POSTGRES_SECRET: &str = "postgres";
pub(super) const REDIS_SECRET: &str = "redis";

/// Everything one tenant's provisioning names.
#[derive(Debug, Clone)]
pub(super) struct TenantNames {
    /// `tenant_{32 hex}`: its schema, database, PostgreSQL role and Redis ACL user.
    pub(super) resource: String,
    /// `tenant:{uuid}:`.
    pub(super) namespace: String,
    /// The default queue's stream: `tenant:{uuid}:queue:default`.
    pub(super) queue: String,
    pub(super) postgres_secret: SecretRef,
    pub(super) redis_secret: SecretRef,
}

impl TenantNames {
    pub(super) fn of(tenant: TenantId) -> Self {
        let namespace = tenant.redis_namespace();
        Self {
            resource: tenant.resource_name(),
            queue: format!("{namespace}queue:default"),
            namespace,
            postgres_secret: tenant_secret_ref(tenant, POSTGRES_SECRET),
            redis_secret: tenant_secret_ref(tenant, REDIS_SECRET),
        }
    }

    /// The resource name, quoted for SQL.
    pub(super) fn ident(&self) -> String {
        quote_ident(&self.resource)
    }
}

/// `name` as a quoted PostgreSQL identifier. Doubling embedded quotes makes any string safe; the
/// names used here are `[a-z0-9_]` anyway.
pub(super) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The tenant whose resource name `name` is (`tenant_{32 hex}`), if it is one.
pub(super) fn tenant_of_resource(name: &str) -> Option<TenantId> {
    let hex = name.strip_prefix("tenant_")?;
    (hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .then(|| hex.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_names_round_trip_to_the_tenant() {
        let id = TenantId::from_uuid(uuid::Uuid::now_v7());
        let names = TenantNames::of(id);
        assert_eq!(tenant_of_resource(&names.resource), Some(id));
        assert_eq!(names.queue, format!("tenant:{id}:queue:default"));
        assert_eq!(tenant_of_resource("tenant_ABC"), None);
        assert_eq!(tenant_of_resource("tenantry_shared_app"), None);
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("tenant_1"), "\"tenant_1\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
