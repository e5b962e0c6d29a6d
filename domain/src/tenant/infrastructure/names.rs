//! What a tenant's infrastructure is called, every name derived from the tenant id, and the way
//! back from a name to its tenant (the inventory reads names off PostgreSQL's catalogs, Redis and
//! the secret store). Only what [`TenantNames::of`] builds counts as a tenant's: a name that merely
//! looks like one (another spelling of the id, upper-case digits) belongs to no tenant, because no
//! release would ever remove it.

use crate::{SecretRef, TenantId};

/// The kinds of secret a tenant's provisioning generates: the last part of their reference
/// (`tenant/{uuid}/{kind}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TenantSecret {
    /// The password of the tenant's own PostgreSQL login (`schema_per_tenant`,
    /// `database_per_tenant`: see [`TenantLogin`](super::TenantLogin)).
    Postgres,
    /// The password of the tenant's Redis ACL user.
    Redis,
}

impl TenantSecret {
    pub const ALL: [Self; 2] = [Self::Postgres, Self::Redis];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Redis => "redis",
        }
    }

    /// The kind of the tenant secret `reference` (`tenant/{uuid}/{kind}` of some tenant), if it is
    /// one of the kinds provisioning makes.
    pub fn of_reference(reference: &str) -> Option<Self> {
        let tenant = TenantNames::tenant_of_secret(reference)?;
        let kind = reference.strip_prefix(&TenantNames::of(tenant).secret_prefix())?;
        Self::ALL.into_iter().find(|k| k.as_str() == kind)
    }
}

/// Every name of one tenant's infrastructure. Cheap to build; build it where a name is needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantNames {
    tenant: TenantId,
    /// `tenant_{32 hex digits}`.
    resource: String,
    /// `tenant:{uuid}:`.
    namespace: String,
}

impl TenantNames {
    /// What every PostgreSQL object and Redis ACL user of a tenant is called before its id.
    pub const RESOURCE_PREFIX: &'static str = "tenant_";
    /// What every Redis key of a tenant starts with, before its id.
    pub const NAMESPACE_PREFIX: &'static str = "tenant:";
    /// What every secret reference of a tenant starts with, before its id.
    pub const SECRET_PREFIX: &'static str = "tenant/";
    /// The name of the queue every tenant gets.
    pub const DEFAULT_QUEUE: &'static str = "default";
    /// The consumer group of every tenant queue, which the tenant's workers read through.
    pub const CONSUMER_GROUP: &'static str = "workers";

    pub fn of(tenant: TenantId) -> Self {
        Self {
            tenant,
            // The whole id, not a prefix of it: the ids are v7, whose leading digits are a
            // timestamp, and two tenants sharing a schema would be far worse than a long name
            // (39 of PostgreSQL's 63 characters).
            resource: format!("{}{}", Self::RESOURCE_PREFIX, tenant.as_uuid().simple()),
            namespace: format!("{}{}:", Self::NAMESPACE_PREFIX, tenant.as_uuid()),
        }
    }

    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// `tenant_{32 hex digits}`: the one name of the tenant's schema, database, PostgreSQL role
    /// and Redis ACL user (lower-case letters, digits and `_`, so it needs no quoting anywhere).
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The tenant's schema in the control-plane database (`schema_per_tenant`).
    pub fn schema(&self) -> &str {
        &self.resource
    }

    /// The tenant's database (`database_per_tenant`).
    pub fn database(&self) -> &str {
        &self.resource
    }

    /// The tenant's PostgreSQL login role (the schema's or the database's).
    pub fn role(&self) -> &str {
        &self.resource
    }

    /// The PostgreSQL login of credential rotation `rotation` (see
    /// [`CredentialRotations`](crate::CredentialRotations)): the tenant's role itself before the
    /// first, then two logins in turn, `{role}_a` (odd rotations) and `{role}_b` (even ones),
    /// members of the role that act as it (`SET role`), so that the old login keeps working
    /// through the grace period while the new one is in use (PostgreSQL keeps one password per
    /// role; this is the "alternating users" rotation scheme).
    pub fn login(&self, rotation: u32) -> String {
        match rotation {
            0 => self.resource.clone(),
            n if n % 2 == 1 => format!("{}_a", self.resource),
            _ => format!("{}_b", self.resource),
        }
    }

    /// Every login a rotation can give the tenant, its role first.
    pub fn logins(&self) -> [String; 3] {
        [self.login(0), self.login(1), self.login(2)]
    }

    /// The reference of the password of `kind` made by credential rotation `rotation`: the
    /// provisioned one (`tenant/{uuid}/{kind}`) for 0, `tenant/{uuid}/{kind}.r{rotation}` after.
    /// Once a rotation is retired its password is copied to the provisioned reference (which
    /// then holds the current one again).
    pub fn rotated_secret(&self, kind: TenantSecret, rotation: u32) -> SecretRef {
        match rotation {
            0 => self.secret(kind),
            n => SecretRef::parse(&format!("{}{}.r{n}", self.secret_prefix(), kind.as_str()))
                .expect("a tenant id, a kind and a number make a valid secret reference"),
        }
    }

    /// The Redis ACL user that can touch only the tenant's namespace.
    pub fn redis_user(&self) -> &str {
        &self.resource
    }

    /// The tenant's Redis key prefix: `tenant:{uuid}:`.
    pub fn redis_namespace(&self) -> &str {
        &self.namespace
    }

