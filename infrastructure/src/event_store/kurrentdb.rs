//! The KurrentDB (EventStoreDB) adapter of the event store port, for deployments that want a
//! clustered, replicated log instead of PostgreSQL.
//!
//! Tenantry's streams map one to one onto KurrentDB streams, and the port's global log is KurrentDB's
//! `$all` stream without KurrentDB's own events (event types starting with `$`) and without events
//! that other applications sharing the server wrote (events without Tenantry's metadata envelope,
//! see below). The mapping:
//!
//! * **Versions.** Our stream versions are 1-based, KurrentDB revisions 0-based: version `v` is
//!   revision `v - 1`, and `ExpectedVersion::Exact(n)` is `StreamState::StreamRevision(n - 1)`
//!   (`Exact(0)` and `NoStream` are `StreamState::NoStream`).
//! * **Positions.** A [`Checkpoint`] is a `$all` position: `commit` is KurrentDB's commit position,
//!   `position` its prepare position (the log position of the event's own record, unique per
//!   event), so [`RecordedEvent::checkpoint`] turns back into the same `$all` position and both
//!   orders agree (commit, then prepare). Events appended outside explicit (legacy TCP)
//!   transactions have `commit == prepare`.
//! * **Envelope.** Our `event_id` is the KurrentDB event id (the server deduplicates appends by
//!   event id, which makes retries idempotent); the payload is the event's JSON data; the schema
//!   version and [`EventMetadata`] travel in the event's custom metadata as
//!   `{"schema_version":1,"meta":{…}}`; `recorded_at` is the server's `created` timestamp.
//!
//! KurrentDB answers an idempotent retry exactly like a fresh append, so to report
//! [`AppendResult::already_stored`] an append first looks for its event ids where a retry would find
//! them: at the expected version for `Exact`/`NoStream`, at the stream's end for `Any`. Appends of
//! the same events through one [`KurrentDbEventStore`] (and its clones) run one after the other, so
//! concurrent retries in one process see each other. What this does not catch (reported as
//! `already_stored: false`, and still stored once by the server's own deduplication): a retry with
//! `Any` after other events were appended to the stream, and retries racing from other processes.
//! With `Any`, KurrentDB's own deduplication is best effort (it remembers recent event ids).
//!
//! The price is one stream read before each append, and one after an append of several events
//! (to learn the first event's position, which the write result does not carry).
//! [`EventStore::checkpoint_of`] is best effort: it reads `$all` at the given position and answers
//! only if an event starts exactly there. Stream reads report `$all` positions only on servers
//! that know them (KurrentDB / EventStoreDB 22.10 and later).
//!
//! Every event in `$all` has its final place (the server orders the log by commit), so the port's
//! horizon is simply the end of `$all`: [`EventStore::head`] is the last Tenantry event there, and
//! [`EventStore::read_all_backwards`] reads `$all` backwards. [`EventStore::backlog`] has no index
//! to count with: it reads the events past the checkpoint, so it costs time in proportion to the
//! backlog. Append input is checked by the port's
//! [`validate_append`](tenantry_application::event_store::validate_append) before anything is
//! sent.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ::kurrentdb as kdb;
use anyhow::{Context as _, anyhow};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use serde::Serialize;
use tenantry_application::event_store::{
    AppendResult, Backlog, Checkpoint, EventMetadata, EventStore, EventStoreError, ExpectedVersion,
    NewEvent, RecordedEvent, Subscription, Upcasters, validate_append,
};
use tokio::sync::{OwnedMutexGuard, mpsc};
use uuid::Uuid;

/// How often the `$all` subscription tries to re-subscribe after losing its connection before it
/// gives up and yields the error (the subscriber then re-subscribes from its own checkpoint).
const SUBSCRIPTION_RETRY_LIMIT: usize = 5;
/// How long the subscription waits between those attempts.
const SUBSCRIPTION_RETRY_DELAY: Duration = Duration::from_millis(500);

/// The event store on KurrentDB. Cheap to clone: clones share one gRPC connection.
#[derive(Clone)]
pub struct KurrentDbEventStore {
    client: kdb::Client,
    upcasters: Arc<Upcasters>,
    /// Appends under way in this process, so that appends of the same events run one at a time.
    in_flight: Arc<InFlight>,
}

impl fmt::Debug for KurrentDbEventStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KurrentDbEventStore")
            .field("upcasters", &self.upcasters)
            .finish_non_exhaustive()
    }
}

/// One stored event of a stream, as far as an append needs to know it.
#[derive(Debug, Clone, Copy)]
struct StoredRecord {
    id: Uuid,
    revision: u64,
    position: kdb::Position,
}

