//! The service's shared Redis connection: one multiplexed, self-reconnecting `ConnectionManager`
//! with connect and response timeouts, opened on first use (so that starting does no IO, and a
//! Redis that is down at start is connected once it is up). `/readyz` pings through it, so it
//! reports Redis as the service's client sees it rather than as a fresh connection would.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

/// How long connecting, and waiting for one answer, may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// Cheap to clone: clones share the connection.
#[derive(Clone)]
pub struct SharedRedis {
    client: redis::Client,
    timeout: Duration,
    manager: Arc<OnceCell<ConnectionManager>>,
}

impl SharedRedis {
    /// Over `client`, connecting and answering within `timeout` (or failing).
    pub fn new(client: redis::Client, timeout: Duration) -> Self {
        Self {
            client,
            timeout,
            manager: Arc::new(OnceCell::new()),
        }
    }

    /// The client this connects with.
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// A handle on the shared connection, connecting it first if it is not yet.
    pub async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(self.timeout)
            .set_response_timeout(self.timeout)
            // One quick retry (after about 200 ms) per connection attempt, so that a Redis that
            // is down answers an error at once instead of after a long backoff; the next
            // command tries again.
            .set_factor(100)
            .set_exponent_base(2)
            .set_max_delay(1_000)
            .set_number_of_retries(1);
        self.manager
            .get_or_try_init(|| self.client.get_connection_manager_with_config(config))
            .await
            .cloned()
    }

    /// `PING` through the shared connection.
    pub async fn ping(&self) -> redis::RedisResult<()> {
        let mut conn = self.connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await?;
        Ok(())
    }
}
