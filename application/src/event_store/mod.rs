//! The event store port: the append-only log that every other part of Tenantry stands on.
//!
//! Streams (`tenant-{uuid}`, …) hold the events of one aggregate, numbered 1, 2, 3 … without gaps.
//! All streams together form one global log that readers walk in a single order, from a
//! [`Checkpoint`], and that order never changes behind them: an event never appears behind a
//! checkpoint a reader has already passed. Two adapters implement the port: PostgreSQL (always) and
//! KurrentDB (behind the `kurrentdb` cargo feature); one conformance suite in `tests/` holds both to
//! the same contract.
//!
//! Everything outside the adapters sees the log only through this port: appends, stream reads,
//! the log forwards ([`EventStore::read_all`], [`EventStore::subscribe_all`]) and backwards
//! ([`EventStore::read_all_backwards`], for `tenantry events tail`), its head
//! ([`EventStore::head`]) and how far a reader is behind it ([`EventStore::backlog`], for the
//! projectors' lag). What makes an append well-formed is decided once, here
//! ([`validate_append`]), not by each adapter.

mod metadata;
mod types;
mod upcast;
mod validation;

pub use metadata::{Actor, EventMetadata};
pub use types::{AppendResult, Backlog, Checkpoint, ExpectedVersion, NewEvent, RecordedEvent};
pub use upcast::{UpcastError, Upcasters};
pub use validation::validate_append;

use async_trait::async_trait;
use futures::stream::BoxStream;

/// Why the event store refused or failed an operation.
#[derive(Debug, thiserror::Error)]
pub enum EventStoreError {
    /// The stream is not at the version the caller expected: someone else appended first. Nothing
    /// was written. `actual` is the stream's version when the append was refused (0: no stream).
    #[error("stream {stream_id} is at version {actual}, not at the expected {expected}")]
    Conflict {
        stream_id: String,
        expected: ExpectedVersion,
        actual: u64,
    },
    /// The append is malformed (see [`validate_append`]; or some but not all of its event ids are
    /// already stored). Nothing was written.
    #[error("invalid append: {0}")]
    InvalidAppend(String),
    /// A stored event could not be brought to its current schema version.
    #[error(transparent)]
    Upcast(#[from] UpcastError),
    /// The backend failed (connection lost, disk full, …). The append may or may not have been
    /// stored: retrying with the same event ids is safe, because appends are idempotent.
    #[error("event store backend failed: {0:#}")]
    Backend(#[from] anyhow::Error),
}

/// A stream of batches of events from a catch-up subscription. Each batch is non-empty and in log
/// order; the stream ends only when the subscriber drops it (or on an error, which it yields).
pub type Subscription = BoxStream<'static, Result<Vec<RecordedEvent>, EventStoreError>>;

/// The event store port.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Appends `events` to `stream_id` as one unit: all are stored, at consecutive versions, or none.
    ///
    /// Adapters refuse what [`validate_append`] refuses, before writing anything. Fails with
    /// [`EventStoreError::Conflict`] when the stream is not at `expected`. Appending
    /// events whose ids are all stored already is a no-op that reports where they are
    /// (`already_stored: true`), so a retry after a lost answer is safe.
    async fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, EventStoreError>;

    /// Reads up to `limit` events of one stream, from version `from_version` (inclusive, 1 is the
    /// first event), in version order. A stream that does not exist reads as empty.
    async fn read_stream(
        &self,
        stream_id: &str,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, EventStoreError>;

    /// Reads up to `limit` events of all streams that come after `after` in log order. Only events
    /// whose place in the log is final are returned: a later call never yields an event that
    /// sorts before the last one returned here.
    async fn read_all(
        &self,
        after: Checkpoint,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, EventStoreError>;

    /// Up to `limit` events of all streams that come before `before` in log order (`None`: from
    /// the end of the log), newest first: [`read_all`](Self::read_all) backwards, with the same
    /// horizon (only events whose place in the log is final). `tenantry events tail` prints the
    /// last events this way, then follows from the newest one.
    async fn read_all_backwards(
        &self,
        before: Option<Checkpoint>,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, EventStoreError>;

    /// The head of the log: the checkpoint of the last event whose place is final, so that a
    /// reader that has read everything [`read_all`](Self::read_all) returns now stands here
    /// ([`Checkpoint::START`] for an empty log). More events may be stored already whose place is
    /// not final yet; [`backlog`](Self::backlog) counts those too.
    async fn head(&self) -> Result<Checkpoint, EventStoreError> {
        let last = self.read_all_backwards(None, 1).await?;
        Ok(last
            .first()
            .map_or(Checkpoint::START, RecordedEvent::checkpoint))
    }

    /// The global position of the last event stored so far, whether its place in the log is
    /// final or not (0 for an empty log): what a read that must see everything committed before
    /// it waits for. [`head`](Self::head) may stay behind it for as long as any transaction of
    /// the database is open, so a tenant created a moment ago can lie past the head. By
    /// default the head's, for a store whose places are final at once.
    async fn last_stored_position(&self) -> Result<u64, EventStoreError> {
        Ok(self.head().await?.position)
    }

    /// How far a reader at `after` is behind: how many stored events come after it in log
    /// order, and when the first of them was recorded. Counts every stored event past `after`,
    /// also those [`read_all`](Self::read_all) does not return yet because their place is not
    /// final (they are work the reader has ahead all the same). Costs time in proportion to the
    /// backlog: meant for status pages and lag gauges, not for every read.
    async fn backlog(&self, after: Checkpoint) -> Result<Backlog, EventStoreError>;

    /// The checkpoint of the event stored at global `position`, if there is one. Used to answer
    /// "has this reader passed position N yet?" (`min_position` on queries).
    async fn checkpoint_of(&self, position: u64) -> Result<Option<Checkpoint>, EventStoreError>;

    /// A catch-up subscription to all streams: yields every event after `after`, in batches of at
    /// most `batch_size`, then waits for new ones and yields them promptly as they are committed.
    fn subscribe_all(&self, after: Checkpoint, batch_size: usize) -> Subscription;
}
