//! Reading ahead: a task pulls the next batches from the subscription while the worker applies
//! the current one, so reading the log and writing the read model overlap.

use futures::StreamExt;
use tenantry_application::event_store::{EventStoreError, RecordedEvent, Subscription};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

type Item = Result<Vec<RecordedEvent>, EventStoreError>;

/// The read-ahead of one subscription; dropping it stops the reading.
pub(super) struct Prefetch {
    rx: mpsc::Receiver<Item>,
    task: JoinHandle<()>,
}

impl Prefetch {
    /// Keeps up to `depth` batches ready.
    pub(super) fn start(mut subscription: Subscription, depth: usize) -> Self {
        let (tx, rx) = mpsc::channel(depth.max(1));
        let task = tokio::spawn(async move {
            while let Some(item) = subscription.next().await {
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    break;
                }
            }
        });
        Self { rx, task }
    }

    /// The next batch; `None` when the subscription ended.
    pub(super) async fn next(&mut self) -> Option<Item> {
        self.rx.recv().await
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.task.abort();
    }
}