impl KurrentDbEventStore {
    /// Creates the store from a `kurrentdb://` (or `esdb://`, `…+discover://`) connection string,
    /// e.g. `kurrentdb://admin:changeit@localhost:2113?tls=false`.
    ///
    /// The client connects lazily, on the first operation, so this does not fail when the server
    /// is down; it must be called inside a Tokio runtime, which runs the client's connection task.
    pub async fn connect(url: &str, upcasters: Upcasters) -> anyhow::Result<Self> {
        // The connection string is left out of the errors: it may carry a password.
        let settings: kdb::ClientSettings =
            url.parse().context("invalid KurrentDB connection string")?;
        let runtime = tokio::runtime::Handle::try_current()
            .context("KurrentDbEventStore::connect must be called inside a Tokio runtime")?;
        let client = kdb::Client::with_runtime_handle(runtime, settings)
            .map_err(|e| anyhow!("cannot create the KurrentDB client: {e:#}"))?;
        Ok(Self::with_client(client, upcasters))
    }

    /// Creates the store on an existing client (e.g. one configured in code rather than from a
    /// connection string).
    pub fn with_client(client: kdb::Client, upcasters: Upcasters) -> Self {
        Self {
            client,
            upcasters: Arc::new(upcasters),
            in_flight: Arc::default(),
        }
    }

