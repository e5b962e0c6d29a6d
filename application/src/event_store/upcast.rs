//! Upcasting: events stored with an older `schema_version` are brought to the current shape on
//! read, so the domain only ever sees the newest version of each event type.

use std::collections::HashMap;
use std::sync::Arc;

use super::RecordedEvent;

/// One step: turns the payload of `(event_type, v)` into the payload of `(event_type, v + 1)`.
type Step = Arc<dyn Fn(serde_json::Value) -> Result<serde_json::Value, String> + Send + Sync>;

/// A stored event could not be upcast.
#[derive(Debug, thiserror::Error)]
#[error("cannot upcast {event_type} (position {position}) from schema version {from}: {reason}")]
pub struct UpcastError {
    pub event_type: String,
    pub position: u64,
    pub from: u32,
    pub reason: String,
}

/// The registered upcasters, keyed by event type and the schema version they start from. Both
/// event store adapters run every event they read through [`Upcasters::upcast`].
#[derive(Clone, Default)]
pub struct Upcasters {
    steps: HashMap<String, HashMap<u32, Step>>,
}

impl std::fmt::Debug for Upcasters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = self
            .steps
            .iter()
            .flat_map(|(t, by_version)| by_version.keys().map(move |v| (t, v)));
        f.debug_set().entries(keys).finish()
    }
}

impl Upcasters {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the step from `from_version` to `from_version + 1` of `event_type`. Steps chain:
    /// an event at version 1 passes through 1→2, then 2→3, … while a next step is registered.
    pub fn register(
        mut self,
        event_type: &str,
        from_version: u32,
        step: impl Fn(serde_json::Value) -> Result<serde_json::Value, String> + Send + Sync + 'static,
    ) -> Self {
        self.steps
            .entry(event_type.to_owned())
            .or_default()
            .insert(from_version, Arc::new(step));
        self
    }

    /// Brings `event` to the newest schema version that has a registered path.
    pub fn upcast(&self, mut event: RecordedEvent) -> Result<RecordedEvent, UpcastError> {
        let Some(by_version) = self.steps.get(&event.event_type) else {
            return Ok(event);
        };
        while let Some(step) = by_version.get(&event.schema_version) {
            let payload = std::mem::take(&mut event.payload);
            event.payload = step(payload).map_err(|reason| UpcastError {
                event_type: event.event_type.clone(),
                position: event.position,
                from: event.schema_version,
                reason,
            })?;
            event.schema_version += 1;
        }
        Ok(event)
    }
}
