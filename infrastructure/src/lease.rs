//! Leadership across processes: a PostgreSQL session advisory lock held on a connection of its
//! own. If the process dies or the connection drops, PostgreSQL releases the lock, and another
//! process takes the lead.
//!
//! A process that is frozen (SIGSTOP, a VM paused) or cut off from the database keeps its
//! connection open, so its lock too, unless the connection has a *liveness bound*: the lock's
//! session is opened with `idle_session_timeout` (PostgreSQL 14 or later), so the server ends it
//! once the holder has been silent for the bound, `idle_in_transaction_session_timeout` for a
//! holder stopped inside a transaction, and TCP keepalives and `tcp_user_timeout` for a peer that
//! is gone from the network. The holder proves it is alive with a heartbeat ([`Lease::held`],
//! a ping) well within the bound; a ping that fails or takes longer than half the bound loses
//! the lease.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::{Connection, Executor, PgConnection, PgPool};
use tenantry_application::sagas::Lease;
use tokio::sync::Mutex;

/// The default liveness bound of a leader's lock: see [`liveness_settings`].
pub const DEFAULT_LIVENESS: Duration = Duration::from_secs(10);

/// The session settings of a connection that holds a leadership lock: the server ends the
/// session (and so releases its locks) once the client has been silent for `liveness` (idle, or
/// idle inside a transaction), or its TCP peer stopped answering for about as long. Keepalive
/// probes start after half the bound, then every second or so, three of them.
pub fn liveness_settings(liveness: Duration) -> String {
    let ms = liveness.as_millis().max(1);
    let seconds = liveness.as_secs().max(2);
    format!(
        "SET idle_session_timeout = {ms}; SET idle_in_transaction_session_timeout = {ms}; \
         SET tcp_keepalives_idle = {idle}; SET tcp_keepalives_interval = {interval}; \
         SET tcp_keepalives_count = 3; SET tcp_user_timeout = {ms};",
        idle = (seconds / 2).max(1),
        interval = (seconds / 6).max(1),
    )
}

/// An advisory-lock [`Lease`] with a fixed key.
pub struct PgLease {
    pool: PgPool,
    key: i64,
    liveness: Duration,
    /// The connection holding the lock, while we hold it.
    conn: Mutex<Option<PgConnection>>,
}

impl PgLease {
    /// A lease named `key` (one number per kind of leader) on the database of `pool`, with the
    /// [`DEFAULT_LIVENESS`] bound.
    pub fn new(pool: &PgPool, key: i64) -> Self {
        Self::with_liveness(pool, key, DEFAULT_LIVENESS)
    }

    /// The same, lost by a holder silent for `liveness`: it must call [`Lease::held`] more often
    /// than that (a quarter of it is comfortable).
    pub fn with_liveness(pool: &PgPool, key: i64, liveness: Duration) -> Self {
        Self {
            pool: pool.clone(),
            key,
            liveness,
            conn: Mutex::new(None),
        }
    }
}

#[async_trait]
impl Lease for PgLease {
    async fn try_acquire(&self) -> anyhow::Result<bool> {
        let mut slot = self.conn.lock().await;
        if slot.is_some() {
            return Ok(true);
        }
        // A process that does not lead holds no connection for the lease (issue 11: on a server
        // short of connection slots, a connection held, or opened for every try, took a slot
        // provisioning needed). A try borrows an idle connection of the pool, taken out of it
        // only when it got the lock, or with none idle opens one for the try: it never waits for
        // the pool, whose connections the requests need (in an outage every try would hold one
        // of them for the acquire timeout).
        let mut conn = if let Some(mut pooled) = self.pool.try_acquire() {
            let got = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(self.key)
                .fetch_one(&mut *pooled)
                .await;
            match got {
                Ok(true) => pooled.detach(),
                Ok(false) => return Ok(false),
                Err(error) => {
                    // Whether the lock was taken is unknown: the session must end.
                    pooled.close().await.ok();
                    return Err(error.into());
                }
            }
        } else {
            let mut own = PgConnection::connect_with(&self.pool.connect_options()).await?;
            let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(self.key)
                .fetch_one(&mut own)
                .await?;
            if !got {
                own.close().await.ok();
                return Ok(false);
            }
            own
        };
        let settings = liveness_settings(self.liveness);
        if let Err(error) = conn.execute(sqlx::raw_sql(&settings)).await {
            // Closing ends the session, and the lock with it.
            conn.close().await.ok();
            return Err(error.into());
        }
        *slot = Some(conn);
        Ok(true)
    }

    async fn held(&self) -> bool {
        let mut slot = self.conn.lock().await;
        let Some(conn) = slot.as_mut() else {
            return false;
        };
        // A ping is also the heartbeat that keeps the session from its idle timeout. One that
        // does not answer in half the bound means the server may end the session any moment.
        // The answer must also come in time by the clock: a process frozen while the ping was
        // in flight reads the answer when it wakes (the timeout polls the ping first), by which
        // time the server may have ended the session and another process leads.
        let sent = std::time::Instant::now();
        if let Ok(Ok(())) = tokio::time::timeout(self.liveness / 2, conn.ping()).await
            && sent.elapsed() < self.liveness / 2
        {
            return true;
        }
        // Dropped, not closed: closing waits for a server that may not answer.
        *slot = None;
        false
    }

    async fn release(&self) {
        if let Some(mut conn) = self.conn.lock().await.take() {
            let unlock = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(self.key)
                .execute(&mut conn);
            if tokio::time::timeout(self.liveness / 2, unlock)
                .await
                .is_ok()
            {
                let _ = tokio::time::timeout(self.liveness / 2, conn.close()).await;
            }
        }
    }
}
