//! The event store conformance suite: one set of checks that every adapter of the
//! [`EventStore`] port must pass, written once and run against PostgreSQL always and against
//! KurrentDB when `TENANTRY_KURRENTDB_URL` is set (`tests/tests/event_store_*.rs`).
//!
//! Each check uses streams named with a fresh prefix and looks only at its own streams in the
//! global log, so it also works on a shared server that holds other data.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use rand::Rng;
use serde_json::json;
use tenantry_application::event_store::{
    Checkpoint, EventMetadata, EventStore, EventStoreError, ExpectedVersion, NewEvent,
    RecordedEvent, Upcasters,
};
use uuid::Uuid;

/// The upcasters every store under test is built with: `ConformanceUpcast` v1 `{"name"}` becomes
/// v2 `{"full_name"}`, then v3 adds `{"source": "upcast"}`.
pub fn upcasters() -> Upcasters {
    Upcasters::new()
        .register("ConformanceUpcast", 1, |mut p| {
            let name = p
                .as_object_mut()
                .and_then(|o| o.remove("name"))
                .ok_or("no name")?;
            Ok(json!({ "full_name": name }))
        })
        .register("ConformanceUpcast", 2, |mut p| {
            p["source"] = json!("upcast");
            Ok(p)
        })
}

/// A fresh stream-name prefix for one check.
fn prefix() -> String {
    format!("conf{}", Uuid::new_v4().simple())
}

fn event(n: u64) -> NewEvent {
    NewEvent::new(
        "ConformanceHappened",
        1,
        json!({ "n": n }),
        EventMetadata::system(),
    )
}

fn events(count: u64) -> Vec<NewEvent> {
    (0..count).map(event).collect()
}

async fn whole_stream(store: &dyn EventStore, stream: &str) -> Vec<RecordedEvent> {
    store
        .read_stream(stream, 1, 10_000)
        .await
        .expect("read_stream failed")
}

