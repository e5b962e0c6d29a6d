//! The invitation store over PostgreSQL (`tenant_invitations`).

use anyhow::Context;
use async_trait::async_trait;
use sqlx::PgPool;
use tenantry_application::invitations::{Invitation, InvitationStore};

pub struct PgInvitations {
    pool: PgPool,
}

impl PgInvitations {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl InvitationStore for PgInvitations {
    async fn save(&self, invitation: &Invitation, token_hash: &[u8; 32]) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO tenant_invitations (id, tenant_id, email, token_hash, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(invitation.id)
        .bind(invitation.tenant_id.as_uuid())
        .bind(invitation.email.as_str())
        .bind(token_hash.as_slice())
        .bind(invitation.expires_at)
        .execute(&self.pool)
        .await
        .context("failed to store an invitation")?;
        Ok(())
    }
}
