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

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tenantry_domain::slug_claim::SlugClaim;
use tenantry_domain::{
    HookName, PlanCatalog, ReservedSubdomains, Tenant, TenantCommand, TenantId, TenantState,
    TenantStatus,
};

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
    /// Each plan's hook steps, in order (plans without hooks are absent).
    plan_hooks: Arc<BTreeMap<String, Vec<HookName>>>,
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
            plan_hooks: Arc::default(),
        }
    }

    /// The same service giving a new provisioning attempt of a tenant on plan `P` the hook steps
    /// `plan_hooks[P]`, after the built-in steps, in that order.
    pub fn with_plan_hooks(mut self, plan_hooks: BTreeMap<String, Vec<HookName>>) -> Self {
        self.plan_hooks = Arc::new(plan_hooks);
        self
    }

    /// The command that starts (or retries) provisioning `tenant`: with its plan's hooks, if any.
    pub fn provisioning_command(&self, tenant: &Tenant, at: DateTime<Utc>) -> TenantCommand {
        match self.plan_hooks.get(tenant.plan.as_str()) {
            Some(hooks) if !hooks.is_empty() => TenantCommand::RequestProvisioningWithHooks {
                hooks: hooks.clone(),
                at,
            },
            _ => TenantCommand::RequestProvisioning { at },
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

    /// The tenant as it was at stream version `version`: its first `version` events folded by
    /// the domain ("time travel", the admin panel's "state at this point"). `loaded.version` is
    /// the stream's length when it is shorter than `version`.
    pub async fn state_at(
        &self,
        tenant: TenantId,
        version: u64,
    ) -> anyhow::Result<Loaded<TenantState>> {
        self.tenants.load_until(&tenant, version).await
    }
}
