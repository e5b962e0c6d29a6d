//! The tenant panel (`read.tenant_panel`): one row per tenant with everything the admin panel's
//! tenant table shows. A [`Fold`] of every tenant event; see [`row`] for how each changes a row.

mod row;

use tenantry_application::event_store::RecordedEvent;
use tenantry_domain::{DomainEvent, TenantEvent};

use self::row::PanelRow;
use super::folding::Fold;

pub struct TenantPanel;

impl TenantPanel {
    pub const NAME: &'static str = "tenant_panel";
}

impl Fold for TenantPanel {
    const NAME: &'static str = TenantPanel::NAME;
    const EVENT_TYPES: &'static [&'static str] = TenantEvent::EVENT_TYPES;
    type Row = PanelRow;

    /// A tenant's group is its row, once its `TenantCreated` has made one.
    fn apply(rows: &mut Vec<PanelRow>, envelope: &RecordedEvent, event: &TenantEvent) {
        match rows.first_mut() {
            Some(row) => row.apply(envelope, event),
            None => rows.extend(PanelRow::create(envelope, event)),
        }
    }
}
