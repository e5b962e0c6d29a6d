//! Bulk loading: inserting a large, already-decided history into an empty log in a few big
//! transactions, far faster than one append per decision. For benchmarks and load tests that need
//! a million events to read; never for commands, since it checks neither expected versions nor
//! event ids (the log's constraints still hold: a wrong version or a duplicate id fails the load).

use anyhow::Context;
use sqlx::PgPool;
use sqlx::types::Json;

use tenantry_application::event_store::NewEvent;

/// One event to load, with the stream version it takes.
#[derive(Debug, Clone)]
pub struct BulkEvent {
    pub stream_id: String,
    pub stream_version: u64,
    pub event: NewEvent,
}

/// Inserts `events` as one transaction (one commit in the log), in their order, and moves each
/// stream's version to the largest one loaded.
pub async fn load(pool: &PgPool, events: &[BulkEvent]) -> anyhow::Result<()> {
    sqlx::query(
        "WITH e AS (SELECT * FROM unnest($1::text[], $2::int8[], $3::uuid[], $4::text[], \
                                        $5::int4[], $6::jsonb[], $7::jsonb[]) \
                    WITH ORDINALITY AS e (s, v, i, t, sv, p, m, o)), \
              streams AS (INSERT INTO event_streams (stream_id, version) \
                          SELECT s, max(v) FROM e GROUP BY s \
                          ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version \
                          RETURNING stream_id, stream_no) \
         INSERT INTO events (tx_id, stream_id, stream_no, stream_version, event_id, \
                             event_type, schema_version, payload, metadata) \
         SELECT pg_current_xact_id()::text::bigint, e.s, streams.stream_no, e.v, e.i, e.t, e.sv, \
                e.p, e.m \
         FROM e JOIN streams ON streams.stream_id = e.s ORDER BY e.o",
    )
    .bind(
        events
            .iter()
            .map(|e| e.stream_id.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        events
            .iter()
            .map(|e| e.stream_version as i64)
            .collect::<Vec<_>>(),
    )
    .bind(events.iter().map(|e| e.event.event_id).collect::<Vec<_>>())
    .bind(
        events
            .iter()
            .map(|e| e.event.event_type.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        events
            .iter()
            .map(|e| e.event.schema_version as i32)
            .collect::<Vec<_>>(),
    )
    .bind(
        events
            .iter()
            .map(|e| Json(&e.event.payload))
            .collect::<Vec<_>>(),
    )
    .bind(
        events
            .iter()
            .map(|e| Json(&e.event.metadata))
            .collect::<Vec<_>>(),
    )
    .execute(pool)
    .await
    .context("failed to bulk-load events")?;
    Ok(())
}

/// Refreshes the log's statistics (and visibility map) after a load, as a busy server's autovacuum
/// would have, so that reads are planned as in production.
pub async fn analyze(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::query("VACUUM ANALYZE events")
        .execute(pool)
        .await
        .context("failed to analyze the log")?;
    Ok(())
}
