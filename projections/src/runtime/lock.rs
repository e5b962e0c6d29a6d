//! Leadership: the connection a worker holds its projector's advisory lock on, and does all its
//! writes through. A session-level advisory lock lives exactly as long as its connection, so a
//! process that dies or loses the connection gives the lock up, and can no longer write either.
//!
//! The connection has a liveness bound, so that a process frozen or cut off with the connection
//! still open loses the lock too: PostgreSQL ends a session silent for the bound
//! (`idle_session_timeout`, PostgreSQL 14 or later; `idle_in_transaction_session_timeout` inside
//! a transaction) or whose peer is gone (TCP keepalives, `tcp_user_timeout`). The worker
//! heartbeats (pings) well within it.

use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection, PgPool};

/// The first half of every projector lock's key: "TENT", so our locks do not collide with other
/// applications' on the same database.
const LOCK_CLASS: i32 = 0x5445_4e54;

/// Tries to take projector `name`'s lock. When this process now holds it: the connection it holds
/// it on, set up for projecting and for the liveness bound. `None`: another process leads it.
///
/// A process that does not lead a projector holds no connection for it while it waits (issue 11:
/// on a server short of connection slots, the waiting processes' lock connections took the slots
/// provisioning needed). A try borrows an idle connection of `pool` (taken out of the pool only
/// when it won: the pool would hand it to others and never close it), or, with none idle, opens
/// one of its own for the try: it never waits for the pool, whose connections the requests need
/// (in an outage every try would hold one of them for the acquire timeout).
pub(super) async fn try_lead(
    pool: &PgPool,
    name: &str,
    liveness: Duration,
) -> sqlx::Result<Option<PgConnection>> {
    let mut conn = if let Some(mut pooled) = pool.try_acquire() {
        match try_lock(&mut pooled, name).await {
            Ok(true) => pooled.detach(),
            Ok(false) => return Ok(None),
            Err(error) => {
                // Whether the lock was taken is unknown: the session must end.
                pooled.close().await.ok();
                return Err(error);
            }
        }
    } else {
        let mut own = PgConnection::connect_with(&pool.connect_options()).await?;
        if !try_lock(&mut own, name).await? {
            own.close().await.ok();
            return Ok(None);
        }
        own
    };
    let settings = setup(liveness);
    if let Err(error) = conn.execute(sqlx::raw_sql(&settings)).await {
        // Closing ends the session, and the lock with it.
        conn.close().await.ok();
        return Err(error);
    }
    Ok(Some(conn))
}

/// The lock's session settings. Projectors write unqualified table names; live, they are the
/// tables in `read`. A batch's rows and checkpoint commit together, and the log is the source of
/// truth: a batch lost in a database crash is projected again from its checkpoint, so there is no
/// need to wait for each commit's flush to disk, which would cap the batches per second. And the
/// server ends the session once the client has been silent for `liveness` (idle, or idle inside
/// a transaction), or its TCP peer stopped answering for about as long: the same bound as the
/// saga lease's (`tenantry_infrastructure::lease`).
fn setup(liveness: Duration) -> String {
    let ms = liveness.as_millis().max(1);
    let seconds = liveness.as_secs().max(2);
    format!(
        "SET search_path TO read; SET synchronous_commit TO off; \
         SET idle_session_timeout = {ms}; SET idle_in_transaction_session_timeout = {ms}; \
         SET tcp_keepalives_idle = {idle}; SET tcp_keepalives_interval = {interval}; \
         SET tcp_keepalives_count = 3; SET tcp_user_timeout = {ms};",
        idle = (seconds / 2).max(1),
        interval = (seconds / 6).max(1),
    )
}

/// The heartbeat: a round trip within half the bound, or the connection counts as lost.
pub(super) async fn heartbeat(conn: &mut PgConnection, liveness: Duration) -> anyhow::Result<()> {
    // In time by the clock too: a process frozen while the ping was in flight reads its answer
    // when it wakes (the timeout polls the ping first), when another process may lead.
    let sent = std::time::Instant::now();
    match tokio::time::timeout(liveness / 2, conn.ping()).await {
        Ok(Ok(())) if sent.elapsed() < liveness / 2 => Ok(()),
        Ok(Ok(())) => Err(anyhow::anyhow!(
            "the lock's heartbeat took {:?}, over half the liveness bound: the process was frozen or starved",
            sent.elapsed()
        )),
        Ok(Err(error)) => Err(anyhow::Error::new(error).context("the lock's connection was lost")),
        Err(_) => Err(anyhow::anyhow!(
            "the lock's connection did not answer the heartbeat within {:?}",
            liveness / 2
        )),
    }
}

/// Tries to take the lock of projector `name`; true when this connection now holds it.
async fn try_lock(conn: &mut PgConnection, name: &str) -> sqlx::Result<bool> {
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
