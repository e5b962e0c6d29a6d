//! Who sent a command and from where: every event the command appends carries it as metadata.

use tenantry_domain::TenantId;
use uuid::Uuid;

use crate::event_store::{Actor, EventMetadata};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandContext {
    pub actor: Actor,
    /// Shared by everything the original request leads to.
    pub correlation_id: Uuid,
    /// The request (or event) that caused this command.
    pub causation_id: Option<Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl CommandContext {
    /// A command from `actor` that starts a new correlation.
    pub fn new(actor: Actor) -> Self {
        let id = Uuid::now_v7();
        Self {
            actor,
            correlation_id: id,
            causation_id: Some(id),
            ip: None,
            user_agent: None,
        }
    }

    /// The metadata of an event this command appends about `tenant`.
    pub fn metadata_for(&self, tenant: TenantId) -> EventMetadata {
        EventMetadata {
            actor: self.actor.clone(),
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            tenant_id: Some(tenant.as_uuid()),
        }
    }
}
