//! The drift report (`tenantry doctor`): what the read models say each tenant has, against what
//! actually exists in PostgreSQL and Redis.
//!
//! - **Orphans** exist but no tenant should have them: resources of a tenant that is `failed` or
//!   `deleted`, or of a tenant id this control plane never made, when they live in this control
//!   plane's own database (schemas, shared-tenant rows, secrets). `--fix` releases them.
//! - **Missing** resources should exist and do not: what an `active` or `suspended` tenant's
//!   isolation model provisions ([`IsolationModel::resource_kinds`]).
//! - **Foreign** resources are named like a tenant's but belong to no tenant of this control plane,
//!   on servers shared with others (databases, roles, Redis users and keys): listed, never touched.
//!
//! Tenants in flight (`pending`, `provisioning`, `rolling_back`, `deleting`) may hold anything at
//! a given moment; the sagas are working on them, so they are not judged.
//!
//! The report is also given per tenant ([`DriftReport::tenants`]): every tenant of the read
//! models, and every unknown tenant id that has orphans, with its verdict ([`Verdict`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tenantry_domain::{IsolationModel, ProvisioningStep, TenantId, TenantStatus};

use crate::provisioning::{ExistingResource, Provisioner, ResourceInventory, ResourceKind};

/// What the doctor found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriftReport {
    pub orphans: Vec<ExistingResource>,
    /// A tenant and a kind of resource it lacks.
    pub missing: Vec<(TenantId, ResourceKind)>,
    pub foreign: Vec<ExistingResource>,
    /// The same per tenant, by tenant id: each tenant of the read models, then each unknown
    /// tenant id with orphans. Foreign resources are no tenant's.
    pub tenants: Vec<TenantHealth>,
}

/// One tenant's part of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantHealth {
    pub tenant: TenantId,
    /// Its status in the read models; `None` for a tenant id this control plane never made.
    pub status: Option<TenantStatus>,
    /// The kinds of resource it lacks.
    pub missing: Vec<ResourceKind>,
    /// What exists of it that should not.
    pub orphans: Vec<ExistingResource>,
}

/// A tenant's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It has what it should, and nothing it should not.
    Ok,
    /// Something is missing or orphaned.
    Drift,
    /// In flight: the sagas are at work on it, so it is not judged.
    InFlight,
}

impl TenantHealth {
    pub fn verdict(&self) -> Verdict {
        if !self.missing.is_empty() || !self.orphans.is_empty() {
            Verdict::Drift
        } else if self.status.is_some_and(in_flight) {
            Verdict::InFlight
        } else {
            Verdict::Ok
        }
    }
}

/// Statuses the sagas are working on.
fn in_flight(status: TenantStatus) -> bool {
    matches!(
        status,
        TenantStatus::Pending
            | TenantStatus::Provisioning
            | TenantStatus::RollingBack
            | TenantStatus::Deleting
    )
}

impl DriftReport {
    /// Drift: orphans or missing resources (foreign ones are not ours to judge).
    pub fn has_drift(&self) -> bool {
        !self.orphans.is_empty() || !self.missing.is_empty()
    }
}

/// Kinds that live in this control plane's own database, so an unknown tenant's are ours.
fn ours(kind: ResourceKind) -> bool {
    matches!(
        kind,
        ResourceKind::Schema | ResourceKind::SharedTenant | ResourceKind::Secret
    )
}

/// Compares `tenants` (id, status, isolation, from the read models) with what `existing`.
pub fn drift(
    tenants: &[(TenantId, TenantStatus, IsolationModel)],
    existing: &[ExistingResource],
) -> DriftReport {
    let known: BTreeMap<TenantId, (TenantStatus, IsolationModel)> =
        tenants.iter().map(|(id, s, i)| (*id, (*s, *i))).collect();
    let mut report = DriftReport::default();
    let mut held: BTreeMap<TenantId, BTreeSet<ResourceKind>> = BTreeMap::new();
    for resource in existing {
        let Some(tenant) = resource.tenant else {
            report.foreign.push(resource.clone());
            continue;
        };
        held.entry(tenant).or_default().insert(resource.kind);
        match known.get(&tenant) {
            None if ours(resource.kind) => report.orphans.push(resource.clone()),
            None => report.foreign.push(resource.clone()),
            Some((TenantStatus::Failed | TenantStatus::Deleted, _)) => {
                report.orphans.push(resource.clone())
            }
            Some(_) => {}
        }
    }
    for (id, (status, isolation)) in &known {
        if matches!(status, TenantStatus::Active | TenantStatus::Suspended) {
            let has = held.get(id);
            for kind in isolation.resource_kinds() {
                if !has.is_some_and(|h| h.contains(&kind)) {
                    report.missing.push((*id, kind));
                }
            }
        }
    }
    let orphans_of = |id: TenantId| -> Vec<ExistingResource> {
        report
            .orphans
            .iter()
            .filter(|r| r.tenant == Some(id))
            .cloned()
            .collect()
    };
    let mut per_tenant: Vec<TenantHealth> = known
        .iter()
        .map(|(&tenant, &(status, _))| TenantHealth {
            tenant,
            status: Some(status),
            missing: report
                .missing
                .iter()
                .filter(|(t, _)| *t == tenant)
                .map(|(_, kind)| *kind)
                .collect(),
            orphans: orphans_of(tenant),
        })
        .collect();
    let unknown: BTreeSet<TenantId> = report
        .orphans
        .iter()
        .filter_map(|r| r.tenant)
        .filter(|t| !known.contains_key(t))
        .collect();
    per_tenant.extend(unknown.into_iter().map(|tenant| TenantHealth {
        tenant,
        status: None,
        missing: Vec::new(),
        orphans: orphans_of(tenant),
    }));
    report.tenants = per_tenant;
    report
}

