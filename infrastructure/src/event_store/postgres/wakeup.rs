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
    let mut reconnect = Reconnect::new("the event notifier's connection");
    loop {
        outgoing.notified().await;
        if conn.is_none() {
            match notifier_connection(&pool).await {
                Ok(c) => {
                    reconnect.succeeded();
                    conn = Some(c);
                }
                Err(error) => {
                    // Appends meanwhile are covered by the one NOTIFY after the reconnect.
                    tokio::time::sleep(reconnect.failed(&error)).await;
                    outgoing.notify_one();
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        if let Err(error) = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(&token)
            .execute(&mut *c)
            .await
        {
            conn = None;
            tokio::time::sleep(reconnect.failed(&error)).await;
            outgoing.notify_one();
            continue;
        }
        tokio::time::sleep(NOTIFY_INTERVAL).await;
    }
}

/// The notifier's own connection. A `NOTIFY` is a transaction of its own, with a commit record;
/// nothing is lost if that record is not flushed to disk, so this connection commits without
/// waiting for the flush and does not compete with appends for it.
async fn notifier_connection(pool: &PgPool) -> Result<PgConnection, sqlx::Error> {
    let mut conn = PgConnection::connect_with(&pool.connect_options()).await?;
    sqlx::query("SET synchronous_commit TO off")
        .execute(&mut conn)
        .await?;
    Ok(conn)
}

async fn listen_loop(pool: PgPool, local: Arc<watch::Sender<u64>>, token: String) {
    let wake = || local.send_modify(|n| *n = n.wrapping_add(1));
    let mut reconnect = Reconnect::new("the event listener");
    loop {
        let connected = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        }
        .await;
        let mut listener = match connected {
            Ok(listener) => {
                reconnect.succeeded();
                listener
            }
            Err(error) => {
                tokio::time::sleep(reconnect.failed(&error)).await;
                continue;
            }
        };
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
                    tokio::time::sleep(reconnect.failed(&error)).await;
                    break;
                }
            }
        }
    }
}

/// Reconnecting after failures: exponential delays with jitter (from [`RECONNECT_MIN_DELAY`] up
/// to [`RECONNECT_MAX_DELAY`]), and one WARN line per outage (its first failure; later tries are
/// DEBUG), one INFO line when it ends.
struct Reconnect {
    what: &'static str,
    delays: backon::ExponentialBackoff,
    /// Since when, and how many tries failed, while disconnected.
    outage: Option<(std::time::Instant, u32)>,
}

const RECONNECT_MIN_DELAY: Duration = Duration::from_millis(100);
const RECONNECT_MAX_DELAY: Duration = Duration::from_secs(5);

impl Reconnect {
    fn new(what: &'static str) -> Self {
        Self {
            what,
            delays: Self::delays(),
            outage: None,
        }
    }

    fn delays() -> backon::ExponentialBackoff {
        use backon::BackoffBuilder;
        backon::ExponentialBuilder::default()
            .with_min_delay(RECONNECT_MIN_DELAY)
            .with_max_delay(RECONNECT_MAX_DELAY)
            .with_jitter()
            .without_max_times()
            .build()
    }

    /// A try failed: logs it (at WARN when it starts an outage) and says how long to wait.
    fn failed(&mut self, error: &dyn std::fmt::Display) -> Duration {
        let delay = self.delays.next().unwrap_or(RECONNECT_MAX_DELAY);
        match &mut self.outage {
            None => {
                self.outage = Some((std::time::Instant::now(), 1));
                tracing::warn!(
                    error = %error,
                    "{} is down; reconnecting with backoff (logged once until it is back)",
                    self.what
                );
            }
            Some((_, tries)) => {
                *tries += 1;
                tracing::debug!(error = %error, tries = *tries, "{} is still down", self.what);
            }
        }
        delay
    }

    /// Connected: ends the outage, if there was one (logged), and resets the delays.
    fn succeeded(&mut self) {
        if let Some((since, tries)) = self.outage.take() {
            tracing::info!(
                failed_tries = tries,
                down_for_ms = since.elapsed().as_millis() as u64,
                "{} is back",
                self.what
            );
            self.delays = Self::delays();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Mutex;

    use super::*;

    /// Log lines written while `f` runs.
    fn logged(f: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn one_warning_per_outage_and_growing_bounded_delays() {
        let mut reconnect = Reconnect::new("the test connection");
        let mut delays = Vec::new();
        let log = logged(|| {
            for _ in 0..40 {
                delays.push(reconnect.failed(&"connection refused"));
            }
            reconnect.succeeded();
        });
        assert_eq!(log.matches("WARN").count(), 1, "{log}");
        assert_eq!(log.matches(" INFO ").count(), 1, "{log}");
        assert!(log.contains("the test connection is back"), "{log}");
        assert!(log.contains("failed_tries=40"), "{log}");
        // Jitter adds up to one more delay.
        assert!(
            delays.iter().all(|d| *d <= 2 * RECONNECT_MAX_DELAY),
            "{delays:?}"
        );
        assert!(delays[0] < Duration::from_secs(1), "{delays:?}");
        assert!(delays[30] >= RECONNECT_MAX_DELAY, "{delays:?}");

        // A second outage warns again, starting from the short delays.
        let mut first = Duration::ZERO;
        let log = logged(|| first = reconnect.failed(&"too many clients already"));
        assert_eq!(log.matches("WARN").count(), 1, "{log}");
        assert!(first < Duration::from_secs(1), "{first:?}");
    }
}
