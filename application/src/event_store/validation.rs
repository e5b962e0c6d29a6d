//! What makes an append well-formed, checked once for every adapter: the port's contract says
//! which appends are malformed ([`EventStoreError::InvalidAppend`]), so the rules live here and
//! each adapter calls [`validate_append`] before it writes, instead of keeping its own copy that
//! could drift from the others.
//!
//! Besides the obvious (a stream, at least one event, no event id twice), the rules keep every
//! append storable in every adapter: names starting with `$` are KurrentDB's own (a `$` event type
//! is left out of `$all`, so readers would never see it), and schema versions fit PostgreSQL's
//! `integer` column.

use std::collections::HashSet;

use super::{EventStoreError, NewEvent};

/// Checks an append before it is written; `Err(InvalidAppend)` says what is wrong.
pub fn validate_append(stream_id: &str, events: &[NewEvent]) -> Result<(), EventStoreError> {
    let invalid = |why: String| Err(EventStoreError::InvalidAppend(why));
    if stream_id.is_empty() {
        return invalid("the stream id is empty".into());
    }
    if stream_id.starts_with('$') {
        return invalid(format!(
            "stream id {stream_id} starts with `$`, which is reserved for the store's own streams"
        ));
    }
    if events.is_empty() {
        return invalid(format!(
            "there are no events to append to stream {stream_id}"
        ));
    }
    let mut ids = HashSet::with_capacity(events.len());
    for e in events {
        if !ids.insert(e.event_id) {
            return invalid(format!(
                "event id {} is given twice in one append to stream {stream_id}",
                e.event_id
            ));
        }
        if e.event_type.is_empty() {
            return invalid(format!("event {} has an empty event type", e.event_id));
        }
        if e.event_type.starts_with('$') {
            return invalid(format!(
                "event {} has type {}: types starting with `$` are reserved for the store's own \
                 events",
                e.event_id, e.event_type
            ));
        }
        if e.schema_version == 0 || e.schema_version > i32::MAX as u32 {
            return invalid(format!(
                "event {} has schema version {} (1 to {} allowed)",
                e.event_id,
                e.schema_version,
                i32::MAX
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_store::EventMetadata;

    fn event() -> NewEvent {
        NewEvent::new(
            "Happened",
            1,
            serde_json::json!({}),
            EventMetadata::system(),
        )
    }

    fn refused(stream_id: &str, events: &[NewEvent]) -> String {
        match validate_append(stream_id, events) {
            Err(EventStoreError::InvalidAppend(why)) => why,
            other => panic!("expected InvalidAppend, got {other:?}"),
        }
    }

    #[test]
    fn a_well_formed_append_passes() {
        validate_append("tenant-1", &[event(), event()]).expect("valid");
    }

    #[test]
    fn malformed_appends_are_refused_saying_why() {
        assert!(refused("", &[event()]).contains("stream id is empty"));
        assert!(refused("$all", &[event()]).contains("reserved"));
        assert!(refused("s", &[]).contains("no events"));
        let e = event();
        assert!(refused("s", &[e.clone(), e.clone()]).contains("given twice"));
        let mut untyped = event();
        untyped.event_type.clear();
        assert!(refused("s", &[untyped]).contains("empty event type"));
        let mut system = event();
        system.event_type = "$metadata".into();
        assert!(refused("s", &[system]).contains("reserved"));
        for version in [0, i32::MAX as u32 + 1] {
            let mut e = event();
            e.schema_version = version;
            assert!(refused("s", &[e]).contains("schema version"));
        }
    }
}
