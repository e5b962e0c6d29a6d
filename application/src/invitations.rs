//! Invitations for a tenant's first admin: a random token, shown once to whoever provisioned the
//! tenant, that the tenant portal will accept to let the admin set a password. Only a SHA-256 of
//! the token is stored, and the event log records that an invitation was issued (to whom, until
//! when), never the token.
//!
//! Accepting an invitation belongs to the tenant portal, which is not built yet.

use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};
use tenantry_domain::{Email, TenantId};
use uuid::Uuid;

use crate::clock::Clock;
use crate::event_store::{EventStore, ExpectedVersion, NewEvent};
use crate::tenants::CommandContext;

/// How long an invitation can be accepted.
pub const INVITATION_TTL: Duration = Duration::days(7);

/// An issued invitation, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub email: Email,
    pub expires_at: DateTime<Utc>,
}

/// Where invitations are kept.
#[async_trait]
pub trait InvitationStore: Send + Sync {
    async fn save(&self, invitation: &Invitation, token_hash: &[u8; 32]) -> anyhow::Result<()>;
}

/// Issues invitations.
#[derive(Clone)]
pub struct InvitationService {
    invitations: Arc<dyn InvitationStore>,
    store: Arc<dyn EventStore>,
    clock: Arc<dyn Clock>,
}

impl InvitationService {
    pub fn new(
        invitations: Arc<dyn InvitationStore>,
        store: Arc<dyn EventStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            invitations,
            store,
            clock,
        }
    }

    /// Issues an invitation of `email` to be `tenant`'s first admin; returns it with its token.
    pub async fn issue_admin(
        &self,
        tenant: TenantId,
        email: Email,
        context: &CommandContext,
    ) -> anyhow::Result<(Invitation, String)> {
        let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let invitation = Invitation {
            id: Uuid::now_v7(),
            tenant_id: tenant,
            email,
            expires_at: self.clock.now() + INVITATION_TTL,
        };
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.invitations.save(&invitation, &hash).await?;
        let metadata = context.metadata_for(tenant);
        let event = NewEvent::new(
            "TenantAdminInvited",
            1,
            json!({
                "invitation_id": invitation.id,
                "tenant_id": tenant,
                "email": invitation.email.as_str(),
                "expires_at": invitation.expires_at,
            }),
            metadata,
        );
        self.store
            .append(
                &format!("invitation-{}", invitation.id),
                ExpectedVersion::NoStream,
                vec![event],
            )
            .await
            .context("failed to record the invitation")?;
        Ok((invitation, token))
    }
}
