//! The queue step: the tenant's default job queue, a Redis stream `tenant:{uuid}:queue:default`
//! with the consumer group `workers` that the tenant's workers read through. Inside the tenant's
//! namespace, so its ACL user can use it. Release deletes the stream (its group goes with it).

use tenantry_application::provisioning::{ProvisionError, TenantSpec};
use tenantry_domain::{ProvisionedResource, TenantId};

use super::Ctx;
use super::errors::OrFail;
use super::names::TenantNames;

/// The consumer group every queue gets.
pub const CONSUMER_GROUP: &str = "workers";

pub(super) async fn apply(
    ctx: &Ctx,
    tenant: &TenantSpec,
) -> Result<ProvisionedResource, ProvisionError> {
    let names = TenantNames::of(tenant.id);
    let mut conn = ctx.redis.connection().await?;
    // From id 0: the group delivers everything the stream ever held.
    let created = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&names.queue)
        .arg(CONSUMER_GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query_async::<()>(&mut conn)
        .await;
    match created {
        Err(e) if e.code() == Some("BUSYGROUP") => {}
        result => result.or_fail(|| format!("failed to create the queue {}", names.queue))?,
    }
    Ok(ProvisionedResource::Queue { queue: names.queue })
}

pub(super) async fn release(ctx: &Ctx, tenant: TenantId) -> Result<(), ProvisionError> {
    let names = TenantNames::of(tenant);
    let mut conn = ctx.redis.connection().await?;
    redis::cmd("UNLINK")
        .arg(&names.queue)
        .query_async::<()>(&mut conn)
        .await
        .or_fail(|| format!("failed to delete the queue {}", names.queue))
}