    /// The Redis stream of the tenant's default queue: `tenant:{uuid}:queue:default`.
    pub fn queue(&self) -> String {
        format!("{}queue:{}", self.namespace, Self::DEFAULT_QUEUE)
    }

    /// The prefix of every secret reference of the tenant: `tenant/{uuid}/`.
    pub fn secret_prefix(&self) -> String {
        format!("{}{}/", Self::SECRET_PREFIX, self.tenant)
    }

    /// The reference of the tenant's secret of `kind`: `tenant/{uuid}/{kind}`.
    pub fn secret(&self, kind: TenantSecret) -> SecretRef {
        SecretRef::parse(&format!("{}{}", self.secret_prefix(), kind.as_str()))
            .expect("a tenant id and a secret kind make a valid secret reference")
    }

    /// `tenant/{uuid}/postgres`: the password of the tenant's database login.
    pub fn postgres_secret(&self) -> SecretRef {
        self.secret(TenantSecret::Postgres)
    }

    /// `tenant/{uuid}/redis`: the password of the tenant's Redis ACL user.
    pub fn redis_secret(&self) -> SecretRef {
        self.secret(TenantSecret::Redis)
    }

    /// The tenant whose [`resource`](Self::resource) name (or one of whose rotation
    /// [`login`](Self::login)s) `name` is, if it is one.
    pub fn tenant_of_resource(name: &str) -> Option<TenantId> {
        let base = name
            .strip_suffix("_a")
            .or_else(|| name.strip_suffix("_b"))
            .unwrap_or(name);
        let id = base.strip_prefix(Self::RESOURCE_PREFIX)?.parse().ok()?;
        (Self::of(id).resource == base).then_some(id)
    }

    /// The namespace a Redis key is in, `tenant:{…}:`, when the key starts with the tenant prefix
    /// (whatever stands between the colons: see [`tenant_of_namespace`](Self::tenant_of_namespace)).
    pub fn namespace_of_key(key: &str) -> Option<&str> {
        let rest = key.strip_prefix(Self::NAMESPACE_PREFIX)?;
        let (segment, _) = rest.split_once(':')?;
        Some(&key[..Self::NAMESPACE_PREFIX.len() + segment.len() + 1])
    }

    /// The tenant whose [`redis_namespace`](Self::redis_namespace) `namespace` is, if it is one.
    pub fn tenant_of_namespace(namespace: &str) -> Option<TenantId> {
        let id = namespace
            .strip_prefix(Self::NAMESPACE_PREFIX)?
            .strip_suffix(':')?
            .parse()
            .ok()?;
        (Self::of(id).namespace == namespace).then_some(id)
    }

    /// The tenant a secret reference (`tenant/{uuid}/…`) belongs to, if it is a tenant's.
    pub fn tenant_of_secret(reference: &str) -> Option<TenantId> {
        let (id, _) = reference
            .strip_prefix(Self::SECRET_PREFIX)?
            .split_once('/')?;
        let tenant: TenantId = id.parse().ok()?;
        (tenant.to_string() == id).then_some(tenant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> TenantId {
        TenantId::from_uuid(uuid::Uuid::now_v7())
    }

    #[test]
    fn every_name_leads_back_to_its_tenant() {
        let tenant = id();
        let names = TenantNames::of(tenant);
        assert_eq!(
            TenantNames::tenant_of_resource(names.resource()),
            Some(tenant)
        );
        assert_eq!(
            TenantNames::tenant_of_namespace(names.redis_namespace()),
            Some(tenant)
        );
        let queue = names.queue();
        assert_eq!(
            TenantNames::namespace_of_key(&queue),
            Some(names.redis_namespace())
        );
        for kind in TenantSecret::ALL {
            let secret = names.secret(kind);
            assert_eq!(TenantNames::tenant_of_secret(secret.as_str()), Some(tenant));
            assert_eq!(TenantSecret::of_reference(secret.as_str()), Some(kind));
        }
    }

    #[test]
    fn names_that_only_look_like_a_tenants_belong_to_none() {
        let tenant = id();
        let uuid = tenant.as_uuid();
        let upper = format!("tenant_{}", uuid.simple())
            .to_uppercase()
            .replace("TENANT", "tenant");
        for name in [
            upper.as_str(),
            &format!("tenant_{uuid}"),
            "tenant_ABC",
            "tenantry_shared_app",
            "tenant_",
        ] {
            assert_eq!(TenantNames::tenant_of_resource(name), None, "{name}");
        }
        for namespace in [
            format!("tenant:{}:", uuid.simple()),
            format!("tenant:{uuid}"),
            format!("tenant:{uuid}:x:"),
            "tenant:nope:".to_owned(),
        ] {
            assert_eq!(
                TenantNames::tenant_of_namespace(&namespace),
                None,
                "{namespace}"
            );
        }
        assert_eq!(TenantNames::namespace_of_key("tenant:no-colon"), None);
        assert_eq!(TenantNames::namespace_of_key("other:x:y"), None);
        assert_eq!(
            TenantNames::namespace_of_key("tenant:x:y:z"),
            Some("tenant:x:")
        );
        for reference in [
            format!("tenant/{}/redis", uuid.simple()),
            format!("tenant/{uuid}"),
            "tenant/nope/redis".to_owned(),
        ] {
            assert_eq!(
                TenantNames::tenant_of_secret(&reference),
                None,
                "{reference}"
            );
        }
        assert_eq!(
            TenantSecret::of_reference(&format!("tenant/{uuid}/tls")),
            None,
            "no step makes a tls secret"
        );
    }
}
