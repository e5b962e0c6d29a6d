//! Provisioning steps (`read.provisioning_steps`): one row per tenant and step of its current (or
//! last) provisioning attempt: status, tries, last error, start and finish, next retry. The
//! provisioning saga reads its state here; the tenant view shows it as `provisioning.steps`.
//!
//! A [`Fold`] of the provisioning events over a tenant's rows; most events change one of its
//! four or so, and only that one is written back.

mod fold;

use tenantry_application::event_store::RecordedEvent;
use tenantry_domain::TenantEvent;

use self::fold::StepRow;
use super::folding::Fold;

pub struct ProvisioningSteps;

impl ProvisioningSteps {
    pub const NAME: &'static str = "provisioning_steps";
}

impl Fold for ProvisioningSteps {
    const NAME: &'static str = ProvisioningSteps::NAME;
    const EVENT_TYPES: &'static [&'static str] = fold::EVENT_TYPES;
    type Row = StepRow;

    fn apply(rows: &mut Vec<StepRow>, _envelope: &RecordedEvent, event: &TenantEvent) {
        fold::apply(rows, event);
    }

    /// By ordinal, the order the steps run in.
    fn arrange(rows: &mut [StepRow]) {
        rows.sort_unstable_by_key(|r| r.ordinal);
    }
}
