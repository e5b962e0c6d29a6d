//! How stored events are read back: the queries and the row type they decode into.

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
