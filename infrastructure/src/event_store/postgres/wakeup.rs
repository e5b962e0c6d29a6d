//! Waking subscribers when events are appended.
//!
//! In this process, an append wakes local subscribers at once (a `watch` channel). Other processes
//! learn of it through `NOTIFY tenantry_events`, sent by a background task *after* the append's
//! transaction: a `NOTIFY` inside the append would take PostgreSQL's global notify lock for the
//! whole commit and serialize every append. The notifier coalesces: however many appends happen
//! while one `NOTIFY` is in flight or in the [`NOTIFY_INTERVAL`] after it, one more follows. A
//! `LISTEN` task turns notifications from other processes into local wake-ups (each `NOTIFY`
//! carries a token of the process that sent it, and a process ignores its own: its subscribers
//! were woken at the append already). Subscribers also poll, so a lost notification only delays.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

const CHANNEL: &str = "tenantry_events";

/// The notifier sends at most one `NOTIFY` per this interval (appends meanwhile are covered by
/// the next one). Each `NOTIFY` is a transaction and takes the server's global notify lock; one
/// per append cost single-event appends about a tenth of their rate, and other processes hear of
/// new events at most this much later.
const NOTIFY_INTERVAL: Duration = Duration::from_millis(5);

pub(super) struct Wakeup {
    /// Bumped on every local append and every notification; subscribers watch it.
    local: Arc<watch::Sender<u64>>,
    /// Asks the notifier task to send one `NOTIFY`.
    outgoing: Arc<Notify>,
    tasks: [JoinHandle<()>; 2],
}

impl Wakeup {
    pub(super) fn start(pool: PgPool) -> Self {
        let local = Arc::new(watch::Sender::new(0u64));
        let outgoing = Arc::new(Notify::new());
        let token = uuid::Uuid::new_v4().to_string();
        let notifier = tokio::spawn(notify_loop(pool.clone(), outgoing.clone(), token.clone()));
        let listener = tokio::spawn(listen_loop(pool, local.clone(), token));
        Self {
            local,
            outgoing,
            tasks: [notifier, listener],
        }
    }

    /// Called after an append committed.
    pub(super) fn appended(&self) {
        self.local.send_modify(|n| *n = n.wrapping_add(1));
        self.outgoing.notify_one();
    }

    pub(super) fn subscribe(&self) -> watch::Receiver<u64> {
        self.local.subscribe()
    }
}

impl Drop for Wakeup {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn notify_loop(pool: PgPool, outgoing: Arc<Notify>, token: String) {
    let mut conn: Option<PgConnection> = None;
    loop {
        outgoing.notified().await;
        if conn.is_none() {
            conn = notifier_connection(&pool).await;
        }
        let Some(c) = conn.as_mut() else { continue };
        if let Err(error) = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(&token)
            .execute(&mut *c)
            .await
        {
            tracing::warn!(%error, "failed to notify other processes of new events");
            conn = None;
        }
        tokio::time::sleep(NOTIFY_INTERVAL).await;
    }
}

/// The notifier's own connection. A `NOTIFY` is a transaction of its own, with a commit record;
/// nothing is lost if that record is not flushed to disk, so this connection commits without
/// waiting for the flush and does not compete with appends for it.
async fn notifier_connection(pool: &PgPool) -> Option<PgConnection> {
    let result = async {
        let mut conn = PgConnection::connect_with(&pool.connect_options()).await?;
        sqlx::query("SET synchronous_commit TO off")
            .execute(&mut conn)
            .await?;
        Ok::<_, sqlx::Error>(conn)
    }
    .await;
    match result {
        Ok(conn) => Some(conn),
        Err(error) => {
            tracing::warn!(%error, "failed to open the notifier connection");
            None
        }
    }
}

async fn listen_loop(pool: PgPool, local: Arc<watch::Sender<u64>>, token: String) {
    let wake = || local.send_modify(|n| *n = n.wrapping_add(1));
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "failed to connect the event listener; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(error) = listener.listen(CHANNEL).await {
            tracing::warn!(%error, "failed to LISTEN for new events; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        // Anything appended while we were not listening is found by the next read.
        wake();
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) if notification.payload() == token => {}
                Ok(Some(_)) => wake(),
                // The connection dropped; `try_recv` reconnects on the next call. Notifications
                // sent meanwhile are lost, so wake everyone to read.
                Ok(None) => wake(),
                Err(error) => {
                    tracing::warn!(%error, "the event listener failed; reconnecting");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
            }
        }
    }
}
