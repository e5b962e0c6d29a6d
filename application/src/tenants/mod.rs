//! The tenant command handlers: each loads the Tenant aggregate from its stream, lets the domain
//! decide, and appends the decided events with the expected version, retrying a bounded number of
//! times when another writer got there first. Callers (the HTTP API, the CLI, the sagas) pass raw
//! input; the handlers parse it into the domain's value objects, so every caller gets the same
//! answers to bad input.

mod context;
mod create;
mod error;
mod execute;
mod lifecycle;
mod slugs;
mod stream;

pub use context::CommandContext;
pub use create::CreateTenantInput;
pub use error::{CommandError, InvalidInput};
pub use stream::{Loaded, encode};

use std::sync::Arc;

use tenantry_domain::{PlanCatalog, ReservedSubdomains, TenantId, TenantStatus};

use crate::clock::Clock;
use crate::event_store::EventStore;
use crate::sagas::SagaHints;

/// How often a command is decided again after a concurrent append to the same stream.
const MAX_ATTEMPTS: usize = 5;

/// What a command left behind: the tenant's stream version and the global position of its last
/// event (what `min_position` waits for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    pub tenant_id: TenantId,
    pub slug: String,
    pub status: TenantStatus,
    pub version: u64,
    pub position: u64,
}

/// The tenant command handlers and what they need.
#[derive(Clone)]
pub struct TenantService {
    store: Arc<dyn EventStore>,
    clock: Arc<dyn Clock>,
    catalog: PlanCatalog,
    reserved: ReservedSubdomains,
    /// Told of the tenants that commands gave saga work to, when this process runs the saga.
    saga_hints: Option<SagaHints>,
}

impl TenantService {
    pub fn new(
        store: Arc<dyn EventStore>,
        clock: Arc<dyn Clock>,
        catalog: PlanCatalog,
        reserved: ReservedSubdomains,
    ) -> Self {
        Self {
            store,
            clock,
            catalog,
            reserved,
            saga_hints: None,
        }
    }

    /// Tells `hints` of every tenant that a command gives saga work to (creation, provisioning,
    /// deletion), once the command's events are stored.
    pub fn with_saga_hints(mut self, hints: SagaHints) -> Self {
        self.saga_hints = Some(hints);
        self
    }

    fn hint_saga(&self, tenant: TenantId) {
        if let Some(hints) = &self.saga_hints {
            hints.wanted(tenant);
        }
    }

    pub fn catalog(&self) -> &PlanCatalog {
        &self.catalog
    }
}
