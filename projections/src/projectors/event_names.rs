//! The event types readers filter on, named by type rather than by string.
//!
//! A projector's [`EventTypes::Only`](crate::EventTypes::Only) list decides which events it is
//! fed. Written as string literals, a renamed event would silently stop reaching it; written with
//! [`event_types!`] from the payload types, it follows the rename or fails to compile. And
//! [`registered_event_types`] is the one list of every name an aggregate's registry declares,
//! which a test holds every projector's list to.

use tenantry_domain::kernel::registry;

/// The names of the listed payload types (their `EventPayload::EVENT_TYPE`), as a constant
/// `&[&str]`: `event_types![TenantCreated, TenantDeleted]`.
macro_rules! event_types {
    ($($payload:ty),+ $(,)?) => {
        &[$(<$payload as tenantry_domain::events::EventPayload>::EVENT_TYPE),+]
    };
}

pub(crate) use event_types;

/// Every event type that an aggregate's event registry declares: the only names a reader may ask
/// for (the domain's [`registry::all_event_types`], which knows every aggregate).
pub fn registered_event_types() -> Vec<&'static str> {
    registry::all_event_types().collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use tenantry_domain::events::{TenantCreated, TenantDeleted};

    use super::*;
    use crate::{EventTypes, default_projectors};

    /// The names in `types` that no registry declares.
    fn unregistered<'a>(types: &[&'a str]) -> Vec<&'a str> {
        let known = registered_event_types();
        types
            .iter()
            .copied()
            .filter(|t| !known.contains(t))
            .collect()
    }

    #[test]
    fn every_event_type_a_projector_takes_is_registered_and_named_once() {
        for projector in default_projectors() {
            let EventTypes::Only(types) = projector.event_types() else {
                continue;
            };
            assert_eq!(
                unregistered(types),
                Vec::<&str>::new(),
                "{} takes event types no registry declares",
                projector.name()
            );
            let distinct: HashSet<_> = types.iter().collect();
            assert_eq!(distinct.len(), types.len(), "{}", projector.name());
        }
    }

    #[test]
    fn a_name_no_registry_declares_is_caught() {
        assert_eq!(
            unregistered(&["TenantCreated", "TenantCreate", "tenant_deleted"]),
            ["TenantCreate", "tenant_deleted"]
        );
    }

    #[test]
    fn the_typed_names_are_the_stored_names() {
        const TYPES: &[&str] = event_types![TenantCreated, TenantDeleted];
        assert_eq!(TYPES, ["TenantCreated", "TenantDeleted"]);
    }
}
