//! Events of the provisioning saga's progress: a run requested, a step failing and being retried,
//! the run completing, or giving up and rolling back what it made.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{IsolationModel, ProvisionedResource, ProvisioningStep, TenantId};

/// A provisioning run (an *attempt*) starts: the first one, or an operator's retry of a `failed`
/// tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisioningRequested {
    pub tenant_id: TenantId,
    /// 1 for the first run, then one more for each retry.
    pub attempt: u32,
    pub isolation: IsolationModel,
    /// The steps this run will take, in order. Recorded rather than recomputed, so a saga resumed
    /// after an upgrade finishes the run it started.
    pub steps: Vec<ProvisioningStep>,
    pub at: DateTime<Utc>,
}

/// One try of a step failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisioningStepFailed {
    pub tenant_id: TenantId,
    pub attempt: u32,
    pub step: ProvisioningStep,
    /// Which try of this step, within this attempt, failed: 1, 2, … A transient failure does not
    /// spend its try: it carries the number of the try that counts next, and the next failure
    /// that counts carries the same number.
    pub step_attempt: u32,
    /// What went wrong, for the operator. Never a secret.
    pub error: String,
    /// An infrastructure failure (a dependency down, unreachable or not answering: connection
    /// refused or reset, a timeout, Redis still loading) that did **not** count against the
    /// step's tries: the saga waits and tries again. Added in 0.2.0; absent in older events
    /// (and left out when false), which read as `false`: every failure counted then.
    #[serde(default, skip_serializing_if = "is_false")]
    pub transient: bool,
    pub at: DateTime<Utc>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// A failed step will be tried again at `retry_at`. Stored so that a restarted saga keeps the
/// schedule instead of retrying at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisioningRetryScheduled {
    pub tenant_id: TenantId,
    pub attempt: u32,
    pub step: ProvisioningStep,
    /// The try that will run at `retry_at`: 2 after the first failure, and so on. Transient
    /// failures spend no try: after them it is the number of the try they failed.
    pub step_attempt: u32,
    pub retry_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// Every step succeeded; the tenant is `active`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisioningCompleted {
    pub tenant_id: TenantId,
    pub attempt: u32,
    pub at: DateTime<Utc>,
}

/// The saga gave up on this attempt; the tenant is `rolling_back` while the steps that succeeded
/// are released in reverse order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisioningRollbackStarted {
    pub tenant_id: TenantId,
    pub attempt: u32,
    /// The step that was running when the saga gave up, if one was.
    pub failed_step: Option<ProvisioningStep>,
    /// Why the saga gave up, e.g. "step schema failed 5 times: connection refused".
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// Something a step made was released, by a rollback or by the deletion saga.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceReleased {
    pub tenant_id: TenantId,
    /// What was released, as its step recorded it.
    pub resource: ProvisionedResource,
    pub at: DateTime<Utc>,
}

impl ResourceReleased {
    pub fn step(&self) -> ProvisioningStep {
        self.resource.step()
    }
}

/// The rollback released everything; the tenant is `failed`, with nothing left behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisioningRolledBack {
    pub tenant_id: TenantId,
    pub attempt: u32,
    pub at: DateTime<Utc>,
}
