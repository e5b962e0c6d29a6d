//! Looking at the event log from tests, through the event store port as every other reader does
//! (nothing outside `infrastructure` names the PostgreSQL adapter's tables), so that the same
//! checks hold whichever adapter stores the log.

use std::time::Duration;

use tenantry_application::event_store::{Checkpoint, EventStore, RecordedEvent};

/// Every event of `stream`, in version order.
pub async fn stream(store: &dyn EventStore, stream: &str) -> Vec<RecordedEvent> {
    let mut events = Vec::new();
    loop {
        let page = store
            .read_stream(stream, events.len() as u64 + 1, 1000)
            .await
            .expect("failed to read a stream");
        let done = page.len() < 1000;
        events.extend(page);
        if done {
            return events;
        }
    }
}

/// The event types of `stream`, in version order.
pub async fn event_types(store: &dyn EventStore, stream_id: &str) -> Vec<String> {
    stream(store, stream_id)
        .await
        .into_iter()
        .map(|e| e.event_type)
        .collect()
}

/// How many events the log holds: every stored one, also those whose place in the log is not
/// final yet (see [`EventStore::backlog`]), so the count is exact as soon as an append returns.
pub async fn event_count(store: &dyn EventStore) -> u64 {
    store
        .backlog(Checkpoint::START)
        .await
        .expect("failed to count the events")
        .events
}

/// Every event of the log, in log order, once all the stored ones are readable. Readers see an
/// append only once every older transaction on the server has ended (tests in parallel create
/// and drop databases), so this reads until it has as many as [`event_count`] says are stored.
pub async fn all_events(store: &dyn EventStore) -> Vec<RecordedEvent> {
    let deadline = tokio::time::Instant::now() + crate::conformance::HORIZON_WAIT;
    loop {
        let stored = event_count(store).await;
        let mut events = Vec::new();
        let mut after = Checkpoint::START;
        loop {
            let page = store
                .read_all(after, 1000)
                .await
                .expect("failed to read the log");
            let Some(last) = page.last() else { break };
            after = last.checkpoint();
            events.extend(page);
        }
        if events.len() as u64 >= stored {
            return events;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of the {stored} stored events became readable",
            events.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
