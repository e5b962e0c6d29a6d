//! Who did what, and why: the metadata every stored event carries besides its payload.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Who caused an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// A platform operator, through the control-plane API or CLI.
    Staff { id: Uuid, email: String },
    /// A member of a tenant, through the tenant portal.
    TenantUser { id: Uuid },
    /// A process manager (saga) acting on events, e.g. `provisioning`.
    Saga { name: String },
    /// One of the application's services, with a service token (`tenantry service-token`): the
    /// token's id and name.
    Service { id: Uuid, name: String },
    /// Tenantry itself (migrations, maintenance, tests).
    System,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Staff { email, .. } => write!(f, "staff:{email}"),
            Self::TenantUser { id } => write!(f, "user:{id}"),
            Self::Saga { name } => write!(f, "saga:{name}"),
            Self::Service { id, .. } => write!(f, "service:{id}"),
            Self::System => f.write_str("system"),
        }
    }
}

/// The envelope's metadata: actor, the correlation/causation chain, where the request came from,
/// and the tenant the event concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    pub actor: Actor,
    /// Shared by every event that one original request led to, across sagas and retries.
    pub correlation_id: Uuid,
    /// The request or event that directly caused this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<Uuid>,
}

impl EventMetadata {
    /// Metadata for an event Tenantry causes itself, starting a new correlation.
    pub fn system() -> Self {
        Self {
            actor: Actor::System,
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            ip: None,
            user_agent: None,
            tenant_id: None,
        }
    }
}
