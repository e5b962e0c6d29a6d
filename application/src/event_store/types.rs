//! The values that cross the event store port: events going in, events coming out, where a
//! reader stands in the global log, and how far behind its end.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::EventMetadata;

/// What the appender expects the stream's version to be, for optimistic concurrency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// Append whatever the stream's version is.
    Any,
    /// The stream must not exist yet (has no events).
    NoStream,
    /// The stream's last event must have this version. `Exact(0)` means the same as `NoStream`.
    Exact(u64),
}

impl std::fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Any => f.write_str("any"),
            Self::NoStream => f.write_str("no stream"),
            Self::Exact(v) => write!(f, "{v}"),
        }
    }
}

/// An event on its way into the store, before it has a place in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Chosen by the writer (UUID v7); storing the same id twice is a no-op.
    pub event_id: Uuid,
    pub event_type: String,
    /// The version of the payload's shape; older versions are upcast when read.
    pub schema_version: u32,
    pub payload: serde_json::Value,
    pub metadata: EventMetadata,
}

impl NewEvent {
    /// A new event with a fresh UUID v7 id.
    pub fn new(
        event_type: impl Into<String>,
        schema_version: u32,
        payload: serde_json::Value,
        metadata: EventMetadata,
    ) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            event_type: event_type.into(),
            schema_version,
            payload,
            metadata,
        }
    }
}

/// A stored event with its envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    /// The event's global number: unique across all streams and increasing within one append. It
    /// is what command responses and `min_position` speak of. Readers walk the log in
    /// [`Checkpoint`] order, which orders whole appends by commit; see [`Checkpoint`].
    pub position: u64,
    /// The commit this event belongs to (PostgreSQL: the transaction id; KurrentDB: the commit
    /// position). Together with `position` it is the event's [`Checkpoint`].
    pub commit: u64,
    pub stream_id: String,
    /// 1, 2, 3 … within the stream, without gaps.
    pub stream_version: u64,
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u32,
    pub payload: serde_json::Value,
    pub metadata: EventMetadata,
    pub recorded_at: DateTime<Utc>,
}

impl RecordedEvent {
    /// Where a reader stands once it has processed this event.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            commit: self.commit,
            position: self.position,
        }
    }
}

/// A place in the global log, as readers walk it: ordered by `commit`, then by `position`.
///
/// A single increasing sequence number cannot be a safe reading order when writers commit
/// concurrently: a transaction that took number 10 may commit after one that took 11, and a reader
/// that has moved past 11 would never see 10. Ordering by commit first, and only reading commits
/// that are final (see the PostgreSQL adapter), makes the order one that never changes behind a
/// reader. Subscriptions and projector checkpoints store this pair.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Checkpoint {
    pub commit: u64,
    pub position: u64,
}

impl Checkpoint {
    /// Before the first event.
    pub const START: Checkpoint = Checkpoint {
        commit: 0,
        position: 0,
    };
}

impl std::fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.commit, self.position)
    }
}

/// Where an append put its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    /// The stream's version after the append: the version of its last event.
    pub stream_version: u64,
    /// The global position of the first event of the append.
    pub first_position: u64,
    /// The checkpoint of the last event of the append; its `position` is what a command answers.
    pub last: Checkpoint,
    /// True when every event was stored already (an idempotent retry): nothing was written.
    pub already_stored: bool,
}

/// How far a reader at some checkpoint is behind the end of the log (see
/// [`EventStore::backlog`](super::EventStore::backlog)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    /// Stored events after the checkpoint.
    pub events: u64,
    /// When the first of them (in log order) was recorded; `None` when there is none.
    pub first_recorded_at: Option<DateTime<Utc>>,
}
