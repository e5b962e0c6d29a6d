//! What a tenant's infrastructure is called and what each isolation model makes. The names are
//! pinned byte for byte for a fixed id: existing tenants' schemas, databases, roles, Redis users,
//! keys and secrets are called this, so a change here would orphan every one of them.

use tenantry_domain::{
    IsolationModel, ProvisioningStep, ResourceKind, TenantId, TenantNames, TenantSecret,
};
use uuid::Uuid;

fn tenant() -> TenantId {
    TenantId::from_uuid(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00ab))
}

#[test]
fn every_name_of_a_tenant_is_pinned() {
    let names = TenantNames::of(tenant());
    let resource = "tenant_019000000000700080000000000000ab";
    assert_eq!(names.resource(), resource);
    assert_eq!(names.schema(), resource);
    assert_eq!(names.database(), resource);
    assert_eq!(names.role(), resource);
    assert_eq!(names.redis_user(), resource);
    assert_eq!(
        names.redis_namespace(),
        "tenant:01900000-0000-7000-8000-0000000000ab:"
    );
    assert_eq!(
        names.queue(),
        "tenant:01900000-0000-7000-8000-0000000000ab:queue:default"
    );
    assert_eq!(TenantNames::CONSUMER_GROUP, "workers");
    assert_eq!(
        names.secret_prefix(),
        "tenant/01900000-0000-7000-8000-0000000000ab/"
    );
    assert_eq!(
        names.postgres_secret().as_str(),
        "tenant/01900000-0000-7000-8000-0000000000ab/postgres"
    );
    assert_eq!(
        names.redis_secret().as_str(),
        "tenant/01900000-0000-7000-8000-0000000000ab/redis"
    );
    assert_eq!(
        tenant().stream_id(),
        "tenant-01900000-0000-7000-8000-0000000000ab"
    );
    assert_eq!(names.tenant(), tenant());
}

#[test]
fn names_read_back_to_their_tenant() {
    let id = tenant();
    assert_eq!(
        TenantNames::tenant_of_resource("tenant_019000000000700080000000000000ab"),
        Some(id)
    );
    assert_eq!(
        TenantNames::tenant_of_namespace("tenant:01900000-0000-7000-8000-0000000000ab:"),
        Some(id)
    );
    assert_eq!(
        TenantNames::namespace_of_key("tenant:01900000-0000-7000-8000-0000000000ab:queue:default"),
        Some("tenant:01900000-0000-7000-8000-0000000000ab:")
    );
    let redis = "tenant/01900000-0000-7000-8000-0000000000ab/redis";
    assert_eq!(TenantNames::tenant_of_secret(redis), Some(id));
    assert_eq!(TenantSecret::of_reference(redis), Some(TenantSecret::Redis));
    // Upper-case digits are another spelling of the id, not a name any step makes.
    assert_eq!(
        TenantNames::tenant_of_resource("tenant_019000000000700080000000000000AB"),
        None
    );
}

#[test]
fn each_isolation_model_has_its_steps_in_order() {
    use ProvisioningStep::*;
    assert_eq!(
        ProvisioningStep::sequence(IsolationModel::SharedSchema),
        [RegisterSharedTenant, RedisNamespace, Queue]
    );
    assert_eq!(
        ProvisioningStep::sequence(IsolationModel::SchemaPerTenant),
        [Schema, TenantMigrations, RedisNamespace, Queue]
    );
    assert_eq!(
        ProvisioningStep::sequence(IsolationModel::DatabasePerTenant),
        [Database, TenantMigrations, RedisNamespace, Queue]
    );
}

#[test]
fn each_isolation_model_makes_its_kinds_of_resource() {
    use ResourceKind::*;
    assert_eq!(
        IsolationModel::SharedSchema.resource_kinds(),
        [SharedTenant, RedisUser, RedisKeys, Secret]
    );
    assert_eq!(
        IsolationModel::SchemaPerTenant.resource_kinds(),
        [Schema, Role, RedisUser, RedisKeys, Secret]
    );
    assert_eq!(
        IsolationModel::DatabasePerTenant.resource_kinds(),
        [Database, Role, RedisUser, RedisKeys, Secret]
    );
}

#[test]
fn the_step_that_makes_a_resource_is_the_one_whose_release_removes_it() {
    use IsolationModel::*;
    use ProvisioningStep as Step;
    let making = |isolation: IsolationModel, kind| isolation.step_making(kind);
    assert_eq!(
        making(SharedSchema, ResourceKind::SharedTenant),
        Some(Step::RegisterSharedTenant)
    );
    assert_eq!(making(SharedSchema, ResourceKind::Schema), None);
    // A role is the schema's in one model and the database's in the other.
    assert_eq!(
        making(SchemaPerTenant, ResourceKind::Role),
        Some(Step::Schema)
    );
    assert_eq!(
        making(DatabasePerTenant, ResourceKind::Role),
        Some(Step::Database)
    );
    // Every key of the namespace goes with the namespace, the queue's included.
    assert_eq!(
        making(SharedSchema, ResourceKind::RedisKeys),
        Some(Step::RedisNamespace)
    );
    assert_eq!(
        DatabasePerTenant.step_making_secret(TenantSecret::Postgres),
        Some(Step::Database)
    );
    assert_eq!(
        SchemaPerTenant.step_making_secret(TenantSecret::Postgres),
        Some(Step::Schema),
        "a schema's role logs in with a password (issue 12)"
    );
    assert_eq!(
        SharedSchema.step_making_secret(TenantSecret::Postgres),
        None,
        "shared tenants use the shared application login"
    );
    for isolation in IsolationModel::ALL {
        assert_eq!(
            isolation.step_making_secret(TenantSecret::Redis),
            Some(Step::RedisNamespace)
        );
    }
}
