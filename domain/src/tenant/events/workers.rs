//! Events of a tenant's job workers (`tenantry worker` processes). Defined now so the panel's
//! "active workers" and the event names are settled; the worker lifecycle comes later.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::TenantId;

/// A worker started consuming one of the tenant's queues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerStarted {
    pub tenant_id: TenantId,
    /// The worker's own id (its `worker-{uuid}` stream).
    pub worker_id: Uuid,
    pub queue: String,
    pub at: DateTime<Utc>,
}

/// A worker stopped (gracefully, or found dead by its missing heartbeat).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerStopped {
    pub tenant_id: TenantId,
    pub worker_id: Uuid,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}
