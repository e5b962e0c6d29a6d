//! What each isolation model makes: its provisioning steps in order, and what each step leaves
//! behind. The sequence drives the aggregate and the saga; the kinds drive the drift report
//! (what a provisioned tenant must have, and which step's release removes a leftover). Both are
//! written here once, so that the provisioners, the saga and the doctor cannot disagree.

use std::collections::BTreeSet;

use super::TenantSecret;
use crate::{IsolationModel, ProvisioningStep};

/// The kinds of things provisioning makes, as the inventory finds them. Ordered as the drift
/// report lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceKind {
    /// A row in `shared.tenants` (`shared_schema`).
    SharedTenant,
    /// A schema `tenant_{hex}` in the control-plane database (`schema_per_tenant`).
    Schema,
    /// A database `tenant_{hex}` (`database_per_tenant`).
    Database,
    /// A PostgreSQL role `tenant_{hex}` (either per-tenant model).
    Role,
    /// A Redis ACL user `tenant_{hex}`.
    RedisUser,
    /// Keys under a Redis namespace `tenant:{uuid}:` (queues included).
    RedisKeys,
    /// A secret `tenant/{uuid}/…` in the secret store.
    Secret,
}

impl ResourceKind {
    pub const ALL: [Self; 7] = [
        Self::SharedTenant,
        Self::Schema,
        Self::Database,
        Self::Role,
        Self::RedisUser,
        Self::RedisKeys,
        Self::Secret,
    ];
}

/// What one provisioning step makes, and so what its release removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepOutput {
    /// The kinds of resource the step makes.
    pub kinds: &'static [ResourceKind],
    /// The secret it generates ([`ResourceKind::Secret`] is then among `kinds`).
    pub secret: Option<TenantSecret>,
}

impl ProvisioningStep {
    /// The steps an isolation model needs, in the order they run.
    pub fn sequence(isolation: IsolationModel) -> &'static [Self] {
        use ProvisioningStep::*;
        match isolation {
            IsolationModel::SharedSchema => &[RegisterSharedTenant, RedisNamespace, Queue],
            IsolationModel::SchemaPerTenant => &[Schema, TenantMigrations, RedisNamespace, Queue],
            IsolationModel::DatabasePerTenant => {
                &[Database, TenantMigrations, RedisNamespace, Queue]
            }
        }
    }

    /// What this step makes. Its release removes exactly that (see each step's adapter).
    pub fn output(self) -> StepOutput {
        use ResourceKind::*;
        let (kinds, secret): (&'static [ResourceKind], _) = match self {
            Self::RegisterSharedTenant => (&[SharedTenant], None),
            // The schema's role logs in (issue 12): it has a password, like the database's.
            Self::Schema => (&[Schema, Role, Secret], Some(TenantSecret::Postgres)),
            Self::Database => (&[Database, Role, Secret], Some(TenantSecret::Postgres)),
            // The migrated objects live in the schema or the database, which its own step made.
            Self::TenantMigrations => (&[], None),
            // The namespace's keys are the namespace's: its release deletes every one of them. The
            // inventory sees the namespace once a key is in it, which the queue step puts there.
            Self::RedisNamespace => (&[RedisUser, RedisKeys, Secret], Some(TenantSecret::Redis)),
            // A stream inside the namespace: no kind of its own.
            Self::Queue => (&[], None),
            // What a hook makes lives outside Tenantry, out of the inventory's sight.
            Self::Hook(_) => (&[], None),
        };
        StepOutput { kinds, secret }
    }
}

/// How the tenant's application logs in to PostgreSQL: what `GET …/connection` names and what a
/// suspension disables. Read this, not the isolation model, to decide which role logs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantLogin {
    /// The tenant's own `LOGIN` role, [`TenantNames::role`](super::TenantNames::role), whose
    /// password is the secret [`TenantSecret::Postgres`] (`schema_per_tenant`,
    /// `database_per_tenant`). Suspending the tenant means `NOLOGIN` on this role.
    OwnRole,
    /// The control plane's shared application login (a member of `tenantry_shared_app`), which
    /// every `shared_schema` tenant uses with `SET LOCAL app.tenant_id = '<id>'` per transaction.
    /// No role of the tenant's own: suspending it cannot disable the login (others use it).
    SharedAppRole,
}

impl IsolationModel {
    /// How this model's tenants log in to PostgreSQL.
    pub fn login(self) -> TenantLogin {
        match self {
            Self::SharedSchema => TenantLogin::SharedAppRole,
            Self::SchemaPerTenant | Self::DatabasePerTenant => TenantLogin::OwnRole,
        }
    }

    /// The kinds of resource a provisioned tenant of this model has, each once, in order.
    pub fn resource_kinds(self) -> Vec<ResourceKind> {
        let kinds: BTreeSet<ResourceKind> = ProvisioningStep::sequence(self)
            .iter()
            .flat_map(|step| step.output().kinds.iter().copied())
            .collect();
        kinds.into_iter().collect()
    }

    /// The step of this model that makes resources of `kind` (the first, in provisioning order),
    /// whose release removes them; `None` if the model makes none. For secrets, where the kind
    /// alone does not tell, see [`IsolationModel::step_making_secret`].
    pub fn step_making(self, kind: ResourceKind) -> Option<ProvisioningStep> {
        ProvisioningStep::sequence(self)
            .iter()
            .copied()
            .find(|step| step.output().kinds.contains(&kind))
    }

    /// The step of this model that generates the secret `secret`, if it has one.
    pub fn step_making_secret(self, secret: TenantSecret) -> Option<ProvisioningStep> {
        ProvisioningStep::sequence(self)
            .iter()
            .copied()
            .find(|step| step.output().secret == Some(secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_with_its_own_login_makes_its_password() {
        for isolation in IsolationModel::ALL {
            let makes_password = isolation
                .step_making_secret(TenantSecret::Postgres)
                .is_some();
            assert_eq!(
                isolation.login() == TenantLogin::OwnRole,
                makes_password,
                "{isolation}"
            );
        }
    }

    #[test]
    fn a_step_makes_a_secret_exactly_when_it_names_one() {
        for step in ProvisioningStep::ALL {
            let output = step.output();
            assert_eq!(
                output.kinds.contains(&ResourceKind::Secret),
                output.secret.is_some(),
                "{step}"
            );
        }
    }

    #[test]
    fn every_sequence_runs_in_declaration_order_and_makes_each_kind_it_lists() {
        for isolation in IsolationModel::ALL {
            let steps = ProvisioningStep::sequence(isolation);
            assert!(steps.windows(2).all(|w| w[0] < w[1]), "{isolation}");
            for kind in isolation.resource_kinds() {
                let step = isolation.step_making(kind).expect("a step makes it");
                assert!(steps.contains(&step));
            }
        }
    }
}