    /// Reads raw records of a stream (a stream that does not exist reads as empty).
    async fn read_records(
        &self,
        stream_id: &str,
        options: &kdb::ReadStreamOptions,
    ) -> Result<Vec<StoredRecord>, kdb::Error> {
        let mut stream = match self.client.read_stream(stream_id, options).await {
            Ok(stream) => stream,
            Err(kdb::Error::ResourceNotFound) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut records = Vec::new();
        loop {
            match stream.next().await {
                Ok(Some(resolved)) => {
                    if let Some(record) = record_of(&resolved) {
                        records.push(StoredRecord {
                            id: record.id,
                            revision: record.revision,
                            position: record.position,
                        });
                    }
                }
                Ok(None) => return Ok(records),
                Err(kdb::Error::ResourceNotFound) => return Ok(Vec::new()),
                Err(e) => return Err(e),
            }
        }
    }

    /// The stream's current version (its last event's revision + 1), 0 when it has no events.
    async fn current_version(&self, stream_id: &str) -> Result<u64, EventStoreError> {
        let options = kdb::ReadStreamOptions::default()
            .position(kdb::StreamPosition::End)
            .max_count(1);
        let records = self.read_records(stream_id, &options).await.map_err(|e| {
            backend(
                e,
                format!("cannot read the last event of stream {stream_id}"),
            )
        })?;
        Ok(records.first().map_or(0, |r| r.revision + 1))
    }

    /// Looks for `event_ids` already stored in the stream where a retry of this append finds them:
    /// from the expected version on (`Exact`, `NoStream`), or at the stream's end (`Any`). Returns
    /// their records when all are there, in order, and `None` when none is. When only some are,
    /// it refuses the append (`Exact`, `NoStream`) or leaves the verdict to the server (`Any`).
    async fn find_stored(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        event_ids: &[Uuid],
    ) -> Result<Option<Vec<StoredRecord>>, EventStoreError> {
        let count = event_ids.len();
        let options = match expected {
            ExpectedVersion::Any => kdb::ReadStreamOptions::default()
                .position(kdb::StreamPosition::End)
                .max_count(count),
            ExpectedVersion::NoStream => kdb::ReadStreamOptions::default()
                .forwards()
                .position(kdb::StreamPosition::Start)
                .max_count(count),
            ExpectedVersion::Exact(version) => kdb::ReadStreamOptions::default()
                .forwards()
                .position(kdb::StreamPosition::Position(version))
                .max_count(count),
        };
        let mut records = self.read_records(stream_id, &options).await.map_err(|e| {
            backend(
                e,
                format!("cannot look for the events in stream {stream_id}"),
            )
        })?;
        if expected == ExpectedVersion::Any {
            records.reverse();
        }
        let stored: HashSet<Uuid> = records.iter().map(|r| r.id).collect();
        let found = event_ids.iter().filter(|id| stored.contains(id)).count();
        if found == 0 {
            return Ok(None);
        }
        let in_order =
            records.len() == count && records.iter().zip(event_ids).all(|(r, id)| r.id == *id);
        if found < count || !in_order {
            if expected == ExpectedVersion::Any {
                // The tail may hold only part of them because more was appended since: the
                // server's own check decides (idempotent, or refused as partly stored).
                return Ok(None);
            }
            return Err(EventStoreError::InvalidAppend(format!(
                "{found} of the {count} event ids are stored already in stream {stream_id}, \
                 not all of them as one append"
            )));
        }
        Ok(Some(records))
    }

    /// Reads Tenantry's events of `$all` strictly beyond `from` in `direction` (after it
    /// forwards, before it backwards; `None`: from the start or the end), up to `limit` of them.
    /// The server filters out its own events (`$` types); events of other applications (no
    /// Tenantry envelope) are left out here, and when a page held some, the read goes on from
    /// where that page ended, so that `limit` is reached unless the log ends first.
    async fn read_log(
        &self,
        direction: Direction,
        mut from: Option<kdb::Position>,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, EventStoreError> {
        let mut events = Vec::with_capacity(limit.min(1024));
        while events.len() < limit {
            // One more than wanted: a read from a position starts with the record there.
            let want = limit - events.len() + 1;
            let start = match (from, direction) {
                (Some(position), _) => kdb::StreamPosition::Position(position),
                (None, Direction::Forwards) => kdb::StreamPosition::Start,
                (None, Direction::Backwards) => kdb::StreamPosition::End,
            };
            let options = kdb::ReadAllOptions::default()
                .position(start)
                .filter(user_events())
                .max_count(want);
            let options = match direction {
                Direction::Forwards => options.forwards(),
                Direction::Backwards => options.backwards(),
            };
            let context = || match from {
                Some(position) => format!("cannot read $all {direction} from {position}"),
                None => format!("cannot read $all {direction}"),
            };
            let mut stream = self
                .client
                .read_all(&options)
                .await
                .map_err(|e| backend(e, context()))?;
            let (mut records, mut last) = (0, from);
            while let Some(resolved) = stream.next().await.map_err(|e| backend(e, context()))? {
                records += 1;
                let Some(record) = record_of(&resolved) else {
                    continue;
                };
                if from.is_some_and(|from| !direction.beyond(record.position, from)) {
                    continue;
                }
                last = Some(record.position);
                if let Some(event) = decode(&self.upcasters, &resolved)? {
                    events.push(event);
                    if events.len() == limit {
                        break;
                    }
                }
            }
            // A short page is the end of the log; a page that did not move on is too.
            if records < want || last == from {
                break;
            }
            from = last;
        }
        Ok(events)
    }

    /// Reads back the events an append stored, ending at revision `last_revision`, and returns
    /// (first event's position, last event's checkpoint) if they are the appended events and the
    /// server reports their positions. `None` when it cannot tell.
    async fn positions_of_append(
        &self,
        stream_id: &str,
        last_revision: u64,
        event_ids: &[Uuid],
    ) -> Option<(u64, Checkpoint)> {
        let count = event_ids.len();
        let first_revision = (last_revision + 1).checked_sub(count as u64)?;
        let options = kdb::ReadStreamOptions::default()
            .forwards()
            .position(kdb::StreamPosition::Position(first_revision))
            .max_count(count);
        let records = match self.read_records(stream_id, &options).await {
            Ok(records) => records,
            Err(e) => {
                tracing::warn!(
                    stream_id,
                    error = %e,
                    "cannot read back appended events; reporting the write result's position"
                );
                return None;
            }
        };
        let ours =
            records.len() == count && records.iter().zip(event_ids).all(|(r, id)| r.id == *id);
        if !ours {
            tracing::warn!(
                stream_id,
                first_revision,
                "the events read back are not the ones appended; reporting the write result's position"
            );
            return None;
        }
        positions_of(&records)
    }
}

#[async_trait]
impl EventStore for KurrentDbEventStore {
    async fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, EventStoreError> {
        validate_append(stream_id, &events)?;
        let event_ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
        let data = events
            .iter()
            .map(to_event_data)
            .collect::<anyhow::Result<Vec<_>>>()
            .with_context(|| format!("cannot encode the events for stream {stream_id}"))?;

        let _in_flight = self.in_flight.enter(stream_id, event_ids[0]).await;
        let already_stored = match self.find_stored(stream_id, expected, &event_ids).await? {
            Some(records) => {
                if let (Some(last), Some((first_position, last_checkpoint))) =
                    (records.last(), positions_of(&records))
                {
                    return Ok(AppendResult {
                        stream_version: last.revision + 1,
                        first_position,
                        last: last_checkpoint,
                        already_stored: true,
                    });
                }
                // The server does not report their positions: the append below is a no-op on the
                // server that answers with them.
                true
            }
            None => false,
        };

        let options = kdb::AppendToStreamOptions::default().stream_state(stream_state(expected));
        let written = match self
            .client
            .append_to_stream(stream_id, &options, data)
            .await
        {
            Ok(written) => written,
            // With `Any` the server refuses only an append whose first event ids are stored and
            // the others not ("corrupted idempotency").
            Err(e)
                if expected == ExpectedVersion::Any
                    && (matches!(e, kdb::Error::WrongExpectedVersion { .. })
                        || is_wrong_expected_version_status(&e)) =>
            {
                return Err(EventStoreError::InvalidAppend(format!(
                    "some but not all of the event ids are stored already in stream {stream_id}"
                )));
            }
            Err(kdb::Error::WrongExpectedVersion { current, .. }) => {
                return Err(EventStoreError::Conflict {
                    stream_id: stream_id.to_owned(),
                    expected,
                    actual: match current {
                        kdb::CurrentRevision::Current(revision) => revision + 1,
                        kdb::CurrentRevision::NoStream => 0,
                    },
                });
            }
            // Servers that report the refusal as a gRPC status rather than in the answer: the
            // status carries no current revision the client parses.
            Err(e) if is_wrong_expected_version_status(&e) => {
                return Err(EventStoreError::Conflict {
                    stream_id: stream_id.to_owned(),
                    expected,
                    actual: self.current_version(stream_id).await?,
                });
            }
            Err(kdb::Error::ResourceDeleted) => {
                return Err(EventStoreError::Backend(anyhow!(
                    "cannot append to stream {stream_id}: it has been deleted"
                )));
            }
            Err(e) => return Err(backend(e, format!("cannot append to stream {stream_id}"))),
        };

        let last_revision = written.next_expected_version;
        // The write result's position is the last appended event's (the server's commit
        // acknowledgement is at the record that ends the append), so one event needs no read back.
        let write_position =
            is_known(written.position) && written.position != kdb::Position::start();
        let positions = if event_ids.len() == 1 && write_position {
            None
        } else {
            self.positions_of_append(stream_id, last_revision, &event_ids)
                .await
        };
        let (first_position, last) = positions.unwrap_or((
            written.position.prepare,
            checkpoint_of_position(written.position),
        ));
        Ok(AppendResult {
            stream_version: last_revision + 1,
            first_position,
            last,
            already_stored,
        })
    }

    async fn read_stream(
        &self,
        stream_id: &str,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, EventStoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let options = kdb::ReadStreamOptions::default()
            .forwards()
            .position(kdb::StreamPosition::Position(
                from_version.saturating_sub(1),
            ))
            .max_count(limit);
        let context = || format!("cannot read stream {stream_id} from version {from_version}");
        let mut stream = match self.client.read_stream(stream_id, &options).await {
            Ok(stream) => stream,
            Err(kdb::Error::ResourceNotFound) => return Ok(Vec::new()),
            Err(e) => return Err(backend(e, context())),
        };
        let mut events = Vec::with_capacity(limit.min(1024));
        loop {
            match stream.next().await {
                Ok(Some(resolved)) => {
                    if let Some(event) = decode(&self.upcasters, &resolved)? {
                        events.push(event);
                    }
                }
                Ok(None) => return Ok(events),
                Err(kdb::Error::ResourceNotFound) => return Ok(Vec::new()),
                Err(e) => return Err(backend(e, context())),
            }
        }
    }

    /// Reads `$all` forwards from `after`'s position (see [`KurrentDbEventStore::read_log`]).
    async fn read_all(
        &self,
        after: Checkpoint,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, EventStoreError> {
        let from = (after != Checkpoint::START).then_some(position_of_checkpoint(after));
        self.read_log(Direction::Forwards, from, limit).await
    }

    /// Reads `$all` backwards from `before`'s position, or from its end (see
    /// [`KurrentDbEventStore::read_log`]).
    async fn read_all_backwards(
        &self,
        before: Option<Checkpoint>,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, EventStoreError> {
        if before == Some(Checkpoint::START) {
            return Ok(Vec::new());
        }
        self.read_log(
            Direction::Backwards,
            before.map(position_of_checkpoint),
            limit,
        )
        .await
    }

    /// KurrentDB keeps no count of `$all`: this reads the events past `after` (without decoding
    /// their payloads) and counts Tenantry's, so it costs time in proportion to the backlog.
    async fn backlog(&self, after: Checkpoint) -> Result<Backlog, EventStoreError> {
        let options = kdb::ReadAllOptions::default()
            .position(start_of(after))
            .forwards()
            .filter(user_events());
        let context = || format!("cannot count the events of $all after {after}");
        let mut stream = self
            .client
            .read_all(&options)
            .await
            .map_err(|e| backend(e, context()))?;
        let mut backlog = Backlog::default();
        while let Some(resolved) = stream.next().await.map_err(|e| backend(e, context()))? {
            let Some(record) = record_of(&resolved).filter(|r| is_ours(r)) else {
                continue;
            };
            if checkpoint_of_position(record.position) <= after {
                continue;
            }
            backlog.events += 1;
            if backlog.first_recorded_at.is_none() {
                backlog.first_recorded_at = Some(recorded_at(record));
            }
        }
        Ok(backlog)
    }

    /// Best effort: reads the first record of `$all` at `{commit: position, prepare: position}`
    /// (where every event appended outside an explicit transaction is) and answers only if it
    /// starts exactly at `position`. A position that is not a record boundary reads as `None`.
    async fn checkpoint_of(&self, position: u64) -> Result<Option<Checkpoint>, EventStoreError> {
        let options = kdb::ReadAllOptions::default()
            .forwards()
            .position(kdb::StreamPosition::Position(kdb::Position {
                commit: position,
                prepare: position,
            }))
            .max_count(1);
        let context = || format!("cannot read $all at position {position}");
        let mut stream = match self.client.read_all(&options).await {
            Ok(stream) => stream,
            Err(e) if is_invalid_position(&e) => return Ok(None),
            Err(e) => return Err(backend(e, context())),
        };
        match stream.next().await {
            Ok(Some(resolved)) => Ok(record_of(&resolved)
                .filter(|record| record.position.prepare == position)
                .map(|record| checkpoint_of_position(record.position))),
            Ok(None) => Ok(None),
            Err(e) if is_invalid_position(&e) => Ok(None),
            Err(e) => Err(backend(e, context())),
        }
    }

    /// A KurrentDB catch-up subscription to `$all` (filtered on the server to non-system event
    /// types), driven by a background task that forwards its events into a channel; each batch is
    /// the next event and whatever else is ready, up to `batch_size`, so new events are yielded
    /// as soon as they arrive. The task ends when the returned stream is dropped.
    fn subscribe_all(&self, after: Checkpoint, batch_size: usize) -> Subscription {
        let batch_size = batch_size.max(1);
        let runtime = match tokio::runtime::Handle::try_current() {
            Ok(runtime) => runtime,
            Err(e) => {
                let error = EventStoreError::Backend(
                    anyhow::Error::new(e)
                        .context("subscribe_all must be called inside a Tokio runtime"),
                );
                return futures::stream::once(async move { Err(error) }).boxed();
            }
        };
        let (sender, receiver) = mpsc::channel(batch_size);
        runtime.spawn(forward_subscription(
            self.client.clone(),
            Arc::clone(&self.upcasters),
            after,
            sender,
        ));
        batches(receiver, batch_size)
    }
}

/// Runs a `$all` subscription from `after`, sending each decoded event (or the first error, after
/// which it stops) to `sender`, until the receiver is dropped.
async fn forward_subscription(
    client: kdb::Client,
    upcasters: Arc<Upcasters>,
    after: Checkpoint,
    sender: mpsc::Sender<Result<RecordedEvent, EventStoreError>>,
) {
    let options = kdb::SubscribeToAllOptions::default()
        .position(start_of(after))
        .filter(user_events())
        .retry_options(
            kdb::RetryOptions::default()
                .retry_limit(SUBSCRIPTION_RETRY_LIMIT)
                .retry_delay(SUBSCRIPTION_RETRY_DELAY),
        );
    let mut subscription = client.subscribe_to_all(&options).await;
    // The last event sent: a (re-)subscription from a position may start with the event at that
    // position, which the subscriber already has.
    let mut last = after;
    loop {
        let next = tokio::select! {
            () = sender.closed() => return,
            next = subscription.next_subscription_event() => next,
        };
        let event = match next {
            Ok(kdb::SubscriptionEvent::EventAppeared(resolved)) => {
                match decode(&upcasters, &resolved) {
                    Ok(Some(event)) => event,
                    Ok(None) => continue,
                    Err(e) => {
                        let _ = sender.send(Err(e)).await;
                        return;
                    }
                }
            }
            // Confirmation, the filter's checkpoints, caught-up and fell-behind notices.
            Ok(_) => continue,
            Err(e) => {
                let error = backend(e, format!("the subscription to $all failed after {last}"));
                let _ = sender.send(Err(error)).await;
                return;
            }
        };
        if event.checkpoint() <= last {
            continue;
        }
        last = event.checkpoint();
        if sender.send(Ok(event)).await.is_err() {
            return;
        }
    }
}

/// Groups the events from `receiver` into batches: each batch is the next event (waited for) and
/// whatever else is already there, up to `batch_size`. An error is yielded after the events before
/// it, and ends the stream.
fn batches(
    receiver: mpsc::Receiver<Result<RecordedEvent, EventStoreError>>,
    batch_size: usize,
) -> Subscription {
    struct State {
        receiver: mpsc::Receiver<Result<RecordedEvent, EventStoreError>>,
        /// An error received while filling the previous batch, to yield next.
        pending_error: Option<EventStoreError>,
        done: bool,
    }

    let state = State {
        receiver,
        pending_error: None,
        done: false,
    };
    futures::stream::unfold(state, move |mut state| async move {
        if state.done {
            return None;
        }
        if let Some(error) = state.pending_error.take() {
            state.done = true;
            return Some((Err(error), state));
        }
        let first = match state.receiver.recv().await? {
            Ok(event) => event,
            Err(error) => {
                state.done = true;
                return Some((Err(error), state));
            }
        };
        let mut batch = vec![first];
        while batch.len() < batch_size {
            match state.receiver.try_recv() {
                Ok(Ok(event)) => batch.push(event),
                Ok(Err(error)) => {
                    state.pending_error = Some(error);
                    break;
                }
                Err(_) => break,
            }
        }
        Some((Ok(batch), state))
    })
    .boxed()
}

/// The appends under way in this process, by stream and first event id: an append of the same
/// events waits for the one under way, then finds its events stored.
#[derive(Default)]
struct InFlight {
    appends: Mutex<HashMap<AppendKey, Arc<tokio::sync::Mutex<()>>>>,
}

/// An append's stream and first event id.
type AppendKey = (String, Uuid);

impl InFlight {
    /// Waits until no other append of these events is under way in this process; the append runs
    /// while the returned guard lives.
    async fn enter(&self, stream_id: &str, first_event_id: Uuid) -> InFlightGuard<'_> {
        let key = (stream_id.to_owned(), first_event_id);
        let lock = Arc::clone(
            self.appends
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(key.clone())
                .or_default(),
        );
        InFlightGuard {
            in_flight: self,
            key,
            guard: Some(lock.lock_owned().await),
        }
    }
}

/// Held while an append runs; forgets the append's entry when no other append waits for it.
struct InFlightGuard<'a> {
    in_flight: &'a InFlight,
    key: AppendKey,
    /// Released first on drop, so that the entry's use count tells whether anyone waits.
    guard: Option<OwnedMutexGuard<()>>,
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut appends = self
            .in_flight
            .appends
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Waiters hold a clone of the lock; when only the map holds it, nobody waits.
        if appends
            .get(&self.key)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            appends.remove(&self.key);
        }
    }
}

