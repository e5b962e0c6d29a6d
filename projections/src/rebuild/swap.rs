//! The swap: the moment a rebuilt read model replaces the live one, in one transaction.

use sqlx::postgres::PgDatabaseError;
use sqlx::{Connection, PgConnection};
use tenantry_application::event_store::{EventStore, RecordedEvent};

use super::{RebuildOptions, Replay};
use crate::{ProjectionError, checkpoint};

/// Catches the shadow tables up to the head of the log and swaps them in; retried when the lock
/// timeout strikes (a long query held the live tables).
pub(super) async fn swap(
    conn: &mut PgConnection,
    store: &dyn EventStore,
    replay: &mut Replay<'_>,
    schema: &str,
    options: &RebuildOptions,
) -> Result<(), ProjectionError> {
    let name = replay.projector.name();
    checkpoint::ensure(conn, name).await?;
    let mut attempt = 1;
    loop {
        // A failed attempt rolls back the events it applied; replay them again.
        let (after, done) = (replay.after, replay.done);
        match swap_once(conn, store, replay, schema, options).await {
            Ok(()) => return Ok(()),
            Err(ProjectionError::Database(error))
                if is_lock_timeout(&error) && attempt < options.swap_attempts =>
            {
                tracing::warn!(
                    projector = name,
                    attempt,
                    "the swap waited too long for a lock; trying again"
                );
                (replay.after, replay.done) = (after, done);
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

async fn swap_once(
    conn: &mut PgConnection,
    store: &dyn EventStore,
    replay: &mut Replay<'_>,
    schema: &str,
    options: &RebuildOptions,
) -> Result<(), ProjectionError> {
    let projector = replay.projector;
    let mut tx = conn.begin().await?;
    sqlx::query(&format!(
        "SET LOCAL lock_timeout = {}",
        options.swap_lock_timeout.as_millis().max(1)
    ))
    .execute(&mut *tx)
    .await?;
    // From here the live projector cannot commit a batch.
    checkpoint::lock(&mut tx, projector.name()).await?;
    // Our transaction now holds back the log's read horizon, so this ends: only events of
    // transactions older than ours can still become readable.
    loop {
        let batch: Vec<RecordedEvent> = store.read_all(replay.after, replay.batch_size).await?;
        let Some(last) = batch.last().map(RecordedEvent::checkpoint) else {
            break;
        };
        replay.apply(&mut tx, &batch).await?;
        replay.after = last;
        replay.done += batch.len() as u64;
    }
    let mut ddl = String::new();
    for table in projector.tables() {
        ddl.push_str(&format!(
            "DROP TABLE read.{table}; ALTER TABLE {schema}.{table} SET SCHEMA read; "
        ));
    }
    ddl.push_str(&format!("DROP SCHEMA {schema};"));
    sqlx::raw_sql(&ddl).execute(&mut *tx).await?;
    checkpoint::replace(&mut tx, projector.name(), replay.after).await?;
    tx.commit().await?;
    Ok(())
}

/// SQLSTATE 55P03: `lock_timeout` expired.
fn is_lock_timeout(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db)
        if db.try_downcast_ref::<PgDatabaseError>().is_some_and(|pg| pg.code() == "55P03"))
}
