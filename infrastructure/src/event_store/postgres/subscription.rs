//! The catch-up subscription: read the log from a checkpoint in batches; when caught up, wait for
//! a wake-up (or the poll interval) and read again.

use std::time::Duration;

use futures::StreamExt;
use tenantry_application::event_store::{Checkpoint, EventStore, Subscription};

use super::PgEventStore;

/// After a wake-up that found nothing new, read again this soon, a few times: the new events may
/// still be behind the transaction horizon because another append is committing at that moment.
const QUICK_RETRY: Duration = Duration::from_millis(10);
const QUICK_RETRIES: u32 = 5;

pub(super) fn catch_up(store: PgEventStore, after: Checkpoint, batch_size: usize) -> Subscription {
    let batch_size = batch_size.max(1);
    let wake = store.inner.wakeup.subscribe();
    let state = (store, after, wake, 0u32);
    futures::stream::try_unfold(
        state,
        move |(store, mut after, mut wake, mut quick)| async move {
            loop {
                wake.borrow_and_update();
                let batch = store.read_all(after, batch_size).await?;
                if let Some(last) = batch.last() {
                    after = last.checkpoint();
                    return Ok(Some((batch, (store, after, wake, quick))));
                }
                if quick > 0 {
                    quick -= 1;
                    tokio::time::sleep(QUICK_RETRY).await;
                    continue;
                }
                tokio::select! {
                    changed = wake.changed() => {
                        if changed.is_ok() {
                            quick = QUICK_RETRIES;
                        }
                    }
                    () = tokio::time::sleep(store.inner.poll_interval) => {}
                }
            }
        },
    )
    .boxed()
}