/// What Tenantry keeps in a KurrentDB event's custom metadata.
#[derive(Serialize)]
struct StoredMetadata<'a> {
    schema_version: u32,
    meta: &'a EventMetadata,
}

fn to_event_data(event: &NewEvent) -> anyhow::Result<kdb::EventData> {
    let data = kdb::EventData::json(&event.event_type, &event.payload)
        .with_context(|| format!("cannot encode the payload of event {}", event.event_id))?
        .id(event.event_id)
        .metadata_as_json(&StoredMetadata {
            schema_version: event.schema_version,
            meta: &event.metadata,
        })
        .with_context(|| format!("cannot encode the metadata of event {}", event.event_id))?;
    Ok(data)
}

/// Turns a read event into ours, upcast. `None` for events that are not Tenantry's: KurrentDB's
/// own (`$`-prefixed types) and those without our metadata envelope (other applications').
fn decode(
    upcasters: &Upcasters,
    resolved: &kdb::ResolvedEvent,
) -> Result<Option<RecordedEvent>, EventStoreError> {
    // What `is_ours` checks, with the envelope kept.
    let Some(record) = record_of(resolved) else {
        return Ok(None);
    };
    if record.event_type.starts_with('$') {
        return Ok(None);
    }
    let Ok(serde_json::Value::Object(mut envelope)) =
        serde_json::from_slice::<serde_json::Value>(&record.custom_metadata)
    else {
        return Ok(None);
    };
    let Some(schema_version) = envelope.remove("schema_version") else {
        return Ok(None);
    };
    let stream_id = record.stream_id().to_owned();
    let describe = || {
        format!(
            "event {} ({}) at version {} of stream {stream_id}",
            record.id,
            record.event_type,
            record.revision + 1
        )
    };
    let schema_version: u32 = serde_json::from_value(schema_version)
        .with_context(|| format!("{}: invalid schema_version", describe()))?;
    let metadata: EventMetadata =
        serde_json::from_value(envelope.remove("meta").unwrap_or_default())
            .with_context(|| format!("{}: invalid metadata", describe()))?;
    let payload = serde_json::from_slice(&record.data)
        .with_context(|| format!("{}: its data is not JSON", describe()))?;
    let event = RecordedEvent {
        position: record.position.prepare,
        commit: record.position.commit,
        stream_id,
        stream_version: record.revision + 1,
        event_id: record.id,
        event_type: record.event_type.clone(),
        schema_version,
        payload,
        metadata,
        recorded_at: recorded_at(record),
    };
    Ok(Some(upcasters.upcast(event)?))
}

