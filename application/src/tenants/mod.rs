//! The tenant command handlers: each parses raw input into the domain's value objects and runs the
//! Tenant aggregate's commands through the kernel's [`Repository`] (load, decide, append with the
//! expected version, decide again when another writer got there first). Callers (the HTTP API, the
//! CLI, the sagas) pass raw input, so every caller gets the same answers to bad input.

mod create;
mod error;
mod execute;
mod lifecycle;
mod slugs;

pub use crate::kernel::CommandContext;
pub use create::CreateTenantInput;
pub use error::{CommandError, InvalidInput};

use std::sync::Arc;

use tenantry_domain::slug_claim::SlugClaim;
use tenantry_domain::{PlanCatalog, ReservedSubdomains, TenantId, TenantState, TenantStatus};

use crate::clock::Clock;
use crate::event_store::EventStore;
use crate::kernel::{AppendObserver, Loaded, Repository};

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
    tenants: Repository<TenantState>,
    claims: Repository<SlugClaim>,
    clock: Arc<dyn Clock>,
    catalog: PlanCatalog,
    reserved: ReservedSubdomains,
}

impl TenantService {
    pub fn new(
        store: Arc<dyn EventStore>,
        clock: Arc<dyn Clock>,
        catalog: PlanCatalog,
        reserved: ReservedSubdomains,
    ) -> Self {
        Self {
            tenants: Repository::new(store.clone()),
            claims: Repository::new(store),
            clock,
            catalog,
            reserved,
        }
    }

    /// Tells `observer` of every append to a tenant's stream, once it is stored (the saga runner
    /// of this process hears of new work that way).
    pub fn observed_by(mut self, observer: Arc<dyn AppendObserver>) -> Self {
        self.tenants = self.tenants.observed_by(observer);
        self
    }

    pub fn catalog(&self) -> &PlanCatalog {
        &self.catalog
    }

    /// The reserved subdomains, which no slug may be (the admin panel checks a slug as one types).
    pub fn reserved(&self) -> &ReservedSubdomains {
        &self.reserved
    }

    /// The tenant's state now, folded from its stream (empty when there is no such tenant).
    pub async fn state(&self, tenant: TenantId) -> anyhow::Result<TenantState> {
        Ok(self.load(tenant).await?.state)
    }

    /// The tenant now, with its stream's version, last position and last event.
    pub async fn load(&self, tenant: TenantId) -> anyhow::Result<Loaded<TenantState>> {
        self.tenants.load(&tenant).await
    }
}
