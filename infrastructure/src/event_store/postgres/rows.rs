//! The SQL of the PostgreSQL event store, in one place (nothing outside `infrastructure` names the
//! `events` table), and the row type reads decode into.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use tenantry_application::event_store::{EventMetadata, RecordedEvent};
use uuid::Uuid;

/// The envelope's columns, in the order of [`EventRow`].
macro_rules! columns {
    () => {
        "position, tx_id, stream_id, stream_version, event_id, event_type, schema_version, \
         payload, metadata, recorded_at"
    };
}

/// One stream's events from a version on.
pub(super) const READ_STREAM: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM events \
     WHERE stream_no = (SELECT stream_no FROM event_streams WHERE stream_id = $1) \
       AND stream_version >= $2 \
     ORDER BY stream_version LIMIT $3"
);

/// All streams' events after a checkpoint. `tx_id < xmin` keeps out every transaction that may
/// still commit (see the module docs of `postgres/mod.rs`); the row comparison walks the
/// `events_log_order` index.
pub(super) const READ_ALL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM events WHERE (tx_id, position) > ($1, $2) \
       AND tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
     ORDER BY tx_id, position LIMIT $3"
);

/// All streams' events before a checkpoint, newest first: [`READ_ALL`] backwards, with the same
/// horizon, walking the `events_log_order` index backwards.
pub(super) const READ_ALL_BACKWARDS: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM events WHERE (tx_id, position) < ($1, $2) \
       AND tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
     ORDER BY tx_id DESC, position DESC LIMIT $3"
);

/// The checkpoint of the last event below the horizon: the head that [`READ_ALL`] reaches. One
/// step of a backwards walk of the `events_log_order` index.
pub(super) const HEAD: &str = "SELECT tx_id, position FROM events \
     WHERE tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
     ORDER BY tx_id DESC, position DESC LIMIT 1";

/// The position of the last committed event in log order, past the horizon or not: every event
/// committed so far sorts at or before it, so a reader past it has read them all (not so the
/// largest position: a transaction that took a smaller one may have committed later).
pub(super) const LAST_STORED: &str = "SELECT coalesce((SELECT position FROM events \
     ORDER BY tx_id DESC, position DESC LIMIT 1), 0)";

/// How many committed events lie past a checkpoint, horizon or not, and when the first of them
/// was recorded. The count is a range scan of the `events_log_order` index (index-only once the
/// table is vacuumed), the first one a single step of it.
pub(super) const BACKLOG: &str = "SELECT \
     (SELECT count(*) FROM events WHERE (tx_id, position) > ($1, $2)), \
     (SELECT recorded_at FROM events WHERE (tx_id, position) > ($1, $2) \
       ORDER BY tx_id, position LIMIT 1)";

/// The global log position of an event and its transaction: its checkpoint.
pub(super) const CHECKPOINT_OF: &str = "SELECT tx_id FROM events WHERE position = $1";

/// The events of an append that are stored already (the slow path of an append).
pub(super) const STORED: &str = "SELECT count(*) AS count, bool_and(stream_id = $2) AS all_in_stream, \
            min(position) AS first_position, max(position) AS last_position, \
            max(tx_id) AS tx_id, max(stream_version) AS stream_version \
     FROM events WHERE event_id = ANY ($1) HAVING count(*) > 0";

/// A row when any committed event lies past a checkpoint, horizon or not: when [`READ_ALL`] finds
/// nothing but this finds something, those events wait for an older transaction to end. Not
/// `EXISTS (…)`: PostgreSQL drops the `ORDER BY … LIMIT` inside it, and the generic plan of the
/// prepared statement then scans the whole table.
pub(super) const PENDING: &str =
    "SELECT 1 FROM events WHERE (tx_id, position) > ($1, $2) ORDER BY tx_id, position LIMIT 1";

#[derive(sqlx::FromRow)]
pub(super) struct EventRow {
    position: i64,
    tx_id: i64,
    stream_id: String,
    stream_version: i64,
    event_id: Uuid,
    event_type: String,
    schema_version: i32,
    payload: Json<serde_json::Value>,
    metadata: Json<EventMetadata>,
    recorded_at: DateTime<Utc>,
}

impl EventRow {
    pub(super) fn into_event(self) -> RecordedEvent {
        RecordedEvent {
            position: self.position as u64,
            commit: self.tx_id as u64,
            stream_id: self.stream_id,
            stream_version: self.stream_version as u64,
            event_id: self.event_id,
            event_type: self.event_type,
            schema_version: self.schema_version as u32,
            payload: self.payload.0,
            metadata: self.metadata.0,
            recorded_at: self.recorded_at,
        }
    }
}