/// Whether a record is one of Tenantry's events: not KurrentDB's own (`$`-prefixed type) and
/// carrying Tenantry's metadata envelope (a JSON object with a `schema_version`).
fn is_ours(record: &kdb::RecordedEvent) -> bool {
    #[derive(serde::Deserialize)]
    struct Envelope {
        #[allow(dead_code)]
        schema_version: serde::de::IgnoredAny,
    }
    !record.event_type.starts_with('$')
        && serde_json::from_slice::<Envelope>(&record.custom_metadata).is_ok()
}

/// The record a read returned: the event itself, or the link when links are not resolved.
fn record_of(resolved: &kdb::ResolvedEvent) -> Option<&kdb::RecordedEvent> {
    resolved.event.as_ref().or(resolved.link.as_ref())
}

/// When the server stored the event, at full precision: the client rounds its `created` down to
/// the second, but the raw metadata carries .NET ticks (100 ns) since the Unix epoch.
fn recorded_at(record: &kdb::RecordedEvent) -> DateTime<Utc> {
    record
        .metadata
        .get("created")
        .and_then(|ticks| ticks.parse::<i64>().ok())
        .and_then(|ticks| {
            let nanos = u32::try_from(ticks.rem_euclid(10_000_000) * 100).ok()?;
            DateTime::from_timestamp(ticks.div_euclid(10_000_000), nanos)
        })
        .unwrap_or(record.created)
}

