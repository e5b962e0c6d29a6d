//! The hook port: an operator's own provisioning steps ([`ProvisioningStep::Hook`]), declared per
//! plan and called after the built-in steps. The saga runs them with the same retry, rollback and
//! deletion rules as the built-in steps; the adapter (`infrastructure::hooks`, HTTP) decides how
//! to call them and sorts their failures into the kinds of [`ProvisionError`].
//!
//! [`ProvisioningStep::Hook`]: tenantry_domain::ProvisioningStep::Hook

use async_trait::async_trait;
use serde::Serialize;
use tenantry_domain::HookName;

use super::ProvisionError;

/// What a hook is told about the tenant: nothing secret (no password, no secret reference).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookTenant {
    pub id: uuid::Uuid,
    pub slug: String,
    pub name: String,
    pub plan: String,
    pub isolation: String,
    /// The names of its infrastructure (schema or database, role, Redis namespace and user,
    /// queue), from `TenantNames`.
    pub infrastructure: serde_json::Value,
}

/// Whether the hook is asked to make its resource or to remove it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HookAction {
    Apply,
    Release,
}

impl HookAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Apply => "apply",
            Self::Release => "release",
        }
    }
}

/// One call of one hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookCall {
    pub hook: HookName,
    pub action: HookAction,
    pub tenant: HookTenant,
    /// Which try of this action this is, from 1 (per provisioning attempt for `apply`; per run of
    /// a rollback or deletion for `release`).
    pub attempt: u32,
    /// The tenant's provisioning attempt the hook belongs to (1, 2, … one per request): part of
    /// the idempotency key, so that a retried provisioning after a rollback applies afresh.
    pub provisioning_attempt: u32,
}

/// Calls hooks. Held as `Arc<dyn StepHooks>`.
#[async_trait]
pub trait StepHooks: Send + Sync {
    /// Applies the hook; its outputs (a JSON value, `null` for none) on success. Must be
    /// idempotent on the hook's side: the same tenant, hook and action carry the same
    /// idempotency key on every try.
    async fn apply(&self, call: &HookCall) -> Result<serde_json::Value, ProvisionError>;

    /// Releases what the hook made. Releasing what was never made must succeed on the hook's side.
    async fn release(&self, call: &HookCall) -> Result<(), ProvisionError>;
}
