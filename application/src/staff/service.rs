//! [`StaffService`]: creating staff accounts and checking their credentials, over the
//! [`StaffAccounts`] port and the event store.

use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use tenantry_domain::{Email, EmailError};
use uuid::Uuid;

use tenantry_domain::staff::{StaffAccountState, StaffCommand};

use super::password::{self, NewPassword, PasswordPolicyError};
use super::port::{StaffAccount, StaffAccounts, StaffError, StoredStaff};
use crate::event_store::{Actor, EventStore};
use crate::kernel::{CommandContext, Loaded, Repository};

/// Why a staff account was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateStaffError {
    #[error(transparent)]
    InvalidEmail(#[from] EmailError),
    #[error(transparent)]
    WeakPassword(#[from] PasswordPolicyError),
    #[error("a staff account with email {email} already exists")]
    AlreadyExists { email: String },
    /// Storing the account or its event failed; nothing was kept.
    #[error("failed to create the staff account: {0:#}")]
    Internal(anyhow::Error),
}

impl From<StaffError> for CreateStaffError {
    fn from(error: StaffError) -> Self {
        match error {
            StaffError::AlreadyExists { email } => Self::AlreadyExists { email },
            StaffError::Backend(e) => Self::Internal(e),
        }
    }
}

/// Staff accounts: creation (with its audit event), login checks, token revocation.
#[derive(Clone)]
pub struct StaffService {
    accounts: Arc<dyn StaffAccounts>,
    staff: Repository<StaffAccountState>,
}

impl StaffService {
    pub fn new(accounts: Arc<dyn StaffAccounts>, store: Arc<dyn EventStore>) -> Self {
        Self {
            accounts,
            staff: Repository::new(store),
        }
    }

    /// Creates an account and records `StaffAccountCreated` (actor: system) in its stream
    /// `staff-{id}`. The email is compared and stored lower-cased.
    #[tracing::instrument(skip_all)]
    pub async fn create(
        &self,
        email: &str,
        password: &str,
    ) -> Result<StaffAccount, CreateStaffError> {
        let email = normalize(Email::parse(email)?.as_ref());
        let password = NewPassword::parse(password)?;
        let password_hash = tokio::task::spawn_blocking(move || password.hash())
            .await
            .context("the password hashing task failed")
            .and_then(|hashed| hashed)
            .map_err(CreateStaffError::Internal)?;
        let account = StaffAccount {
            id: Uuid::now_v7(),
            email,
            created_at: Utc::now(),
            disabled_at: None,
        };
        let stored = StoredStaff {
            account: account.clone(),
            password_hash,
        };
        self.accounts.create(&stored).await?;
        if let Err(error) = self.record_created(&account).await {
            // An account without its audit event must not exist: undo the insert.
            if let Err(undo) = self.accounts.remove(account.id).await {
                tracing::error!(staff_id = %account.id, error = %undo, "failed to undo a staff account");
            }
            return Err(CreateStaffError::Internal(error));
        }
        tracing::info!(staff_id = %account.id, email = %account.email, "staff account created");
        Ok(account)
    }

    async fn record_created(&self, account: &StaffAccount) -> anyhow::Result<()> {
        let command = StaffCommand::Create {
            staff_id: account.id,
            email: account.email.clone(),
        };
        self.staff
            .execute(
                &account.id,
                vec![command],
                &CommandContext::new(Actor::System),
                None,
                Some(Loaded::new_stream()),
            )
            .await
            .context("failed to record StaffAccountCreated")?;
        Ok(())
    }

    /// The account these credentials belong to, or `None` when the email is unknown, the password
    /// is wrong or the account is disabled — indistinguishably, and in about the same time.
    pub async fn authenticate(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Option<StaffAccount>, StaffError> {
        let found = self.accounts.find_by_email(&normalize(email)).await?;
        let password = password.to_owned();
        let matched = tokio::task::spawn_blocking(move || match found {
            Some(staff) => password::verify(&password, &staff.password_hash).then_some(staff),
            None => {
                password::verify_dummy(&password);
                None
            }
        })
        .await
        .context("the password verification task failed")?;
        Ok(matched
            .map(|staff| staff.account)
            .filter(|account| account.disabled_at.is_none()))
    }

    /// Every account, oldest first.
    pub async fn list(&self) -> Result<Vec<StaffAccount>, StaffError> {
        self.accounts.list().await
    }

    /// See [`StaffAccounts::revoke_token`].
    pub async fn revoke_token(
        &self,
        jti: Uuid,
        expires_at: chrono::DateTime<Utc>,
    ) -> Result<(), StaffError> {
        self.accounts.revoke_token(jti, expires_at).await
    }

    /// See [`StaffAccounts::is_revoked`].
    pub async fn is_revoked(&self, jti: Uuid) -> Result<bool, StaffError> {
        self.accounts.is_revoked(jti).await
    }
}

/// Staff emails are one identity regardless of case: `Ana@Example.com` is `ana@example.com`.
fn normalize(email: &str) -> String {
    email.trim().to_lowercase()
}