fn stream_state(expected: ExpectedVersion) -> kdb::StreamState {
    match expected {
        ExpectedVersion::Any => kdb::StreamState::Any,
        ExpectedVersion::NoStream | ExpectedVersion::Exact(0) => kdb::StreamState::NoStream,
        ExpectedVersion::Exact(version) => kdb::StreamState::StreamRevision(version - 1),
    }
}

/// Which way [`KurrentDbEventStore::read_log`] walks `$all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Forwards,
    Backwards,
}

impl Direction {
    /// Whether `position` lies beyond `from` in this direction.
    fn beyond(self, position: kdb::Position, from: kdb::Position) -> bool {
        let (position, from) = (
            checkpoint_of_position(position),
            checkpoint_of_position(from),
        );
        match self {
            Self::Forwards => position > from,
            Self::Backwards => position < from,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Forwards => "forwards",
            Self::Backwards => "backwards",
        })
    }
}

/// Where reading `$all` after `after` starts (the event at `after` itself included).
fn start_of(after: Checkpoint) -> kdb::StreamPosition<kdb::Position> {
    if after == Checkpoint::START {
        kdb::StreamPosition::Start
    } else {
        kdb::StreamPosition::Position(position_of_checkpoint(after))
    }
}

fn position_of_checkpoint(checkpoint: Checkpoint) -> kdb::Position {
    kdb::Position {
        commit: checkpoint.commit,
        prepare: checkpoint.position,
    }
}

