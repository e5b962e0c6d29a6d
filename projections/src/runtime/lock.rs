//! Leadership: the connection a worker holds its projector's advisory lock on, and does all its
//! writes through. A session-level advisory lock lives exactly as long as its connection, so a
//! process that dies or loses the connection gives the lock up, and can no longer write either.

use sqlx::{Connection, PgConnection, PgPool};

/// The first half of every projector lock's key: "TENT", so our locks do not collide with other
/// applications' on the same database.
const LOCK_CLASS: i32 = 0x5445_4e54;

/// Opens the worker's own connection (not from the pool: the pool would hand it to others and
/// never close it), set up for projection.
pub(super) async fn connect(pool: &PgPool) -> sqlx::Result<PgConnection> {
    let mut conn = PgConnection::connect_with(&pool.connect_options()).await?;
    // Projectors write unqualified table names; live, they are the tables in `read`.
    sqlx::query("SET search_path TO read")
        .execute(&mut conn)
        .await?;
    // A batch's rows and checkpoint commit together, and the log is the source of truth: a batch
    // lost in a database crash is projected again from its checkpoint. So there is no need to wait
    // for each commit's flush to disk, which would cap the batches per second.
    sqlx::query("SET synchronous_commit TO off")
        .execute(&mut conn)
        .await?;
    Ok(conn)
}

/// Tries to take the lock of projector `name`; true when this connection now holds it.
pub(super) async fn try_lock(conn: &mut PgConnection, name: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
        .bind(LOCK_CLASS)
        .bind(key(name))
        .fetch_one(conn)
        .await
}

/// The key of a rebuild's lock of projector `name` (one rebuild at a time), distinct from the
/// live projector's.
pub(crate) fn rebuild_key(name: &str) -> (i32, i32) {
    (LOCK_CLASS, key(&format!("rebuild:{name}")))
}

/// FNV-1a of the name: stable across builds and PostgreSQL versions (unlike `hashtext`).
fn key(name: &str) -> i32 {
    let hash = name.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    hash as i32
}
