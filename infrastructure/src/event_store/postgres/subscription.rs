//! The catch-up subscription: read the log from a checkpoint in batches; when caught up, wait for
//! a wake-up (or the poll interval) and read again.
//!
//! A read can come back empty while committed events are already there: they sit behind the
//! transaction horizon because an older transaction somewhere in the cluster is still running (a
//! slow append, or a `CREATE`/`DROP DATABASE`, which holds its transaction across a checkpoint).
//! The subscription then asks whether anything committed lies past its checkpoint at all
//! ([`PENDING`](super::rows::PENDING)) and, if so, reads again soon with a growing pause, instead
//! of sleeping until the next wake-up: such events arrive within [`HELD_BACK_MAX`] of the horizon
//! moving, whatever the poll interval.

use std::time::Duration;

use futures::StreamExt;
use tenantry_application::event_store::{Checkpoint, EventStore, Subscription};

use super::PgEventStore;

/// The first pause before reading again when committed events are held back by the horizon; it
/// doubles up to [`HELD_BACK_MAX`].
const HELD_BACK_FIRST: Duration = Duration::from_millis(5);
const HELD_BACK_MAX: Duration = Duration::from_millis(100);

pub(super) fn catch_up(store: PgEventStore, after: Checkpoint, batch_size: usize) -> Subscription {
    let batch_size = batch_size.max(1);
    let wake = store.inner.wakeup.subscribe();
    futures::stream::try_unfold(
        (store, after, wake),
        move |(store, mut after, mut wake)| async move {
            let mut held_back = HELD_BACK_FIRST;
            loop {
                wake.borrow_and_update();
                let batch = store.read_all(after, batch_size).await?;
                if let Some(last) = batch.last() {
                    after = last.checkpoint();
                    return Ok(Some((batch, (store, after, wake))));
                }
                if store.has_pending(after).await? {
                    tokio::time::sleep(held_back).await;
                    held_back = (held_back * 2).min(HELD_BACK_MAX);
                    continue;
                }
                held_back = HELD_BACK_FIRST;
                tokio::select! {
                    _ = wake.changed() => {}
                    () = tokio::time::sleep(store.inner.poll_interval) => {}
                }
            }
        },
    )
    .boxed()
}
