//! The event store's view of an event: a type name, a schema version and a JSON payload, kept
//! apart in the envelope; and what goes wrong turning events into that and back.

/// An event ready for the event store's envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedEvent {
    pub event_type: &'static str,
    pub schema_version: u32,
    /// The payload struct's JSON object, without an enum tag.
    pub payload: serde_json::Value,
}

impl EncodedEvent {
    #[doc(hidden)]
    pub fn new(
        event_type: &'static str,
        schema_version: u32,
        payload: Result<serde_json::Value, serde_json::Error>,
    ) -> Result<Self, EventEncodeError> {
        payload
            .map(|payload| Self {
                event_type,
                schema_version,
                payload,
            })
            .map_err(|source| EventEncodeError { event_type, source })
    }
}

/// An event could not be turned into JSON (a payload type with a failing `Serialize`).
#[derive(Debug, thiserror::Error)]
#[error("failed to encode {event_type}: {source}")]
pub struct EventEncodeError {
    pub event_type: &'static str,
    #[source]
    pub source: serde_json::Error,
}

/// A stored event could not be turned back into a domain event.
#[derive(Debug, thiserror::Error)]
pub enum EventDecodeError {
    #[error("unknown event type {event_type:?}")]
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

impl EventDecodeError {
    /// The decoded event, or why it is not: a version other than `current` is refused before the
    /// payload is looked at, so that a missing upcaster fails loudly instead of misreading.
    #[doc(hidden)]
    pub fn check<E>(
        event_type: &str,
        found: u32,
        current: u32,
        decoded: Result<E, serde_json::Error>,
    ) -> Result<E, Self> {
        if found != current {
            return Err(Self::UnsupportedVersion {
                event_type: event_type.to_owned(),
                found,
                current,
            });
        }
        decoded.map_err(|source| Self::InvalidPayload {
            event_type: event_type.to_owned(),
            source,
        })
    }
}