fn checkpoint_of_position(position: kdb::Position) -> Checkpoint {
    Checkpoint {
        commit: position.commit,
        position: position.prepare,
    }
}

/// (first record's position, last record's checkpoint), if the server reported both.
fn positions_of(records: &[StoredRecord]) -> Option<(u64, Checkpoint)> {
    let (first, last) = (records.first()?, records.last()?);
    (is_known(first.position) && is_known(last.position)).then(|| {
        (
            first.position.prepare,
            checkpoint_of_position(last.position),
        )
    })
}

/// Whether the server told an event's `$all` position (it sends the maximum when it does not).
fn is_known(position: kdb::Position) -> bool {
    position.commit != u64::MAX && position.prepare != u64::MAX
}

/// The server-side filter that leaves out KurrentDB's system events (`$`-prefixed types).
fn user_events() -> kdb::SubscriptionFilter {
    kdb::SubscriptionFilter::on_event_type().exclude_system_events()
}

/// A wrong-expected-version refusal that the client did not parse into
/// [`kdb::Error::WrongExpectedVersion`] (older servers send it as a gRPC status).
fn is_wrong_expected_version_status(error: &kdb::Error) -> bool {
    let message = match error {
        kdb::Error::Grpc { message, .. } | kdb::Error::ServerError(message) => message,
        _ => return false,
    };
    let message = message.to_ascii_lowercase();
    message.contains("wrongexpectedversion") || message.contains("wrong expected version")
}

