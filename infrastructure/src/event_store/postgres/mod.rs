//! The PostgreSQL event store: the `events` table of `migrations/control/`, appended to through the
//! `append_events` function and read in `(tx_id, position)` order. Its SQL is all in [`rows`];
//! the rest of Tenantry reaches the table only through the port.
//!
//! Why readers never skip an event: each event row carries the id of the transaction that wrote it,
//! and a read returns only rows whose transaction id is below the oldest transaction still running
//! (`pg_snapshot_xmin(pg_current_snapshot())`, taken from the very snapshot the read uses). Every
//! transaction below that horizon has ended, and any transaction that has not yet committed has a
//! larger id, so no row can ever appear in the log behind a checkpoint `(tx_id, position)` that a
//! reader has reached. A plain "position > last seen" reader does not have this property: a
//! transaction that took position 10 can commit after one that took 11.
//!
//! Why each stream's events come in version order: `append_events` queues the appends to one
//! stream on an advisory lock before their transaction has an id, so an append that follows
//! another to the same stream gets its id after that one committed, hence a larger one. (Queueing
//! on the stream's row lock would not: the row lock needs the id first, and waiters are not
//! served in the order of their ids. The concurrency conformance test caught that.) This holds
//! because the append is its transaction's first write.
//!
//! The cost is that a long-running transaction anywhere in the cluster holds the horizon back:
//! readers wait (they never skip) until it ends. Keep write transactions short.
//!
//! The same horizon bounds [`EventStore::read_all_backwards`] and [`EventStore::head`]: the head
//! is the last event below it, where a forward reader arrives. [`EventStore::backlog`] counts past
//! it: events committed above the horizon are still ahead of every reader.

pub mod bulk;
mod rows;
mod subscription;
mod wakeup;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use sqlx::postgres::PgDatabaseError;
use tenantry_application::event_store::{
    AppendResult, Backlog, Checkpoint, EventStore, EventStoreError, ExpectedVersion, NewEvent,
    RecordedEvent, Subscription, Upcasters, validate_append,
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
        let pending: Option<i32> = sqlx::query_scalar(rows::PENDING)
            .bind(after.commit as i64)
            .bind(after.position as i64)
            .fetch_optional(&self.inner.pool)
            .await
            .context("failed to look past the horizon")?;
        Ok(pending.is_some())
    }

    async fn append_once(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<Appended, sqlx::Error> {
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
            // As text: the columns are `json` (see the migration).
            payloads.push(e.payload.to_string());
            metadata.push(
                serde_json::to_string(&e.metadata).map_err(|e| sqlx::Error::Encode(e.into()))?,
            );
        }
        sqlx::query_as(
            "SELECT out_first_position AS first_position, out_last_position AS last_position, \
                    out_tx_id AS tx_id, out_stream_version AS stream_version \
             FROM append_events($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(stream_id)
        .bind(expected_param)
        .bind(ids)
        .bind(types)
        .bind(schema_versions)
        .bind(payloads)
        .bind(metadata)
        .fetch_one(&self.inner.pool)
        .await
    }

    fn decode(&self, rows: Vec<EventRow>) -> Result<Vec<RecordedEvent>, EventStoreError> {
        rows.into_iter()
            .map(|row| Ok(self.inner.upcasters.upcast(row.into_event())?))
            .collect()
    }
}

/// A `LIMIT` for SQL: `bigint`, so `usize::MAX` ("all") stays positive.
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
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

/// Where an append's events went: `append_events`' answer, or the same read back for events
/// stored already.
#[derive(sqlx::FromRow)]
struct Appended {
    first_position: i64,
    last_position: i64,
    tx_id: i64,
    stream_version: i64,
}

/// The events of an append that are stored already (the slow path), when any are.
#[derive(sqlx::FromRow)]
struct Stored {
    count: i64,
    all_in_stream: bool,
    #[sqlx(flatten)]
    appended: Appended,
}

impl Appended {
    fn result(&self, already_stored: bool) -> AppendResult {
        AppendResult {
            stream_version: self.stream_version as u64,
            first_position: self.first_position as u64,
            last: Checkpoint {
                commit: self.tx_id as u64,
                position: self.last_position as u64,
            },
            already_stored,
        }
    }
}

