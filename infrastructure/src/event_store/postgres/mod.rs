//! The PostgreSQL event store: the `events` table of `migrations/control/`, appended to through the
//! `append_events` function and read in `(tx_id, position)` order.
//!
//! Why readers never skip an event: each event row carries the id of the transaction that wrote it,
//! and a read returns only rows whose transaction id is below the oldest transaction still running
//! (`pg_snapshot_xmin(pg_current_snapshot())`, taken from the very snapshot the read uses). Every
//! transaction below that horizon has ended, and any transaction that has not yet committed has a
//! larger id, so no row can ever appear in the log behind a checkpoint `(tx_id, position)` that a
//! reader has reached. A plain "position > last seen" reader does not have this property: a
//! transaction that took position 10 can commit after one that took 11.
//!
//! The cost is that a long-running transaction anywhere in the cluster holds the horizon back:
//! readers wait (they never skip) until it ends. Keep write transactions short.

mod rows;
mod subscription;
mod wakeup;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::PgDatabaseError;
use tenantry_application::event_store::{
    AppendResult, Checkpoint, EventStore, EventStoreError, ExpectedVersion, NewEvent,
    RecordedEvent, Subscription, Upcasters,
};
use uuid::Uuid;

use rows::EventRow;
use wakeup::Wakeup;

/// How often an idle subscription reads anyway, in case a notification was lost.
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// The PostgreSQL adapter of the [`EventStore`] port. Cheap to clone; all clones share one pool,
/// one `LISTEN` connection and one notifier.
#[derive(Clone)]
pub struct PgEventStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    upcasters: Upcasters,
    wakeup: Wakeup,
    poll_interval: Duration,
}

impl PgEventStore {
    /// A store over `pool` (whose database has the control-plane migrations applied). Starts the
    /// background tasks that listen for and send wake-ups; they stop when the last clone is
    /// dropped. Must be called inside a tokio runtime.
    pub fn new(pool: PgPool, upcasters: Upcasters) -> Self {
        Self::with_poll_interval(pool, upcasters, DEFAULT_POLL_INTERVAL)
    }

