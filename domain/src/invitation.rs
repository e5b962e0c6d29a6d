//! Invitations of a tenant's first admin as an aggregate (`invitation-{uuid}`): to whom, for which
//! tenant, until when. The token itself is shown once and never stored; the lookup table that
//! finds an invitation by the token's SHA-256 is kept by the application's handler beside the
//! stream (see `tenantry_application::invitations`). Accepting an invitation (the tenant portal)
//! will add events here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::kernel::Aggregate;
use crate::{Email, TenantId};

/// A tenant's first admin was invited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantAdminInvited {
    pub invitation_id: Uuid,
    pub tenant_id: TenantId,
    pub email: Email,
    pub expires_at: DateTime<Utc>,
}

crate::domain_events! {
    /// Any event of an invitation.
    pub enum InvitationEvent;
    common { invitation_id: Uuid, tenant_id: TenantId }
    tenant: |event| Some(event.tenant_id());
    TenantAdminInvited = 1,
}

/// What may be done with an invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvitationCommand {
    /// Invite `email` to be `tenant_id`'s first admin until `expires_at`.
    InviteAdmin(TenantAdminInvited),
}

/// Why an invitation command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvitationRefusal {
    #[error("invitation {0} was already issued")]
    AlreadyIssued(Uuid),
}

/// An invitation as its events describe it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvitationState {
    pub issued: Option<TenantAdminInvited>,
}

impl Aggregate for InvitationState {
    type Id = Uuid;
    type Command = InvitationCommand;
    type Event = InvitationEvent;
    type Error = InvitationRefusal;
    const STREAM_PREFIX: &'static str = "invitation-";

    fn decide(
        &self,
        command: InvitationCommand,
    ) -> Result<Vec<InvitationEvent>, InvitationRefusal> {
        match (command, &self.issued) {
            (InvitationCommand::InviteAdmin(invited), Some(issued)) if *issued == invited => {
                Ok(vec![])
            }
            (InvitationCommand::InviteAdmin(_), Some(issued)) => {
                Err(InvitationRefusal::AlreadyIssued(issued.invitation_id))
            }
            (InvitationCommand::InviteAdmin(invited), None) => Ok(vec![invited.into()]),
        }
    }

    fn apply(&mut self, event: &InvitationEvent) {
        match event {
            InvitationEvent::TenantAdminInvited(invited) => self.issued = Some(invited.clone()),
        }
    }
}
