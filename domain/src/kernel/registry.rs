//! The registry of every event type Tenantry writes, across all aggregates: what readers (the
//! projectors, the sagas) may name. A reader that filters on a name outside it would never see an
//! event, so tests check every reader's names against [`all_event_types`].

use super::DomainEvent;
use crate::TenantEvent;
use crate::invitation::InvitationEvent;
use crate::slug_claim::SlugClaimEvent;
use crate::staff::StaffEvent;

/// Every registered event type name, of every aggregate.
pub fn all_event_types() -> impl Iterator<Item = &'static str> {
    [
        TenantEvent::EVENT_TYPES,
        SlugClaimEvent::EVENT_TYPES,
        StaffEvent::EVENT_TYPES,
        InvitationEvent::EVENT_TYPES,
    ]
    .into_iter()
    .flatten()
    .copied()
}

/// Whether `event_type` is the name of a registered event type.
pub fn is_registered(event_type: &str) -> bool {
    all_event_types().any(|name| name == event_type)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn no_two_aggregates_share_an_event_name() {
        let mut seen = HashSet::new();
        for name in all_event_types() {
            assert!(seen.insert(name), "{name} is registered twice");
        }
        assert!(is_registered("TenantCreated") && is_registered("SlugClaimed"));
        assert!(!is_registered("TenantCreatd"));
    }
}