/// The server refused a `$all` position because no record starts there.
fn is_invalid_position(error: &kdb::Error) -> bool {
    // gRPC status codes (the client's error carries `tonic::Code`, which converts to them).
    const INVALID_ARGUMENT: i32 = 3;
    const OUT_OF_RANGE: i32 = 11;
    match error {
        kdb::Error::Grpc { code, message } => {
            matches!(i32::from(*code), INVALID_ARGUMENT | OUT_OF_RANGE)
                || message.to_ascii_lowercase().contains("invalid position")
        }
        kdb::Error::ServerError(message) => {
            message.to_ascii_lowercase().contains("invalid position")
        }
        _ => false,
    }
}

fn backend(error: kdb::Error, context: String) -> EventStoreError {
    EventStoreError::Backend(anyhow::Error::new(error).context(context))
}

#[cfg(test)]
mod tests {
    //! What can be checked without a KurrentDB server: the version and position mappings, the
    //! batching of subscription events, and the serialization of appends of the same events.

    use super::*;

    fn event(position: u64) -> RecordedEvent {
        RecordedEvent {
            position,
            commit: position,
            stream_id: "s".into(),
            stream_version: 1,
            event_id: Uuid::now_v7(),
            event_type: "T".into(),
            schema_version: 1,
            payload: serde_json::Value::Null,
            metadata: EventMetadata::system(),
            recorded_at: Utc::now(),
        }
    }

    #[test]
    fn expected_versions_map_to_zero_based_revisions() {
        assert_eq!(stream_state(ExpectedVersion::Any), kdb::StreamState::Any);
        assert_eq!(
            stream_state(ExpectedVersion::NoStream),
            kdb::StreamState::NoStream
        );
        assert_eq!(
            stream_state(ExpectedVersion::Exact(0)),
            kdb::StreamState::NoStream
        );
        assert_eq!(
            stream_state(ExpectedVersion::Exact(3)),
            kdb::StreamState::StreamRevision(2)
        );
    }

    #[test]
    fn checkpoints_round_trip_through_all_positions() {
        assert_eq!(start_of(Checkpoint::START), kdb::StreamPosition::Start);
        let checkpoint = Checkpoint {
            commit: 7,
            position: 5,
        };
        let kdb::StreamPosition::Position(position) = start_of(checkpoint) else {
            panic!("a position");
        };
        assert_eq!(checkpoint_of_position(position), checkpoint);
    }

    #[test]
    fn reads_go_strictly_beyond_where_they_start() {
        let at = |commit, prepare| kdb::Position { commit, prepare };
        let from = at(10, 8);
        assert!(Direction::Forwards.beyond(at(10, 9), from));
        assert!(Direction::Forwards.beyond(at(11, 0), from));
        assert!(!Direction::Forwards.beyond(from, from));
        assert!(!Direction::Forwards.beyond(at(9, 20), from));
        assert!(Direction::Backwards.beyond(at(10, 7), from));
        assert!(Direction::Backwards.beyond(at(9, 20), from));
        assert!(!Direction::Backwards.beyond(from, from));
        assert!(!Direction::Backwards.beyond(at(11, 0), from));
        assert_eq!(
            position_of_checkpoint(checkpoint_of_position(from)),
            from,
            "checkpoints and positions map one to one"
        );
    }

    #[tokio::test]
    async fn batches_take_what_is_ready_and_end_after_an_error() {
        let (sender, receiver) = mpsc::channel(10);
        let mut stream = batches(receiver, 2);
        for position in 1..=3 {
            sender.send(Ok(event(position))).await.expect("open");
        }
        sender
            .send(Err(EventStoreError::Backend(anyhow!("lost"))))
            .await
            .expect("open");
        let positions =
            |batch: Vec<RecordedEvent>| -> Vec<u64> { batch.iter().map(|e| e.position).collect() };
        let first = stream.next().await.expect("a batch").expect("ok");
        assert_eq!(positions(first), vec![1, 2]);
        let second = stream.next().await.expect("a batch").expect("ok");
        assert_eq!(positions(second), vec![3]);
        assert!(matches!(
            stream.next().await,
            Some(Err(EventStoreError::Backend(_)))
        ));
        assert!(stream.next().await.is_none());
    }

    #[tokio::test]
    async fn appends_of_the_same_events_run_one_at_a_time() {
        let in_flight = InFlight::default();
        let id = Uuid::now_v7();
        let first = in_flight.enter("s", id).await;
        let other = in_flight.enter("s", Uuid::now_v7()).await;
        let same = tokio::time::timeout(Duration::from_millis(50), in_flight.enter("s", id)).await;
        assert!(same.is_err(), "waits for the append under way");
        drop(first);
        let same = in_flight.enter("s", id).await;
        drop((same, other));
        assert!(in_flight.appends.lock().expect("lock").is_empty());
    }
}
