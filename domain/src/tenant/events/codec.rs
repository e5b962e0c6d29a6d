//! The event store's view of a [`TenantEvent`]: a type name, a schema version and a JSON payload,
//! kept apart in the envelope. The application layer stores [`TenantEvent::encode`]'s output and
//! hands what it reads (after upcasting) to [`TenantEvent::decode`].

use super::TenantEvent;

/// An event ready for the event store's envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedEvent {
    pub event_type: &'static str,
    pub schema_version: u32,
    /// The payload struct's JSON object, without an enum tag.
    pub payload: serde_json::Value,
}

/// A stored event could not be turned back into a [`TenantEvent`].
#[derive(Debug, thiserror::Error)]
pub enum EventDecodeError {
    #[error("unknown tenant event type {event_type:?}")]
    UnknownType { event_type: String },
    /// The stored version is not the current one: an upcaster is missing (or the event was written
    /// by a newer Tenantry).
    #[error("{event_type} has schema version {found}, but this build reads only version {current}")]
    UnsupportedVersion {
        event_type: String,
        found: u32,
        current: u32,
    },
    #[error("invalid {event_type} payload: {source}")]
    InvalidPayload {
        event_type: String,
        #[source]
        source: serde_json::Error,
    },
}

impl TenantEvent {
    /// Splits the event into what the envelope stores.
    pub fn encode(&self) -> EncodedEvent {
        EncodedEvent {
            event_type: self.event_type(),
            schema_version: self.schema_version(),
            // Payloads are plain structs of strings, numbers, UUIDs and timestamps (no maps with
            // non-string keys, no failing `Serialize` impls): turning one into a `Value` cannot fail.
            payload: self
                .payload()
                .expect("tenant event payloads always serialize to JSON"),
        }
    }

    /// Rebuilds an event from its stored type and payload (already upcast to the current version).
    pub fn decode(event_type: &str, payload: serde_json::Value) -> Result<Self, EventDecodeError> {
        Self::from_payload(event_type, payload)
            .ok_or_else(|| EventDecodeError::UnknownType {
                event_type: event_type.to_owned(),
            })?
            .map_err(|source| EventDecodeError::InvalidPayload {
                event_type: event_type.to_owned(),
                source,
            })
    }

    /// Like [`TenantEvent::decode`], but first checks that `schema_version` is the current one, so
    /// that a missing upcaster fails loudly instead of misreading an old payload.
    pub fn decode_versioned(
        event_type: &str,
        schema_version: u32,
        payload: serde_json::Value,
    ) -> Result<Self, EventDecodeError> {
        let current =
            Self::schema_version_of(event_type).ok_or_else(|| EventDecodeError::UnknownType {
                event_type: event_type.to_owned(),
            })?;
        if schema_version != current {
            return Err(EventDecodeError::UnsupportedVersion {
                event_type: event_type.to_owned(),
                found: schema_version,
                current,
            });
        }
        Self::decode(event_type, payload)
    }
}
