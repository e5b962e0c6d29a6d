//! [`StaffService`]: creating, disabling, enabling and deleting staff accounts and checking their
//! credentials and tokens, over the [`StaffAccounts`] port and the event store.

use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use tenantry_domain::{Email, EmailError};
use uuid::Uuid;

use tenantry_domain::staff::{StaffAccountState, StaffCommand, StaffRefusal};
use tenantry_domain::{Reason, ReasonError};

use super::password::{self, NewPassword, PasswordPolicyError};
use super::port::{StaffAccount, StaffAccounts, StaffError, StaffKey, StoredStaff, TokenCheck};
use crate::event_store::{Actor, EventStore};
use crate::kernel::{CommandContext, ExecuteError, Loaded, Repository};

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

/// Why a staff account was not disabled, enabled or deleted.
#[derive(Debug, thiserror::Error)]
pub enum ChangeStaffError {
    #[error("no staff account has {0}")]
    NotFound(StaffKey),
    #[error(
        "staff account {id} ({email}) is deleted; a deleted account cannot be disabled or enabled"
    )]
    Deleted { id: Uuid, email: String },
    #[error(transparent)]
    InvalidReason(ReasonError),
    #[error(transparent)]
    Refused(StaffRefusal),
    /// Reading or writing the account or its stream failed.
    #[error("failed to change the staff account: {0:#}")]
    Internal(anyhow::Error),
}

impl From<StaffError> for ChangeStaffError {
    fn from(error: StaffError) -> Self {
        Self::Internal(error.into())
    }
}

/// What a disable, enable or delete did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffChange {
    /// The account afterwards.
    pub account: StaffAccount,
    /// Whether an event was recorded (`false`: the account was already in that state).
    pub changed: bool,
}

/// Staff accounts: creation, disabling, enabling and deletion (with their events), login checks,
/// token checks and revocation.
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
            deleted_at: None,
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

    /// Disables the account `key` names, recording `StaffAccountDisabled` with `reason` (trimmed;
    /// blank is none): it may not log in, and its tokens — also those issued before, after it is
    /// enabled again — are refused from now on. Disabling a disabled account changes nothing; a
    /// deleted one is refused.
    #[tracing::instrument(skip_all)]
    pub async fn disable(
        &self,
        key: &StaffKey,
        reason: Option<&str>,
        context: &CommandContext,
    ) -> Result<StaffChange, ChangeStaffError> {
        let reason = check_reason(reason)?;
        self.change(key, StaffCommand::Disable { reason }, context)
            .await
    }

    /// Enables the disabled account `key` names again, recording `StaffAccountEnabled`. Enabling
    /// an active account changes nothing; a deleted one is refused.
    #[tracing::instrument(skip_all)]
    pub async fn enable(
        &self,
        key: &StaffKey,
        context: &CommandContext,
    ) -> Result<StaffChange, ChangeStaffError> {
        self.change(key, StaffCommand::Enable, context).await
    }

    /// Deletes the account `key` names for good, recording `StaffAccountDeleted`: it may not log
    /// in, its tokens are refused, its password hash is dropped and its email is free for a new
    /// account. Deleting a deleted account changes nothing.
    #[tracing::instrument(skip_all)]
    pub async fn delete(
        &self,
        key: &StaffKey,
        context: &CommandContext,
    ) -> Result<StaffChange, ChangeStaffError> {
        self.change(key, StaffCommand::Delete, context).await
    }

    /// Records `command`'s event in the account's stream, then brings its row to the state the
    /// stream is in. The row is written even when nothing was decided, so that running a command
    /// again mends a row whose update failed after its event was recorded.
    async fn change(
        &self,
        key: &StaffKey,
        command: StaffCommand,
        context: &CommandContext,
    ) -> Result<StaffChange, ChangeStaffError> {
        let key = match key {
            StaffKey::Email(email) => StaffKey::Email(normalize(email)),
            id => id.clone(),
        };
        let account = self
            .accounts
            .find(&key)
            .await?
            .ok_or_else(|| ChangeStaffError::NotFound(key.clone()))?;
        let executed = self
            .staff
            .execute(&account.id, vec![command], context, None, None)
            .await
            .map_err(|error| match error {
                ExecuteError::Rejected(StaffRefusal::Deleted(id)) => ChangeStaffError::Deleted {
                    id,
                    email: account.email.clone(),
                },
                ExecuteError::Rejected(refusal) => ChangeStaffError::Refused(refusal),
                ExecuteError::Internal(error) => ChangeStaffError::Internal(error),
                other => ChangeStaffError::Internal(other.into()),
            })?;
        let status = executed.loaded.state.status;
        self.accounts
            .set_status(account.id, status, executed.loaded.version, Utc::now())
            .await
            .map_err(|error| {
                ChangeStaffError::Internal(anyhow::Error::new(error).context(
                    "the event is recorded but the account's row was not updated; run the \
                     command again",
                ))
            })?;
        let account = self
            .accounts
            .find(&StaffKey::Id(account.id))
            .await?
            .ok_or_else(|| ChangeStaffError::NotFound(StaffKey::Id(account.id)))?;
        let changed = !executed.events.is_empty();
        tracing::info!(staff_id = %account.id, %status, changed, "staff account changed");
        Ok(StaffChange { account, changed })
    }

    /// The account these credentials belong to, or `None` when the email is unknown, the password
    /// is wrong or the account is disabled or deleted — indistinguishably, and in about the same
    /// time.
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

    /// Every account (deleted ones too), oldest first.
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

    /// See [`StaffAccounts::check_token`].
    pub async fn check_token(
        &self,
        jti: Uuid,
        staff_id: Uuid,
        issued_at: chrono::DateTime<Utc>,
    ) -> Result<TokenCheck, StaffError> {
        self.accounts.check_token(jti, staff_id, issued_at).await
    }
}

/// A disabling's reason: blank is none; otherwise a [`Reason`] (trimmed, at most
/// [`Reason::MAX_LEN`] characters, the shared text rules).
fn check_reason(reason: Option<&str>) -> Result<Option<String>, ChangeStaffError> {
    match reason.filter(|r| !r.trim().is_empty()) {
        None => Ok(None),
        Some(reason) => Reason::parse(reason)
            .map(|r| Some(r.into_inner()))
            .map_err(ChangeStaffError::InvalidReason),
    }
}

/// Staff emails are one identity regardless of case: `Ana@Example.com` is `ana@example.com`.
fn normalize(email: &str) -> String {
    email.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_trimmed_bounded_and_printable() {
        assert_eq!(check_reason(None).ok(), Some(None));
        assert_eq!(check_reason(Some("  ")).ok(), Some(None));
        assert_eq!(
            check_reason(Some(" left the team ")).ok(),
            Some(Some("left the team".into()))
        );
        let long = "x".repeat(Reason::MAX_LEN + 1);
        assert!(matches!(
            check_reason(Some(&long)),
            Err(ChangeStaffError::InvalidReason(_))
        ));
        for bad in ["a\u{0}b", "line\nbreak", "\u{202E}txt.exe"] {
            let error = check_reason(Some(bad)).expect_err(bad);
            assert!(error.to_string().starts_with("reason must not"), "{error}");
        }
    }
}