/// Every event of the log whose stream starts with `prefix`, read from the start in pages of
/// `page`, once at least `expected` of them are readable. Readers see an append only once every
/// transaction older than it has ended, anywhere on the server (other tests run in parallel), so
/// the first reads right after an append may come up short; that is a wait, never a skip.
async fn log_of(
    store: &dyn EventStore,
    prefix: &str,
    page: usize,
    expected: usize,
) -> Vec<RecordedEvent> {
    let deadline = tokio::time::Instant::now() + HORIZON_WAIT;
    loop {
        let mut after = Checkpoint::START;
        let mut out = Vec::new();
        loop {
            let batch = store.read_all(after, page).await.expect("read_all failed");
            let Some(last) = batch.last() else { break };
            after = last.checkpoint();
            out.extend(
                batch
                    .into_iter()
                    .filter(|e| e.stream_id.starts_with(prefix)),
            );
        }
        if out.len() >= expected || tokio::time::Instant::now() > deadline {
            return out;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn assert_conflict(result: Result<impl std::fmt::Debug, EventStoreError>, actual_version: u64) {
    match result {
        Err(EventStoreError::Conflict { actual, .. }) => assert_eq!(actual, actual_version),
        other => panic!("expected a version conflict at {actual_version}, got {other:?}"),
    }
}

/// Expected versions: `NoStream`, `Exact`, `Any`; a refused append writes nothing.
pub async fn version_conflicts(store: &dyn EventStore) {
    let s = format!("{}-a", prefix());
    let r = store
        .append(&s, ExpectedVersion::NoStream, events(2))
        .await
        .expect("the first append to a new stream succeeds");
    assert_eq!(r.stream_version, 2);
    assert!(!r.already_stored);

    assert_conflict(
        store.append(&s, ExpectedVersion::NoStream, events(1)).await,
        2,
    );
    assert_conflict(
        store.append(&s, ExpectedVersion::Exact(1), events(3)).await,
        2,
    );
    assert_conflict(
        store.append(&s, ExpectedVersion::Exact(3), events(3)).await,
        2,
    );
    assert_eq!(
        whole_stream(store, &s).await.len(),
        2,
        "refused appends wrote nothing"
    );

    let r = store
        .append(&s, ExpectedVersion::Exact(2), events(3))
        .await
        .expect("the right expected version succeeds");
    assert_eq!(r.stream_version, 5);
    let r = store
        .append(&s, ExpectedVersion::Any, events(1))
        .await
        .expect("any version succeeds");
    assert_eq!(r.stream_version, 6);

    let fresh = format!("{s}-fresh");
    assert_conflict(
        store
            .append(&fresh, ExpectedVersion::Exact(4), events(1))
            .await,
        0,
    );
    assert!(whole_stream(store, &fresh).await.is_empty());
    let r = store
        .append(&fresh, ExpectedVersion::Exact(0), events(1))
        .await
        .expect("Exact(0) on a new stream means no stream");
    assert_eq!(r.stream_version, 1);
    let r = store
        .append(&format!("{s}-any"), ExpectedVersion::Any, events(2))
        .await
        .expect("Any on a new stream succeeds");
    assert_eq!(r.stream_version, 2);

    let versions: Vec<u64> = whole_stream(store, &s)
        .await
        .iter()
        .map(|e| e.stream_version)
        .collect();
    assert_eq!(versions, vec![1, 2, 3, 4, 5, 6]);
}

/// Concurrent appends with one expected version to one stream: exactly one wins.
pub async fn one_winner_per_expected_version(store: Arc<dyn EventStore>) {
    let s = format!("{}-race", prefix());
    store
        .append(&s, ExpectedVersion::NoStream, events(1))
        .await
        .expect("first append");
    let attempts = (0..8).map(|_| {
        let (store, s) = (store.clone(), s.clone());
        tokio::spawn(async move { store.append(&s, ExpectedVersion::Exact(1), events(2)).await })
    });
    let results = futures::future::join_all(attempts).await;
    let (won, lost): (Vec<_>, Vec<_>) = results
        .into_iter()
        .map(|r| r.expect("task panicked"))
        .partition(|r| r.is_ok());
    assert_eq!(won.len(), 1, "exactly one append wins");
    for r in lost {
        assert_conflict(r, 3);
    }
    assert_eq!(whole_stream(&*store, &s).await.len(), 3);
}

/// Appending already-stored event ids is a no-op that reports where they are.
pub async fn idempotent_append(store: &dyn EventStore) {
    let s = format!("{}-idem", prefix());
    let batch = events(3);
    let first = store
        .append(&s, ExpectedVersion::NoStream, batch.clone())
        .await
        .expect("first append");
    for expected in [
        ExpectedVersion::NoStream,
        ExpectedVersion::Exact(0),
        ExpectedVersion::Any,
    ] {
        let again = store
            .append(&s, expected, batch.clone())
            .await
            .expect("a retry of the same events succeeds");
        assert!(again.already_stored, "the retry wrote nothing");
        assert_eq!(again.stream_version, first.stream_version);
        assert_eq!(again.first_position, first.first_position);
        assert_eq!(again.last, first.last);
    }
    assert_eq!(whole_stream(store, &s).await.len(), 3);

    // Some stored ids mixed with new ones is a malformed append: nothing of it is written.
    let mut mixed = batch[..2].to_vec();
    mixed.push(event(99));
    assert!(matches!(
        store.append(&s, ExpectedVersion::Any, mixed).await,
        Err(EventStoreError::InvalidAppend(_))
    ));
    let mut twice = events(1);
    twice.push(twice[0].clone());
    assert!(matches!(
        store.append(&s, ExpectedVersion::Any, twice).await,
        Err(EventStoreError::InvalidAppend(_))
    ));
    assert!(matches!(
        store.append(&s, ExpectedVersion::Any, vec![]).await,
        Err(EventStoreError::InvalidAppend(_))
    ));
    assert_eq!(whole_stream(store, &s).await.len(), 3);
}

/// Concurrent retries of one append store it once.
pub async fn concurrent_retries_store_once(store: Arc<dyn EventStore>) {
    let s = format!("{}-retry", prefix());
    let batch = events(4);
    let attempts = (0..6).map(|_| {
        let (store, s, batch) = (store.clone(), s.clone(), batch.clone());
        tokio::spawn(async move { store.append(&s, ExpectedVersion::Any, batch).await })
    });
    let results: Vec<_> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.expect("task panicked").expect("every retry succeeds"))
        .collect();
    assert_eq!(results.iter().filter(|r| !r.already_stored).count(), 1);
    assert!(results.iter().all(|r| r.last == results[0].last));
    assert_eq!(whole_stream(&*store, &s).await.len(), 4);
}

/// Stream reads: versions, ranges, the envelope round trip, missing streams.
pub async fn stream_reads(store: &dyn EventStore) {
    let s = format!("{}-read", prefix());
    let tenant = Uuid::now_v7();
    let mut metadata = EventMetadata::system();
    metadata.tenant_id = Some(tenant);
    metadata.ip = Some("203.0.113.7".into());
    let written: Vec<NewEvent> = (0..10)
        .map(|n| {
            let mut e = event(n);
            e.metadata = metadata.clone();
            e
        })
        .collect();
    for chunk in written.chunks(4) {
        store
            .append(&s, ExpectedVersion::Any, chunk.to_vec())
            .await
            .expect("append");
    }
    let read = whole_stream(store, &s).await;
    assert_eq!(read.len(), 10);
    for (i, (r, w)) in read.iter().zip(&written).enumerate() {
        assert_eq!(r.stream_version, i as u64 + 1);
        assert_eq!(r.stream_id, s);
        assert_eq!(r.event_id, w.event_id);
        assert_eq!(r.event_type, w.event_type);
        assert_eq!(r.schema_version, 1);
        assert_eq!(r.payload, w.payload);
        assert_eq!(r.metadata, metadata);
    }
    let middle: Vec<u64> = store
        .read_stream(&s, 5, 3)
        .await
        .expect("read")
        .iter()
        .map(|e| e.stream_version)
        .collect();
    assert_eq!(middle, vec![5, 6, 7]);
    assert!(store.read_stream(&s, 11, 5).await.expect("read").is_empty());
    assert!(
        whole_stream(store, &format!("{s}-missing"))
            .await
            .is_empty()
    );
}

/// The global log: every event once, in an order that agrees with each stream's versions and
/// with each append's order; checkpoints strictly increase; `checkpoint_of` finds each event.
pub async fn all_stream_order(store: &dyn EventStore) {
    let p = prefix();
    let mut appended = Vec::new();
    for round in 0..5u64 {
        for s in 0..4 {
            let stream = format!("{p}-{s}");
            let r = store
                .append(&stream, ExpectedVersion::Any, events(round % 3 + 1))
                .await
                .expect("append");
            appended.push(r);
        }
    }
    let total: u64 = (0..5u64).map(|round| 4 * (round % 3 + 1)).sum();
    for page in [1, 3, 1000] {
        let log = log_of(store, &p, page, total as usize).await;
        assert_eq!(log.len() as u64, total, "page size {page}");
        assert_log_consistent(&log);
    }
    let log = log_of(store, &p, 1000, total as usize).await;
    for e in log.iter().step_by(7) {
        assert_eq!(
            store.checkpoint_of(e.position).await.expect("lookup"),
            Some(e.checkpoint())
        );
    }
    for r in appended {
        assert!(log.iter().any(|e| e.checkpoint() == r.last));
    }
}

/// Malformed appends are refused before anything is written, by every adapter alike (the rules
/// are the port's, `validate_append`).
pub async fn malformed_appends_are_refused(store: &dyn EventStore) {
    let s = format!("{}-bad", prefix());
    let with = |change: fn(&mut NewEvent)| {
        let mut e = event(0);
        change(&mut e);
        vec![e]
    };
    let twice = {
        let e = event(0);
        vec![e.clone(), e]
    };
    let cases: Vec<(&str, String, Vec<NewEvent>)> = vec![
        ("no events", s.clone(), vec![]),
        ("an event id twice", s.clone(), twice),
        ("an empty stream id", String::new(), events(1)),
        ("a `$` stream id", format!("${s}"), events(1)),
        (
            "an empty event type",
            s.clone(),
            with(|e| e.event_type.clear()),
        ),
        (
            "a `$` event type",
            s.clone(),
            with(|e| e.event_type = "$ConformanceHappened".into()),
        ),
        (
            "schema version 0",
            s.clone(),
            with(|e| e.schema_version = 0),
        ),
        (
            "a schema version past i32",
            s.clone(),
            with(|e| e.schema_version = u32::MAX),
        ),
    ];
    for (what, stream, batch) in cases {
        match store.append(&stream, ExpectedVersion::Any, batch).await {
            Err(EventStoreError::InvalidAppend(_)) => {}
            other => panic!("{what}: expected InvalidAppend, got {other:?}"),
        }
    }
    assert!(whole_stream(store, &s).await.is_empty(), "nothing written");
}

/// The head of the log and how far a reader is behind it. The log may be shared with other
/// writers (the KurrentDB suite runs its checks in parallel on one server), so the exact
/// comparisons are made while the head stands still, and retried when it moved.
pub async fn head_and_backlog(store: &dyn EventStore) {
    let p = prefix();
    for round in 0..4u64 {
        store
            .append(
                &format!("{p}-{}", round % 2),
                ExpectedVersion::Any,
                events(round + 1),
            )
            .await
            .expect("append");
    }
    let ours = log_of(store, &p, 1000, 10).await;
    assert_eq!(ours.len(), 10);
    let newest = ours[9].checkpoint();
    assert!(
        store.head().await.expect("head") >= newest,
        "the head is at or past our events"
    );
    // The last stored event: at or past ours too, and a position with an event.
    let last = store.last_stored_position().await.expect("last stored");
    let at = store
        .checkpoint_of(last)
        .await
        .expect("checkpoint_of")
        .expect("an event is stored at the last stored position");
    assert!(at >= newest, "the last stored event is at or past ours");
    assert!(
        store
            .backlog(Checkpoint::START)
            .await
            .expect("backlog")
            .events
            >= 10
    );

    for reader in [ours[0].checkpoint(), ours[4].checkpoint(), newest] {
        let deadline = tokio::time::Instant::now() + HORIZON_WAIT;
        loop {
            let head = store.head().await.expect("head");
            let backlog = store.backlog(reader).await.expect("backlog");
            // What a reader at `reader` has ahead, read forwards up to the head.
            let mut ahead = Vec::new();
            let mut after = reader;
            while after < head {
                let page = store.read_all(after, 1000).await.expect("read_all");
                let Some(last) = page.last() else { break };
                after = last.checkpoint();
                ahead.extend(page.into_iter().filter(|e| e.checkpoint() <= head));
            }
            let still = store.head().await.expect("head") == head
                && store.read_all(head, 1).await.expect("read_all").is_empty();
            if still && ahead.last().map_or(reader, RecordedEvent::checkpoint) == head {
                assert_eq!(
                    backlog.events,
                    ahead.len() as u64,
                    "the backlog after {reader}"
                );
                assert_eq!(
                    backlog.first_recorded_at,
                    ahead.first().map(|e| e.recorded_at),
                    "the backlog's first event after {reader}"
                );
                let at_head = store.backlog(head).await.expect("backlog");
                if store.head().await.expect("head") == head {
                    assert_eq!(at_head.events, 0, "nothing after the head");
                    assert_eq!(at_head.first_recorded_at, None);
                }
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the log never stood still for a look at the backlog"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // The backlog counts our events past a reader, whatever else the log holds.
    let at_first = store.backlog(ours[0].checkpoint()).await.expect("backlog");
    assert!(at_first.events >= 9);
    assert!(at_first.first_recorded_at.is_some());
}

/// Reading the log backwards: the same events as forwards, newest first, pages joining up.
pub async fn reading_backwards(store: &dyn EventStore) {
    let p = prefix();
    for round in 0..5u64 {
        store
            .append(
                &format!("{p}-{}", round % 3),
                ExpectedVersion::Any,
                events(round % 2 + 1),
            )
            .await
            .expect("append");
    }
    let forwards = log_of(store, &p, 1000, 7).await;
    assert_eq!(forwards.len(), 7);
    let newest = forwards[6].checkpoint();

    // From the end: the newest event is at or past ours, and it is the head.
    let last = store.read_all_backwards(None, 1).await.expect("backwards");
    assert_eq!(last.len(), 1);
    assert!(last[0].checkpoint() >= newest);
    assert!(store.head().await.expect("head") >= last[0].checkpoint());

    // From a checkpoint: everything before it, newest first, in pages of 2.
    let mut backwards = Vec::new();
    let mut before = newest;
    while before > forwards[0].checkpoint() {
        let page = store
            .read_all_backwards(Some(before), 2)
            .await
            .expect("backwards");
        assert!(page.len() <= 2);
        let Some(oldest) = page.last() else { break };
        assert!(
            page.iter().all(|e| e.checkpoint() < before),
            "strictly before"
        );
        before = oldest.checkpoint();
        backwards.extend(page.into_iter().filter(|e| e.stream_id.starts_with(&p)));
    }
    let mut expected: Vec<_> = forwards[..6].iter().map(|e| e.event_id).collect();
    expected.reverse();
    let got: Vec<_> = backwards.iter().map(|e| e.event_id).collect();
    assert_eq!(got, expected, "the log backwards, newest first");
    assert_eq!(
        backwards[0], forwards[5],
        "the same events, envelope and all"
    );

    assert!(
        store
            .read_all_backwards(Some(Checkpoint::START), 10)
            .await
            .expect("backwards")
            .is_empty(),
        "nothing before the start"
    );
    assert!(
        store
            .read_all_backwards(None, 0)
            .await
            .expect("backwards")
            .is_empty()
    );
}

/// Events read back through an upcaster arrive at the newest schema version.
pub async fn upcasting(store: &dyn EventStore) {
    let s = format!("{}-up", prefix());
    let old = NewEvent::new(
        "ConformanceUpcast",
        1,
        json!({ "name": "Clínica" }),
        EventMetadata::system(),
    );
    let current = NewEvent::new(
        "ConformanceUpcast",
        3,
        json!({ "full_name": "Padaria", "source": "app" }),
        EventMetadata::system(),
    );
    store
        .append(&s, ExpectedVersion::NoStream, vec![old, current])
        .await
        .expect("append");
    let check = |read: &[RecordedEvent]| {
        assert_eq!(read.len(), 2);
        assert!(read.iter().all(|e| e.schema_version == 3));
        assert_eq!(
            read[0].payload,
            json!({"full_name": "Clínica", "source": "upcast"})
        );
        assert_eq!(
            read[1].payload,
            json!({"full_name": "Padaria", "source": "app"})
        );
    };
    check(&whole_stream(store, &s).await);
    let forwards = log_of(store, &s, 100, 2).await;
    check(&forwards);
    let mut backwards = store
        .read_all_backwards(Some(forwards[1].checkpoint()), 1)
        .await
        .expect("backwards");
    backwards.insert(0, forwards[1].clone());
    backwards.reverse();
    check(&backwards);
}

/// Many writers append to many streams while a subscriber reads: the subscriber receives every
/// committed event exactly once, in an order consistent with each stream's versions.
///
/// Appends of several events interleave their positions in the log table, and their
/// transactions commit in any order; a reader that orders by position alone and moves past the
/// highest one it has seen misses events here.
pub async fn concurrent_writers_and_subscriber(store: Arc<dyn EventStore>) {
    const WRITERS: usize = 16;
    const APPENDS_PER_WRITER: usize = 100;
    let p = prefix();
    // The subscriber reads while the writers write, from its own task.
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<Checkpoint>();
    let subscriber = tokio::spawn(subscribe_until(store.clone(), p.clone(), done_rx));

    let writers = (0..WRITERS).map(|w| {
        let (store, p) = (store.clone(), p.clone());
        tokio::spawn(async move {
            let mut written = Vec::new();
            let mut last = Checkpoint::START;
            for i in 0..APPENDS_PER_WRITER {
                let (stream, size) = {
                    let mut rng = rand::rng();
                    // A few streams shared by all writers, and one of the writer's own.
                    let stream = if rng.random_bool(0.5) {
                        format!("{p}-shared{}", rng.random_range(0..4))
                    } else {
                        format!("{p}-own{w}")
                    };
                    // Mostly small appends, some large: a large append's positions interleave
                    // with small ones that commit while it is still inserting.
                    let size = if rng.random_bool(0.1) {
                        rng.random_range(100..=300)
                    } else {
                        rng.random_range(1..=12)
                    };
                    (stream, size)
                };
                let batch: Vec<NewEvent> = (0..size)
                    .map(|n| event((w * 1000 + i) as u64 * 100 + n))
                    .collect();
                let ids: Vec<Uuid> = batch.iter().map(|e| e.event_id).collect();
                let appended = store
                    .append(&stream, ExpectedVersion::Any, batch)
                    .await
                    .expect("append under concurrency");
                written.extend(ids);
                last = last.max(appended.last);
                // A short pause now and then keeps the subscriber at the head of the log, where
                // commits land out of order.
                let pause = rand::rng().random_range(0..3);
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            (written, last)
        })
    });
    let mut expected = HashSet::new();
    let mut last = Checkpoint::START;
    for w in futures::future::join_all(writers).await {
        let (written, writer_last) = w.expect("writer panicked");
        expected.extend(written);
        last = last.max(writer_last);
    }

    done_tx.send(last).expect("the subscriber is waiting");
    let received = subscriber.await.expect("the subscriber panicked");
    let mut seen = HashSet::new();
    for e in &received {
        assert!(
            seen.insert(e.event_id),
            "event {} received twice",
            e.event_id
        );
    }
    let skipped = expected.difference(&seen).count();
    assert_eq!(
        skipped,
        0,
        "the subscriber reached the last append's checkpoint but skipped {skipped} of {} events",
        expected.len()
    );
    assert_eq!(seen, expected, "received exactly the committed events");
    assert_log_consistent(&received);
    // And a reader starting from scratch afterwards sees the same log in the same order.
    let again = log_of(&*store, &p, 500, received.len()).await;
    let ids = |log: &[RecordedEvent]| log.iter().map(|e| e.event_id).collect::<Vec<_>>();
    assert_eq!(ids(&again), ids(&received));
}

/// Many writers append to one hot stream at once: however the appends queue, the log meets the
/// stream's events in version order. (An append that waits for the stream must not be ordered by
/// when it started waiting: the PostgreSQL adapter once gave a waiting append its transaction id
/// before the wait, and a later waiter could take the stream first.)
pub async fn hot_stream_keeps_version_order(store: Arc<dyn EventStore>) {
    const WRITERS: usize = 24;
    const APPENDS_PER_WRITER: usize = 150;
    // At most 7,200 events: `whole_stream` reads them in one go.
    let p = prefix();
    let stream = format!("{p}-hot");
    let writers = (0..WRITERS).map(|w| {
        let (store, stream) = (store.clone(), stream.clone());
        tokio::spawn(async move {
            for i in 0..APPENDS_PER_WRITER {
                let size = rand::rng().random_range(1..=2);
                let batch = (0..size)
                    .map(|n| event((w * 1000 + i) as u64 * 10 + n))
                    .collect();
                store
                    .append(&stream, ExpectedVersion::Any, batch)
                    .await
                    .expect("append to the hot stream");
            }
        })
    });
    for w in futures::future::join_all(writers).await {
        w.expect("writer panicked");
    }
    let length = whole_stream(&*store, &stream).await.len();
    let log = log_of(&*store, &p, 1000, length).await;
    assert_eq!(log.len(), length, "the log holds the whole stream");
    assert_log_consistent(&log);
}

/// How long a test waits for events that were appended to become readable. Readers see an append
/// only once every older transaction in the cluster has ended; tests in parallel create and drop
/// databases, and `DROP DATABASE` holds its transaction across a forced checkpoint, which takes
/// seconds on a busy disk. A wait that long is a delay, not a skip: the tests that look for skips
/// compare checkpoints instead of timing silence.
pub const HORIZON_WAIT: Duration = Duration::from_secs(60);

/// Reads a subscription from the start, keeping the events of streams starting with `prefix`,
/// until it has passed the checkpoint that `done` sends once the writers are finished (the last
/// checkpoint any append reported). Every event at or before that checkpoint must have been
/// delivered by then; the caller checks that none was skipped.
async fn subscribe_until(
    store: Arc<dyn EventStore>,
    prefix: String,
    mut done: tokio::sync::oneshot::Receiver<Checkpoint>,
) -> Vec<RecordedEvent> {
    let mut subscription = store.subscribe_all(Checkpoint::START, 1000);
    let mut received = Vec::new();
    let mut reached = Checkpoint::START;
    let mut last = None;
    loop {
        if last.is_some_and(|last| reached >= last) {
            return received;
        }
        // Both at once: the subscriber may have every event already when the writers' last
        // checkpoint arrives, and then no further batch comes to wake it.
        let next = tokio::select! {
            sent = &mut done, if last.is_none() => {
                last = Some(sent.expect("the writers send their last checkpoint"));
                continue;
            }
            next = tokio::time::timeout(HORIZON_WAIT, subscription.next()) => next,
        };
        let Ok(next) = next else {
            panic!(
                "the subscriber stalled at {reached} with {} events (writers done: {last:?}): \
                 nothing for {HORIZON_WAIT:?}",
                received.len(),
            );
        };
        let batch = next
            .expect("the subscription ended")
            .expect("the subscription failed");
        if let Some(e) = batch.last() {
            reached = e.checkpoint();
        }
        received.extend(
            batch
                .into_iter()
                .filter(|e| e.stream_id.starts_with(&prefix)),
        );
    }
}

/// A subscription delivers what is appended after it has caught up.
pub async fn subscription_follows_new_appends(store: &dyn EventStore) {
    let p = prefix();
    let s = format!("{p}-live");
    let mut subscription = store.subscribe_all(Checkpoint::START, 10);
    for round in 0..3u64 {
        store
            .append(&s, ExpectedVersion::Any, events(round + 1))
            .await
            .expect("append");
        let mut got = 0;
        while got < round + 1 {
            let batch = tokio::time::timeout(HORIZON_WAIT, subscription.next())
                .await
                .expect("a new event arrives")
                .expect("open")
                .expect("ok");
            assert!(batch.len() <= 10);
            got += batch.iter().filter(|e| e.stream_id == s).count() as u64;
        }
        assert_eq!(got, round + 1);
    }
}

/// Checkpoints strictly increase, and each stream's versions come in order without gaps.
fn assert_log_consistent(log: &[RecordedEvent]) {
    for pair in log.windows(2) {
        assert!(
            pair[0].checkpoint() < pair[1].checkpoint(),
            "checkpoints increase: {} then {}",
            pair[0].checkpoint(),
            pair[1].checkpoint()
        );
    }
    let mut next: HashMap<&str, u64> = HashMap::new();
    for e in log {
        let want = next.entry(&e.stream_id).or_insert(1);
        assert_eq!(
            e.stream_version, *want,
            "stream {} comes in version order",
            e.stream_id
        );
        *want += 1;
    }
}
