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
