//! Read-your-writes: wait until the read models a query uses have processed a given position,
//! so that a client that just wrote sees its write (`min_position=N`, API.md "Consistency").

use std::time::Duration;

use sqlx::PgPool;
use tenantry_application::event_store::EventStore;
use tokio::time::Instant;

use crate::ProjectionError;

/// Waits until each of `projectors` has applied the event at global `position`, for at most
/// `timeout`. True as soon as they all have; false when the time ran out first (the API answers
/// 503 with `Retry-After`), or early when one of them is stalled before the position and so will
/// not get there by itself.
///
/// Checkpoints are compared in log order (see `Checkpoint`): the position is first turned into
/// the checkpoint of its event. A position with no event (yet) is waited for like any other.
pub async fn wait_for_position(
    pool: &PgPool,
    store: &dyn EventStore,
    position: u64,
    projectors: &[&str],
    timeout: Duration,
) -> Result<bool, ProjectionError> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    let mut target = None;
    loop {
        if target.is_none() {
            target = store.checkpoint_of(position).await?;
        }
        if let Some(target) = target {
            let (done, stalled): (i64, i64) = sqlx::query_as(
                "SELECT count(*) FILTER (WHERE (commit, position) >= ($2, $3)),
                        count(*) FILTER (WHERE state = 'stalled' AND (commit, position) < ($2, $3))
                   FROM read.projector_checkpoints WHERE name = ANY($1)",
            )
            .bind(projectors)
            .bind(target.commit as i64)
            .bind(target.position as i64)
            .fetch_one(pool)
            .await?;
            if done as usize >= projectors.len() {
                return Ok(true);
            }
            if stalled > 0 {
                return Ok(false);
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}
