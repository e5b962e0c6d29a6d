//! Events of a tenant's domains and their TLS certificates (`chat.`/`api.` subdomains, custom
//! domains). Defined now so read models and the event names are settled; the commands that emit
//! them come with the domains-and-TLS work.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{SecretRef, TenantId};

/// A host was attached to the tenant; it routes nowhere until it is activated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainRegistered {
    pub tenant_id: TenantId,
    /// The fully qualified host name, lower-case.
    pub host: String,
    pub at: DateTime<Utc>,
}

/// The host is proven (e.g. by its DNS TXT record) and now routes to the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainActivated {
    pub tenant_id: TenantId,
    pub host: String,
    pub at: DateTime<Utc>,
}

/// A TLS certificate for the host was issued (or renewed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateIssued {
    pub tenant_id: TenantId,
    pub host: String,
    pub expires_at: DateTime<Utc>,
    /// Where the certificate's private key is kept.
    pub certificate_secret: SecretRef,
    pub at: DateTime<Utc>,
}
