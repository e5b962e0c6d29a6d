//! Who sent a command and from where, and what caused it: every event the command appends carries
//! it as metadata. A request starts a correlation; everything that follows from it (the sagas'
//! steps, retries, rollback) carries the same `correlation_id`, each event naming the one it
//! reacted to as `causation_id`.

use uuid::Uuid;

use super::Cause;
use crate::event_store::{Actor, EventMetadata};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandContext {
    pub actor: Actor,
    /// Shared by everything the original request leads to.
    pub correlation_id: Uuid,
    /// The event (or request) that caused this command; `None` for a request that starts anew.
    pub causation_id: Option<Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl CommandContext {
    /// A command from `actor` that starts a new correlation.
    pub fn new(actor: Actor) -> Self {
        Self {
            actor,
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            ip: None,
            user_agent: None,
        }
    }

    /// A command from `actor` reacting to the event `cause`, in the correlation `correlation_id`
    /// (that of the request that started the work).
    pub fn caused_by(actor: Actor, correlation_id: Uuid, cause: Cause) -> Self {
        Self {
            actor,
            correlation_id,
            causation_id: Some(cause.event_id),
            ip: None,
            user_agent: None,
        }
    }

    /// The metadata of an event this command appends about `tenant` (if it concerns one).
    pub fn metadata_for(&self, tenant: Option<Uuid>) -> EventMetadata {
        EventMetadata {
            actor: self.actor.clone(),
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            tenant_id: tenant,
        }
    }
}
