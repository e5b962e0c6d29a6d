//! The control plane's Redis connection for provisioning: a multiplexed, self-reconnecting
//! `ConnectionManager` with the timeouts and reconnect backoff of [`RedisConfig`], opened on
//! first use so that building the provisioner does no IO.
//!
//! A `ConnectionManager` learns that its connection died only from a command that fails on it,
//! and a command that finds a failed reconnect fails too (while it starts the next one). So each
//! checkout sends a `PING`, and after a failure one more: a Redis that came back is used at the
//! first try after it did, not one try later.

use redis::aio::ConnectionManager;
use tenantry_application::provisioning::ProvisionError;
use tokio::sync::OnceCell;

use super::errors::OrFail;
use crate::redis_config::RedisConfig;

pub(super) struct RedisHandle {
    client: redis::Client,
    config: RedisConfig,
    manager: OnceCell<ConnectionManager>,
}

impl RedisHandle {
    pub(super) fn new(client: redis::Client, config: RedisConfig) -> Self {
        Self {
            client,
            config,
            manager: OnceCell::new(),
        }
    }

    /// A handle on the shared connection (cheap to clone; commands are pipelined over it), once
    /// Redis answered a `PING` on it.
    pub(super) async fn connection(&self) -> Result<ConnectionManager, ProvisionError> {
        let mut manager = self
            .manager
            .get_or_try_init(|| {
                self.client
                    .get_connection_manager_with_config(self.config.manager())
            })
            .await
            .cloned()
            .or_fail(|| "failed to connect to Redis")?;
        if ping(&mut manager).await.is_err() {
            // The first failure makes the manager reconnect; this waits for that.
            ping(&mut manager)
                .await
                .or_fail(|| "Redis did not answer")?;
        }
        Ok(manager)
    }

    /// A handle with no connection yet, to the same server with the same settings.
    pub(super) fn fresh(&self) -> Self {
        Self::new(self.client.clone(), self.config)
    }

    pub(super) fn client(&self) -> &redis::Client {
        &self.client
    }
}

async fn ping(conn: &mut ConnectionManager) -> redis::RedisResult<()> {
    redis::cmd("PING").query_async::<()>(conn).await
}
