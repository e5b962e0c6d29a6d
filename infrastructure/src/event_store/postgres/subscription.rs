//! The catch-up subscription: read the log from a checkpoint in batches; when caught up, wait for
//! a wake-up (or the poll interval) and read again.
//!
//! A read can come back empty while committed events are already there: they sit behind the
//! transaction horizon because an older transaction somewhere in the cluster is still running (a
//! slow append, or a `CREATE`/`DROP DATABASE`, which holds its transaction across a checkpoint).
//! So after a wake-up that found nothing the subscription reads again a few times, soon; and
//! before it goes idle it asks whether anything committed lies past its checkpoint at all
//! ([`PENDING`](super::rows::PENDING)): while something does, it idles for [`QUICK_RETRY`] instead
//! of the poll interval. A wake-up ends the idle wait either way.

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
                let idle = if store.has_pending(after).await? {
                    QUICK_RETRY
                } else {
                    store.inner.poll_interval
                };
                tokio::select! {
                    changed = wake.changed() => {
                        if changed.is_ok() {
                            quick = QUICK_RETRIES;
                        }
                    }
                    () = tokio::time::sleep(idle) => {}
                }
            }
        },
    )
    .boxed()
}
