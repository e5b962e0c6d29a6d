//! The staff accounts port: where accounts and revoked access tokens are kept.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tenantry_domain::staff::StaffStatus;
use uuid::Uuid;

/// A staff account as callers see it: no password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffAccount {
    pub id: Uuid,
    /// Lower-cased; unique.
    pub email: String,
    pub created_at: DateTime<Utc>,
    /// Set while the account is disabled: it may not log in and its tokens are refused.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Set once the account is deleted (for good): its email is free for a new account.
    pub deleted_at: Option<DateTime<Utc>>,
}

impl StaffAccount {
    /// What the account's dates say about it.
    pub fn status(&self) -> StaffStatus {
        if self.deleted_at.is_some() {
            StaffStatus::Deleted
        } else if self.disabled_at.is_some() {
            StaffStatus::Disabled
        } else {
            StaffStatus::Active
        }
    }
}

/// How callers name an account: by id, or by the email it logs in with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffKey {
    Id(Uuid),
    /// Lower-cased. Names the live account with this email, else the one deleted last.
    Email(String),
}

impl std::fmt::Display for StaffKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Id(id) => write!(f, "the id {id}"),
            Self::Email(email) => write!(f, "the email {email}"),
        }
    }
}

/// What a presented access token is worth, beyond its signature and expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCheck {
    /// Not revoked, and its account is active and was not disabled after the token was issued.
    Valid,
    /// Logged out.
    Revoked,
    /// Its account is disabled or deleted (or unknown), or was disabled after the token was
    /// issued.
    AccountInactive,
}

/// An account with its password hash, as stored; only the service's login check reads the hash.
#[derive(Clone)]
pub struct StoredStaff {
    pub account: StaffAccount,
    /// An argon2id PHC string.
    pub password_hash: String,
}

// Hand-written so that the hash never reaches a log line.
impl std::fmt::Debug for StoredStaff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredStaff")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

/// Why the staff store refused or failed an operation.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    /// Another account already has this email (compared lower-cased). Nothing was written.
    #[error("a staff account with email {email} already exists")]
    AlreadyExists { email: String },
    /// The backend failed (connection lost, …).
    #[error("staff store failed: {0:#}")]
    Backend(#[from] anyhow::Error),
}

/// The staff accounts port.
#[async_trait]
pub trait StaffAccounts: Send + Sync {
    /// Stores a new account. Fails with [`StaffError::AlreadyExists`] when the (lower-cased) email
    /// is taken.
    async fn create(&self, staff: &StoredStaff) -> Result<(), StaffError>;

    /// Removes an account. Only used to undo a [`StaffAccounts::create`] whose audit event could
    /// not be recorded; removing an account that does not exist is not an error.
    async fn remove(&self, id: Uuid) -> Result<(), StaffError>;

    /// The live (not deleted) account with this email (lower-cased by the caller), with its
    /// password hash.
    async fn find_by_email(&self, email: &str) -> Result<Option<StoredStaff>, StaffError>;

    /// The account `key` names, deleted or not (see [`StaffKey::Email`]).
    async fn find(&self, key: &StaffKey) -> Result<Option<StaffAccount>, StaffError>;

    /// Records that account `id` is now `status`, as its stream's events up to `version` decided,
    /// at `now`. An update for a version the row already reflects (or passed) changes nothing,
    /// so retries and races leave the row as the latest event says. Disabling sets the time
    /// before which its tokens are refused; deleting drops the password hash and frees the email.
    async fn set_status(
        &self,
        id: Uuid,
        status: StaffStatus,
        version: u64,
        now: DateTime<Utc>,
    ) -> Result<(), StaffError>;

    /// Every account (deleted ones too), oldest first.
    async fn list(&self) -> Result<Vec<StaffAccount>, StaffError>;

    /// Records that the access token `jti` may no longer be used. `expires_at` is when the token
    /// would have expired anyway; after it the record may be forgotten. Revoking twice is a no-op.
    async fn revoke_token(&self, jti: Uuid, expires_at: DateTime<Utc>) -> Result<(), StaffError>;

    /// Whether the access token `jti` of account `staff_id`, issued at `issued_at`, may be used:
    /// neither revoked nor of an account that is disabled, deleted or was disabled since. One
    /// round trip: it runs on every authenticated request.
    async fn check_token(
        &self,
        jti: Uuid,
        staff_id: Uuid,
        issued_at: DateTime<Utc>,
    ) -> Result<TokenCheck, StaffError>;
}
