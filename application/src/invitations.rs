//! Invitations for a tenant's first admin: a random token, shown once to whoever provisioned the
//! tenant, that the tenant portal will accept to let the admin set a password. An invitation is
//! an aggregate (`tenantry_domain::invitation`, stream `invitation-{uuid}`) whose events record
//! that it was issued (to whom, until when), never the token. The SHA-256 of the token, by which
//! the portal will find the invitation, is kept in a lookup table behind [`InvitationStore`] that
//! this handler writes in the same command: it must not enter the append-only log, so the table
//! cannot be a read model rebuilt from it.
//!
//! Accepting an invitation belongs to the tenant portal, which is not built yet.

use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use tenantry_domain::invitation::{InvitationCommand, InvitationState, TenantAdminInvited};
use tenantry_domain::{Email, TenantId};
use uuid::Uuid;

use crate::clock::Clock;
use crate::event_store::EventStore;
use crate::kernel::{CommandContext, Loaded, Repository};

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
    repository: Repository<InvitationState>,
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
            repository: Repository::new(store),
            clock,
        }
    }

    /// Issues an invitation of `email` to be `tenant`'s first admin; returns it with its token.
    #[tracing::instrument(
        skip_all,
        fields(tenant_id = %tenant, correlation_id = %context.correlation_id),
    )]
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
        let command = InvitationCommand::InviteAdmin(TenantAdminInvited {
            invitation_id: invitation.id,
            tenant_id: tenant,
            email: invitation.email.clone(),
            expires_at: invitation.expires_at,
        });
        self.repository
            .execute(
                &invitation.id,
                vec![command],
                context,
                None,
                Some(Loaded::new_stream()),
            )
            .await
            .context("failed to record the invitation")?;
        Ok((invitation, token))
    }
}
