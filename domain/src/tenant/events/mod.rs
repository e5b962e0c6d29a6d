//! The tenant's events: the facts its history is made of, and the only thing the event store keeps.
//!
//! Every event type is a struct of its own ([`TenantCreated`], [`SchemaProvisioned`], …), so a
//! projector can take exactly the one it handles; [`TenantEvent`] is the union of them, which the
//! aggregate decides and applies. Each type has a name (`event_type`, the variant's name) and a
//! schema version, which go into the stored envelope; the payload is the struct's JSON, without any
//! enum tag (see [`TenantEvent::encode`] and [`TenantEvent::decode`]).
//!
//! Every payload carries the tenant's id and `at`, the time the fact happened by the caller's
//! clock (the envelope's `recorded_at` is the store's).

mod codec;
mod domains;
mod lifecycle;
mod provisioning;
mod resources;
mod workers;

pub use codec::{EncodedEvent, EventDecodeError};
pub use domains::{CertificateIssued, DomainActivated, DomainRegistered};
pub use lifecycle::{
    PlanChanged, TenantCreated, TenantDeleted, TenantDeletionRequested, TenantReactivated,
    TenantRenamed, TenantSuspended,
};
pub use provisioning::{
    ProvisioningCompleted, ProvisioningRequested, ProvisioningRetryScheduled,
    ProvisioningRollbackStarted, ProvisioningRolledBack, ProvisioningStepFailed, ResourceReleased,
};
pub use resources::{
    DatabaseProvisioned, QueueProvisioned, RedisNamespaceProvisioned, SchemaProvisioned,
    SharedTenantRegistered, TenantMigrationsApplied,
};
pub use workers::{WorkerStarted, WorkerStopped};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::TenantId;

/// What every event payload type declares about itself.
pub trait EventPayload {
    /// The `event_type` stored in the envelope: the type's name, e.g. `"TenantCreated"`.
    const EVENT_TYPE: &'static str;
    /// The version of the payload's shape. Bump it when the shape changes, and register an
    /// upcaster from the previous version so stored events still read.
    const SCHEMA_VERSION: u32;
}

/// Declares [`TenantEvent`] from a list of `PayloadType = schema_version`: the enum (one variant
/// per payload type, named like it), the `From` conversions, and the per-type lookups. One list, so
/// a new event cannot be half-registered.
macro_rules! tenant_events {
    ($($(#[doc = $doc:literal])* $name:ident = $version:literal,)+) => {
        /// Any event of the tenant aggregate. Its own serde form is
        /// `{"event_type": "TenantCreated", "payload": {…}}`, handy for SSE and tests; the event
        /// store keeps type and payload apart (see [`TenantEvent::encode`]).
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "event_type", content = "payload")]
        pub enum TenantEvent {
            $($(#[doc = $doc])* $name($name),)+
        }

        $(
            impl EventPayload for $name {
                const EVENT_TYPE: &'static str = stringify!($name);
                const SCHEMA_VERSION: u32 = $version;
            }

            impl From<$name> for TenantEvent {
                fn from(event: $name) -> Self {
                    Self::$name(event)
                }
            }
        )+

        impl TenantEvent {
            /// Every event type's name, in declaration order.
            pub const EVENT_TYPES: &'static [&'static str] = &[$(stringify!($name)),+];

            /// The variant's name, e.g. `"TenantCreated"`.
            pub fn event_type(&self) -> &'static str {
                match self {
                    $(Self::$name(_) => <$name as EventPayload>::EVENT_TYPE,)+
                }
            }

            /// The current schema version of this event's type.
            pub fn schema_version(&self) -> u32 {
                match self {
                    $(Self::$name(_) => <$name as EventPayload>::SCHEMA_VERSION,)+
                }
            }

            /// The current schema version of the type named `event_type`, if it is one of ours.
            pub fn schema_version_of(event_type: &str) -> Option<u32> {
                match event_type {
                    $(stringify!($name) => Some(<$name as EventPayload>::SCHEMA_VERSION),)+
                    _ => None,
                }
            }

            pub fn tenant_id(&self) -> TenantId {
                match self {
                    $(Self::$name(event) => event.tenant_id,)+
                }
            }

            /// When the fact happened, by the clock of whoever caused it.
            pub fn at(&self) -> DateTime<Utc> {
                match self {
                    $(Self::$name(event) => event.at,)+
                }
            }

            fn payload(&self) -> Result<serde_json::Value, serde_json::Error> {
                match self {
                    $(Self::$name(event) => serde_json::to_value(event),)+
                }
            }

            /// `None` when `event_type` is not one of ours.
            fn from_payload(
                event_type: &str,
                payload: serde_json::Value,
            ) -> Option<Result<Self, serde_json::Error>> {
                match event_type {
                    $(stringify!($name) => Some(serde_json::from_value(payload).map(Self::$name)),)+
                    _ => None,
                }
            }
        }
    };
}

tenant_events! {
    TenantCreated = 1,
    ProvisioningRequested = 1,
    SharedTenantRegistered = 1,
    SchemaProvisioned = 1,
    DatabaseProvisioned = 1,
    TenantMigrationsApplied = 1,
    RedisNamespaceProvisioned = 1,
    QueueProvisioned = 1,
    DomainRegistered = 1,
    DomainActivated = 1,
    CertificateIssued = 1,
    WorkerStarted = 1,
    WorkerStopped = 1,
    ProvisioningStepFailed = 1,
    ProvisioningRetryScheduled = 1,
    ProvisioningCompleted = 1,
    ProvisioningRollbackStarted = 1,
    ResourceReleased = 1,
    ProvisioningRolledBack = 1,
    TenantRenamed = 1,
    PlanChanged = 1,
    TenantSuspended = 1,
    TenantReactivated = 1,
    TenantDeletionRequested = 1,
    TenantDeleted = 1,
}
