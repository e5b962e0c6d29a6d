//! The queue step: the tenant's default job queue, a Redis stream `tenant:{uuid}:queue:default`
//! with the consumer group `workers` that the tenant's workers read through (both named by
//! [`TenantNames`]). Inside the tenant's
//! namespace, so its ACL user can use it. Release deletes the stream (its group goes with it).

use tenantry_application::provisioning::{ProvisionError, TenantSpec};
use tenantry_domain::{ProvisionedResource, TenantId, TenantNames};

use super::Ctx;
use super::errors::OrFail;

pub(super) async fn apply(
    ctx: &Ctx,
    tenant: &TenantSpec,
) -> Result<ProvisionedResource, ProvisionError> {
    let queue = TenantNames::of(tenant.id).queue();
    let mut conn = ctx.redis_connection().await?;
    // From id 0: the group delivers everything the stream ever held.
    let created = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&queue)
        .arg(TenantNames::CONSUMER_GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query_async::<()>(&mut conn)
        .await;
    match created {
        Err(e) if e.code() == Some("BUSYGROUP") => {}
        result => result.or_fail(|| format!("failed to create the queue {queue}"))?,
    }
    Ok(ProvisionedResource::Queue { queue })
}

pub(super) async fn release(ctx: &Ctx, tenant: TenantId) -> Result<(), ProvisionError> {
    let queue = TenantNames::of(tenant).queue();
    let mut conn = ctx.redis_connection().await?;
    redis::cmd("UNLINK")
        .arg(&queue)
        .query_async::<()>(&mut conn)
        .await
        .or_fail(|| format!("failed to delete the queue {queue}"))
}