/// Runs the drift report against the real systems, and releases orphans.
pub struct Doctor {
    inventory: Arc<dyn ResourceInventory>,
    provisioner: Arc<dyn Provisioner>,
}

impl Doctor {
    pub fn new(inventory: Arc<dyn ResourceInventory>, provisioner: Arc<dyn Provisioner>) -> Self {
        Self {
            inventory,
            provisioner,
        }
    }

    pub async fn examine(
        &self,
        tenants: &[(TenantId, TenantStatus, IsolationModel)],
    ) -> anyhow::Result<DriftReport> {
        let existing = self.inventory.list().await?;
        Ok(drift(tenants, &existing))
    }

    /// Releases everything of every tenant that has orphans: every step, in reverse order
    /// (releasing what does not exist is a no-op). Returns the tenants released.
    pub async fn fix(&self, report: &DriftReport) -> anyhow::Result<Vec<TenantId>> {
        let tenants: BTreeSet<TenantId> = report.orphans.iter().filter_map(|r| r.tenant).collect();
        for &tenant in &tenants {
            for &step in ProvisioningStep::ALL.iter().rev() {
                self.provisioner.release(tenant, step).await.map_err(|e| {
                    anyhow::Error::new(e).context(format!("release {step} of {tenant}"))
                })?;
            }
        }
        Ok(tenants.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use tenantry_domain::TenantNames;

    use super::*;

    fn tenant() -> TenantId {
        TenantId::from_uuid(uuid::Uuid::new_v4())
    }

    fn resource(kind: ResourceKind, tenant: TenantId) -> ExistingResource {
        ExistingResource {
            kind,
            name: TenantNames::of(tenant).resource().to_owned(),
            tenant: Some(tenant),
        }
    }

    #[test]
    fn a_complete_active_tenant_and_an_in_flight_one_are_no_drift() {
        let (active, busy) = (tenant(), tenant());
        let mut existing: Vec<_> = IsolationModel::SchemaPerTenant
            .resource_kinds()
            .into_iter()
            .map(|k| resource(k, active))
            .collect();
        existing.push(resource(ResourceKind::Database, busy));
        let tenants = [
            (
                active,
                TenantStatus::Active,
                IsolationModel::SchemaPerTenant,
            ),
            (
                busy,
                TenantStatus::Provisioning,
                IsolationModel::DatabasePerTenant,
            ),
        ];
        assert!(!drift(&tenants, &existing).has_drift());
    }

    #[test]
    fn leftovers_of_failed_tenants_are_orphans_and_gaps_of_active_ones_are_missing() {
        let (failed, active, stranger) = (tenant(), tenant(), tenant());
        let existing = vec![
            resource(ResourceKind::Schema, failed),
            resource(ResourceKind::RedisUser, active),
            resource(ResourceKind::Schema, stranger),
            resource(ResourceKind::Database, stranger),
        ];
        let tenants = [
            (
                failed,
                TenantStatus::Failed,
                IsolationModel::SchemaPerTenant,
            ),
            (active, TenantStatus::Active, IsolationModel::SharedSchema),
        ];
        let report = drift(&tenants, &existing);
        assert_eq!(
            report.orphans,
            vec![
                resource(ResourceKind::Schema, failed),
                resource(ResourceKind::Schema, stranger)
            ]
        );
        assert_eq!(
            report.foreign,
            vec![resource(ResourceKind::Database, stranger)]
        );
        let missing: Vec<ResourceKind> = report.missing.iter().map(|m| m.1).collect();
        assert_eq!(
            missing,
            vec![
                ResourceKind::SharedTenant,
                ResourceKind::RedisKeys,
                ResourceKind::Secret
            ]
        );
    }

    #[test]
    fn the_report_per_tenant_judges_each_tenant_and_each_stranger_with_orphans() {
        let (complete, lacking, busy, stranger) = (tenant(), tenant(), tenant(), tenant());
        let mut existing: Vec<_> = IsolationModel::SharedSchema
            .resource_kinds()
            .into_iter()
            .map(|k| resource(k, complete))
            .collect();
        existing.push(resource(ResourceKind::Schema, stranger));
        // Foreign: no tenant's, and in nobody's line.
        existing.push(resource(ResourceKind::RedisUser, tenant()));
        let tenants = [
            (complete, TenantStatus::Active, IsolationModel::SharedSchema),
            (
                lacking,
                TenantStatus::Suspended,
                IsolationModel::SharedSchema,
            ),
            (
                busy,
                TenantStatus::Provisioning,
                IsolationModel::SharedSchema,
            ),
        ];
        let report = drift(&tenants, &existing);
        let verdicts: BTreeMap<TenantId, (Option<TenantStatus>, Verdict)> = report
            .tenants
            .iter()
            .map(|t| (t.tenant, (t.status, t.verdict())))
            .collect();
        assert_eq!(
            verdicts,
            BTreeMap::from([
                (complete, (Some(TenantStatus::Active), Verdict::Ok)),
                (lacking, (Some(TenantStatus::Suspended), Verdict::Drift)),
                (busy, (Some(TenantStatus::Provisioning), Verdict::InFlight)),
                (stranger, (None, Verdict::Drift)),
            ])
        );
        let of = |id| {
            report
                .tenants
                .iter()
                .find(|t| t.tenant == id)
                .expect("listed")
        };
        assert_eq!(
            of(lacking).missing,
            IsolationModel::SharedSchema.resource_kinds()
        );
        assert_eq!(
            of(stranger).orphans,
            vec![resource(ResourceKind::Schema, stranger)]
        );
        assert_eq!(report.foreign.len(), 1);
    }
}
