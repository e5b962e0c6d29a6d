//! A shared Redis connection: one multiplexed, self-reconnecting `ConnectionManager` with the
//! timeouts and reconnect backoff of a [`RedisConfig`], opened on first use (so that building it
//! does no IO, and a Redis that is down at start is connected once it is up). The provisioner
//! uses one; the service's `/readyz` pings through the same one, so it reports Redis as the saga
//! sees it rather than as a fresh connection would.
//!
//! A `ConnectionManager` learns that its connection died only from a command that fails on it,
//! and a command that finds a failed reconnect fails too (while it starts the next one). So each
//! checkout sends a `PING`, and after a failure one more: a Redis that came back is used at the
//! first try after it did, not one try later.

use std::sync::Arc;

use redis::aio::ConnectionManager;
use tokio::sync::OnceCell;

use crate::redis_config::RedisConfig;

/// Cheap to clone: clones share the connection.
#[derive(Clone)]
pub struct SharedRedis {
    client: redis::Client,
    config: RedisConfig,
    manager: Arc<OnceCell<ConnectionManager>>,
}

impl SharedRedis {
    /// Over `client`, with `config`'s timeouts and reconnect backoff.
    pub fn new(client: redis::Client, config: RedisConfig) -> Self {
        Self {
            client,
            config,
            manager: Arc::new(OnceCell::new()),
        }
    }

    /// The client this connects with.
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// Another shared connection (not yet open) to the same server with the same settings.
    pub fn fresh(&self) -> Self {
        Self::new(self.client.clone(), self.config)
    }

    /// A handle on the shared connection (cheap to clone; commands are pipelined over it), once
    /// Redis answered a `PING` on it; connects first if it is not yet.
    pub async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        let mut manager = self
            .manager
            .get_or_try_init(|| {
                self.client
                    .get_connection_manager_with_config(self.config.manager())
            })
            .await
            .cloned()?;
        if ping(&mut manager).await.is_err() {
            // The first failure makes the manager reconnect; this waits for that.
            ping(&mut manager).await?;
        }
        Ok(manager)
    }

    /// `PING` through the shared connection.
    pub async fn ping(&self) -> redis::RedisResult<()> {
        self.connection().await.map(|_| ())
    }
}

async fn ping(conn: &mut ConnectionManager) -> redis::RedisResult<()> {
    redis::cmd("PING").query_async::<()>(conn).await
}
