//! The staff accounts port: where accounts and revoked access tokens are kept.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A staff account as callers see it: no password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffAccount {
    pub id: Uuid,
    /// Lower-cased; unique.
    pub email: String,
    pub created_at: DateTime<Utc>,
    /// Set when the account may no longer log in.
    pub disabled_at: Option<DateTime<Utc>>,
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

    /// The account with this email (lower-cased by the caller), with its password hash.
    async fn find_by_email(&self, email: &str) -> Result<Option<StoredStaff>, StaffError>;

    /// Every account, oldest first.
    async fn list(&self) -> Result<Vec<StaffAccount>, StaffError>;

    /// Records that the access token `jti` may no longer be used. `expires_at` is when the token
    /// would have expired anyway; after it the record may be forgotten. Revoking twice is a no-op.
    async fn revoke_token(&self, jti: Uuid, expires_at: DateTime<Utc>) -> Result<(), StaffError>;

    /// Whether the access token `jti` was revoked.
    async fn is_revoked(&self, jti: Uuid) -> Result<bool, StaffError>;
}
