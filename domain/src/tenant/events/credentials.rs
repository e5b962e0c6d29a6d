//! Access to the tenant's credentials: who was shown its passwords. The passwords themselves are
//! never in an event (they live in the secret store); these are the audit trail.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::TenantId;

/// The tenant's passwords were shown to someone: a staff member through
/// `POST /platform/api/tenants/{id}/connection/reveal`, or one of the application's services with
/// a `credentials:read` service token. No secret in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantCredentialsRevealed {
    pub tenant_id: TenantId,
    /// Who: `staff:{email}` or `service:{token id}`.
    pub by: String,
    /// The caller's address, when known.
    pub ip: Option<String>,
    pub at: DateTime<Utc>,
}

/// New passwords were asked for (`POST …/credentials/rotate`): rotation `rotation` (1, 2, …)
/// starts. The saga puts them in place ([`TenantCredentialsApplied`]), and once `grace_until`
/// has passed, makes the ones before invalid ([`TenantCredentialsRetired`]). No secret in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantCredentialsRotated {
    pub tenant_id: TenantId,
    pub rotation: u32,
    /// Who asked: `staff:{email}`.
    pub by: String,
    pub ip: Option<String>,
    /// Until when the passwords before this rotation keep working.
    pub grace_until: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// The new passwords of `rotation` work (the login of the rotation exists with them); the old
/// ones still do, until the grace period ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantCredentialsApplied {
    pub tenant_id: TenantId,
    pub rotation: u32,
    pub at: DateTime<Utc>,
}

/// The passwords from before `rotation` no longer work: the previous login cannot log in and its
/// sessions were ended, the Redis user accepts only the new password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantCredentialsRetired {
    pub tenant_id: TenantId,
    pub rotation: u32,
    pub at: DateTime<Utc>,
}

/// A try to apply or retire `rotation` failed; the next is at `retry_at` (retried for as long as
/// it takes: the old passwords keep working meanwhile).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsChangeFailed {
    pub tenant_id: TenantId,
    pub rotation: u32,
    pub change: CredentialsChange,
    /// Failures in a row, this one included.
    pub failures: u32,
    /// What went wrong, for the operator. Never a secret.
    pub error: String,
    #[serde(default)]
    pub transient: bool,
    pub retry_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// The saga's work on a rotation. Serialized in snake_case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialsChange {
    /// Put the rotation's new passwords in place (beside the old ones).
    Apply,
    /// Make the passwords from before the rotation invalid.
    Retire,
}

impl CredentialsChange {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Apply => "apply",
            Self::Retire => "retire",
        }
    }
}

impl std::fmt::Display for CredentialsChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
