//! The control plane's Redis connection for provisioning: a multiplexed, self-reconnecting
//! `ConnectionManager`, opened on first use so that building the provisioner does no IO.

use redis::aio::ConnectionManager;
use tenantry_application::provisioning::ProvisionError;
use tokio::sync::OnceCell;

use super::errors::OrFail;

pub(super) struct RedisHandle {
    client: redis::Client,
    manager: OnceCell<ConnectionManager>,
}

impl RedisHandle {
    pub(super) fn new(client: redis::Client) -> Self {
        Self {
            client,
            manager: OnceCell::new(),
        }
    }

    /// A handle on the shared connection (cheap to clone; commands are pipelined over it).
    pub(super) async fn connection(&self) -> Result<ConnectionManager, ProvisionError> {
        self.manager
            .get_or_try_init(|| self.client.get_connection_manager())
            .await
            .cloned()
            .or_fail(|| "failed to connect to Redis")
    }
}

impl RedisHandle {
    pub(super) fn client(&self) -> &redis::Client {
        &self.client
    }
}