#[async_trait]
impl EventStore for PgEventStore {
    // Refusals (a conflict the repository decides again on, a malformed append) are answers, not
    // failures: they are not logged at ERROR. A backend failure is, below.
    #[tracing::instrument(skip_all, fields(stream_id, events = events.len()), err(level = "debug"))]
    async fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, EventStoreError> {
        validate_append(stream_id, &events)?;
        let failure = match self.append_once(stream_id, expected, &events).await {
            Ok(appended) => {
                self.inner.wakeup.appended();
                metrics::counter!("tenantry_events_appended_total").increment(events.len() as u64);
                return Ok(appended.result(false));
            }
            Err(error) => classify(error),
        };
        if let AppendFailure::Backend(error) = failure {
            tracing::error!(%stream_id, %error, "failed to append events");
            return Err(anyhow::Error::new(error)
                .context("failed to append events")
                .into());
        }
        // The slow path: a wrong version or a stored id may mean this very append committed
        // before (a retry whose first answer was lost, or a concurrent twin).
        let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
        let stored: Option<Stored> = sqlx::query_as(rows::STORED)
            .bind(&ids)
            .bind(stream_id)
            .fetch_optional(&self.inner.pool)
            .await
            .context("failed to look up stored event ids")?;
        match (stored, failure) {
            (Some(stored), _) if stored.count == ids.len() as i64 && stored.all_in_stream => {
                Ok(stored.appended.result(true))
            }
            (None, AppendFailure::WrongVersion(actual)) => Err(EventStoreError::Conflict {
                stream_id: stream_id.to_owned(),
                expected,
                actual,
            }),
            (stored, _) => Err(EventStoreError::InvalidAppend(format!(
                "{} of the {} event ids are stored already, not all in this stream by one append",
                stored.map_or(0, |s| s.count),
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
            .bind(sql_limit(limit))
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
            .bind(sql_limit(limit))
            .fetch_all(&self.inner.pool)
            .await
            .context("failed to read the log")?;
        self.decode(rows)
    }

    async fn read_all_backwards(
        &self,
        before: Option<Checkpoint>,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, EventStoreError> {
        // No checkpoint: from past the end; every stored `(tx_id, position)` is below this.
        let (commit, position) = before.map_or((i64::MAX, i64::MAX), |c| {
            (c.commit as i64, c.position as i64)
        });
        let rows: Vec<EventRow> = sqlx::query_as(rows::READ_ALL_BACKWARDS)
            .bind(commit)
            .bind(position)
            .bind(sql_limit(limit))
            .fetch_all(&self.inner.pool)
            .await
            .context("failed to read the log backwards")?;
        self.decode(rows)
    }

    /// Without reading the event itself: one step of the log-order index, below the horizon.
    async fn head(&self) -> Result<Checkpoint, EventStoreError> {
        let head: Option<(i64, i64)> = sqlx::query_as(rows::HEAD)
            .fetch_optional(&self.inner.pool)
            .await
            .context("failed to find the head of the log")?;
        Ok(
            head.map_or(Checkpoint::START, |(commit, position)| Checkpoint {
                commit: commit as u64,
                position: position as u64,
            }),
        )
    }

    async fn last_stored_position(&self) -> Result<u64, EventStoreError> {
        let last: i64 = sqlx::query_scalar(rows::LAST_STORED)
            .fetch_one(&self.inner.pool)
            .await
            .context("failed to find the last stored event")?;
        Ok(last.max(0) as u64)
    }

    async fn backlog(&self, after: Checkpoint) -> Result<Backlog, EventStoreError> {
        let (events, first_recorded_at): (i64, Option<DateTime<Utc>>) =
            sqlx::query_as(rows::BACKLOG)
                .bind(after.commit as i64)
                .bind(after.position as i64)
                .fetch_one(&self.inner.pool)
                .await
                .context("failed to count the events after a checkpoint")?;
        Ok(Backlog {
            events: events.max(0) as u64,
            first_recorded_at,
        })
    }

    async fn checkpoint_of(&self, position: u64) -> Result<Option<Checkpoint>, EventStoreError> {
        let tx_id: Option<i64> = sqlx::query_scalar(rows::CHECKPOINT_OF)
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
