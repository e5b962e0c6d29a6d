//! How every Redis connection of the control plane connects, waits and reconnects: a connect
//! timeout, a response timeout, and a short reconnect backoff with jitter.
//!
//! The `redis` crate's defaults (0.32) have neither timeout, and its `ConnectionManager`
//! reconnects through `backon` from a fixed 1 s minimum multiplied by `factor` (100 by default)
//! per try, capped at 60 s and then jittered up to twice that: after the first failed reconnect,
//! the next one comes 60–120 s later, and every command waits for it. (Its `exponent_base` is not
//! used at all.) So the settings here set `factor` 2 and a cap of their own, and by default no
//! retries inside the connection: a command during an outage fails at once (or at the connect
//! timeout), and the caller's own backoff with jitter (the saga's) decides when to try again;
//! each use after a failed reconnect starts a new one. A drive then never holds a concurrency
//! permit for longer than one connect attempt while Redis is down.

use std::time::Duration;

use redis::AsyncConnectionConfig;
use redis::aio::ConnectionManagerConfig;

/// The timeouts and reconnect backoff of Redis connections. `Default` is what the settings
/// default to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisConfig {
    /// Each attempt to connect (TCP and the handshake) gives up after this.
    pub connect_timeout: Duration,
    /// A command without an answer after this fails (the connection stays; a later command may
    /// be answered).
    pub response_timeout: Duration,
    /// Reconnect attempts after the first fails, before the commands waiting for the connection
    /// fail (0: none, the caller retries). Each waits 1 s (the crate's fixed minimum) times 2 per
    /// attempt, capped at `reconnect_max_delay`, plus up to as much again of jitter.
    pub reconnect_retries: usize,
    pub reconnect_max_delay: Duration,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(5),
            reconnect_retries: 0,
            reconnect_max_delay: Duration::from_secs(2),
        }
    }
}

impl RedisConfig {
    /// For a `ConnectionManager` (`Client::get_connection_manager_with_config`).
    pub fn manager(&self) -> ConnectionManagerConfig {
        ConnectionManagerConfig::new()
            .set_connection_timeout(self.connect_timeout)
            .set_response_timeout(self.response_timeout)
            .set_number_of_retries(self.reconnect_retries)
            .set_factor(2)
            .set_max_delay(self.reconnect_max_delay.as_millis().max(1) as u64)
    }

    /// For a one-off connection (`Client::get_multiplexed_async_connection_with_config`), e.g.
    /// a readiness probe.
    pub fn connection(&self) -> AsyncConnectionConfig {
        AsyncConnectionConfig::new()
            .set_connection_timeout(self.connect_timeout)
            .set_response_timeout(self.response_timeout)
    }

    /// One `PING` over a fresh connection, within the timeouts: whether Redis answers.
    pub async fn ping(&self, client: &redis::Client) -> redis::RedisResult<()> {
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&self.connection())
            .await?;
        redis::cmd("PING").query_async::<()>(&mut conn).await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// A listener that accepts connections and never answers.
    async fn mute_listener() -> (tokio::net::TcpListener, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("redis://{}", listener.local_addr().unwrap());
        (listener, url)
    }

    #[tokio::test]
    async fn a_server_that_never_answers_fails_within_the_timeouts() {
        let (listener, url) = mute_listener().await;
        let accepted = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let config = RedisConfig {
            connect_timeout: Duration::from_millis(300),
            response_timeout: Duration::from_millis(300),
            reconnect_retries: 0,
            reconnect_max_delay: Duration::from_millis(100),
        };
        let client = redis::Client::open(url.as_str()).unwrap();
        let started = Instant::now();
        let error = config.ping(&client).await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert!(error.is_timeout() || error.is_io_error(), "{error:?}");
        let started = Instant::now();
        let error = client
            .get_connection_manager_with_config(config.manager())
            .await
            .err()
            .expect("no connection to a mute server");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert!(error.is_timeout() || error.is_io_error(), "{error:?}");
        accepted.abort();
    }
}
