//! Events of a tenant's life that an operator causes: creation, renaming, plan changes,
//! suspension, reactivation and deletion.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Email, IsolationModel, PlanName, Slug, TenantId, TenantName, TenantStatus};

/// A tenant was created, `pending`, with nothing provisioned yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantCreated {
    pub tenant_id: TenantId,
    pub name: TenantName,
    pub slug: Slug,
    pub plan: PlanName,
    /// Fixed for the tenant's life (moves between models come later, as their own events).
    pub isolation: IsolationModel,
    /// Who gets the first administrator's invitation, when the request named someone.
    pub admin_email: Option<Email>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRenamed {
    pub tenant_id: TenantId,
    pub name: TenantName,
    /// Kept so the audit log reads "renamed from … to …" without a second lookup.
    pub previous_name: TenantName,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanChanged {
    pub tenant_id: TenantId,
    pub plan: PlanName,
    pub previous_plan: PlanName,
    pub at: DateTime<Utc>,
}

/// The tenant's service is refused until it is reactivated; its infrastructure is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantSuspended {
    pub tenant_id: TenantId,
    /// The operator's note, e.g. "payment overdue".
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantReactivated {
    pub tenant_id: TenantId,
    pub at: DateTime<Utc>,
}

/// The tenant is `deleting`: the deletion saga takes over and releases everything it has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantDeletionRequested {
    pub tenant_id: TenantId,
    /// The status the tenant left, which tells the deletion saga what may exist (and whether a
    /// provisioning saga may still be running).
    pub previous_status: TenantStatus,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// Everything the tenant had is released; the tenant is `deleted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantDeleted {
    pub tenant_id: TenantId,
    /// The slug that is now free to be taken again.
    pub slug: Slug,
    pub at: DateTime<Utc>,
}