    /// Like [`PgEventStore::new`], with the interval at which idle subscriptions poll.
    pub fn with_poll_interval(pool: PgPool, upcasters: Upcasters, poll_interval: Duration) -> Self {
        let wakeup = Wakeup::start(pool.clone());
        Self {
            inner: Arc::new(Inner {
                pool,
                upcasters,
                wakeup,
                poll_interval,
            }),
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// Whether committed events lie past `after` that [`EventStore::read_all`] does not return yet
    /// because an older transaction is still running (see the module docs).
    async fn has_pending(&self, after: Checkpoint) -> Result<bool, EventStoreError> {
        let pending = sqlx::query_scalar(rows::PENDING)
            .bind(after.commit as i64)
            .bind(after.position as i64)
            .fetch_one(&self.inner.pool)
            .await
            .context("failed to look past the horizon")?;
        Ok(pending)
    }

    async fn append_once(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<Vec<AppendedRow>, sqlx::Error> {
        let expected_param: Option<i64> = match expected {
            ExpectedVersion::Any => None,
            ExpectedVersion::NoStream => Some(0),
            ExpectedVersion::Exact(v) => Some(v as i64),
        };
        let mut ids = Vec::with_capacity(events.len());
        let mut types = Vec::with_capacity(events.len());
        let mut schema_versions = Vec::with_capacity(events.len());
        let mut payloads = Vec::with_capacity(events.len());
        let mut metadata = Vec::with_capacity(events.len());
        for e in events {
            ids.push(e.event_id);
            types.push(e.event_type.as_str());
            schema_versions.push(e.schema_version as i32);
            payloads.push(sqlx::types::Json(&e.payload));
            metadata.push(sqlx::types::Json(&e.metadata));
        }
        sqlx::query_as("SELECT * FROM append_events($1, $2, $3, $4, $5, $6, $7)")
            .bind(stream_id)
            .bind(expected_param)
            .bind(ids)
            .bind(types)
            .bind(schema_versions)
            .bind(payloads)
            .bind(metadata)
            .fetch_all(&self.inner.pool)
            .await
    }

    fn decode(&self, rows: Vec<EventRow>) -> Result<Vec<RecordedEvent>, EventStoreError> {
        rows.into_iter()
            .map(|row| Ok(self.inner.upcasters.upcast(row.into_event())?))
            .collect()
    }
}

fn validate(stream_id: &str, events: &[NewEvent]) -> Result<(), EventStoreError> {
    let invalid = |why: String| Err(EventStoreError::InvalidAppend(why));
    if stream_id.is_empty() {
        return invalid("the stream id is empty".into());
    }
    if events.is_empty() {
        return invalid("there are no events to append".into());
    }
    let mut ids = std::collections::HashSet::with_capacity(events.len());
    for e in events {
        if !ids.insert(e.event_id) {
            return invalid(format!("event id {} is given twice", e.event_id));
        }
        if e.event_type.is_empty() {
            return invalid(format!("event {} has an empty event type", e.event_id));
        }
        if e.schema_version == 0 || e.schema_version > i32::MAX as u32 {
            return invalid(format!(
                "event {} has schema version {}",
                e.event_id, e.schema_version
            ));
        }
    }
    Ok(())
}

/// Why an `append_events` call failed.
enum AppendFailure {
    /// The stream was not at the expected version (its version then).
    WrongVersion(u64),
    /// An event id is stored already.
    DuplicateEventId,
    Backend(sqlx::Error),
}

fn classify(error: sqlx::Error) -> AppendFailure {
    if let sqlx::Error::Database(db) = &error
        && let Some(pg) = db.try_downcast_ref::<PgDatabaseError>()
    {
        match pg.code() {
            "TY409" => {
                let actual = pg.detail().and_then(|d| d.parse().ok()).unwrap_or(0);
                return AppendFailure::WrongVersion(actual);
            }
            "23505" if pg.constraint() == Some("events_event_id_key") => {
                return AppendFailure::DuplicateEventId;
            }
            _ => {}
        }
    }
    AppendFailure::Backend(error)
}

/// `(position, tx_id, stream_version)` of appended events.
type AppendedRow = (i64, i64, i64);

fn append_result(
    rows: &[AppendedRow],
    already_stored: bool,
) -> Result<AppendResult, EventStoreError> {
    let first = rows.iter().map(|r| r.0).min();
    let last = rows.iter().max_by_key(|r| r.0);
    let (Some(first), Some(&(position, tx_id, version))) = (first, last) else {
        return Err(EventStoreError::Backend(anyhow::anyhow!(
            "append_events returned no rows"
        )));
    };
    Ok(AppendResult {
        stream_version: version as u64,
        first_position: first as u64,
        last: Checkpoint {
            commit: tx_id as u64,
            position: position as u64,
        },
        already_stored,
    })
}

#[async_trait]
impl EventStore for PgEventStore {
    #[tracing::instrument(skip_all, fields(stream_id, events = events.len()), err)]
    async fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, EventStoreError> {
        validate(stream_id, &events)?;
        let failure = match self.append_once(stream_id, expected, &events).await {
            Ok(rows) => {
                self.inner.wakeup.appended();
                metrics::counter!("tenantry_events_appended_total").increment(rows.len() as u64);
                return append_result(&rows, false);
            }
            Err(error) => classify(error),
        };
        if let AppendFailure::Backend(error) = failure {
            return Err(anyhow::Error::new(error)
                .context("failed to append events")
                .into());
        }
        // The slow path: a wrong version or a stored id may mean this very append committed
        // before (a retry whose first answer was lost, or a concurrent twin).
        let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
        let stored: Vec<(i64, i64, i64, String)> = sqlx::query_as(
            "SELECT position, tx_id, stream_version, stream_id FROM events \
             WHERE event_id = ANY ($1)",
        )
        .bind(&ids)
        .fetch_all(&self.inner.pool)
        .await
        .context("failed to look up stored event ids")?;
        if stored.len() == ids.len() && stored.iter().all(|r| r.3 == stream_id) {
            let rows: Vec<AppendedRow> = stored.iter().map(|r| (r.0, r.1, r.2)).collect();
            return append_result(&rows, true);
        }
        match failure {
            AppendFailure::WrongVersion(actual) if stored.is_empty() => {
                Err(EventStoreError::Conflict {
                    stream_id: stream_id.to_owned(),
                    expected,
                    actual,
                })
            }
            _ => Err(EventStoreError::InvalidAppend(format!(
                "{} of the {} event ids are stored already, not all in this stream by one append",
                stored.len(),
                ids.len()
            ))),
        }
    }

    async fn read_stream(
        &self,
        stream_id: &str,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, EventStoreError> {
        let rows: Vec<EventRow> = sqlx::query_as(rows::READ_STREAM)
            .bind(stream_id)
            .bind(from_version as i64)
            .bind(limit as i64)
            .fetch_all(&self.inner.pool)
            .await
            .context("failed to read a stream")?;
        self.decode(rows)
    }

    async fn read_all(
        &self,
        after: Checkpoint,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, EventStoreError> {
        let rows: Vec<EventRow> = sqlx::query_as(rows::READ_ALL)
            .bind(after.commit as i64)
            .bind(after.position as i64)
            .bind(limit as i64)
            .fetch_all(&self.inner.pool)
            .await
            .context("failed to read the log")?;
        self.decode(rows)
    }

    async fn checkpoint_of(&self, position: u64) -> Result<Option<Checkpoint>, EventStoreError> {
        let tx_id: Option<i64> = sqlx::query_scalar("SELECT tx_id FROM events WHERE position = $1")
            .bind(position as i64)
            .fetch_optional(&self.inner.pool)
            .await
            .context("failed to look up a position")?;
        Ok(tx_id.map(|commit| Checkpoint {
            commit: commit as u64,
            position,
        }))
    }

    fn subscribe_all(&self, after: Checkpoint, batch_size: usize) -> Subscription {
        subscription::catch_up(self.clone(), after, batch_size)
    }
}
