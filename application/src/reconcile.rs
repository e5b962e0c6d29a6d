//! Reconciliation: repairing what an `active` or `suspended` tenant lost (`tenantry doctor --fix`
//! and, with `TENANTRY_RECONCILE_INTERVAL`, the background reconciler of `tenantry serve`).
//!
//! The drift report ([`DriftReport`]) says which kinds of resource a tenant lacks; [`plan`] turns
//! them into the provisioning steps that make them again, and the [`Reconciler`] applies those
//! steps through the same [`Provisioner`] the saga uses (no second copy of the apply code), then
//! records each repair as a `ResourceRepaired` event in the tenant's history.
//!
//! What it never does:
//! - **invent a secret.** A step that sets a password (the Redis user, a database's login role)
//!   is applied only when the tenant's password is in the secret store, so the user or role comes
//!   back with the *same* password; the tenant's application keeps working. A lost secret is
//!   reported, not replaced.
//! - **invent data.** A missing schema or database held the tenant's data: it is reported as data
//!   loss and re-created empty (with the tenant migrations) only when asked
//!   ([`RepairOptions::recreate_empty`], `--recreate-empty`); the background reconciler never asks.
//!
//! The tenant's status is read from its own stream before anything is applied (the read models may
//! lag): only an `active` or `suspended` tenant is repaired, and the event is decided by the
//! aggregate, which refuses it in any other status.
//!
//! - **re-enable a suspended tenant.** A step that makes a login again (the Redis user, a
//!   database's login role) makes it enabled; for a `suspended` tenant, or one whose access is
//!   still switched off, the reconciler switches that access off again right after the step
//!   (the repair is reported as not done if it cannot).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use tenantry_domain::events::RepairedKind;
use tenantry_domain::{
    AccessAction, AccessResource, IsolationModel, ProvisioningStep, ResourceKind, SecretRef,
    Tenant, TenantCommand, TenantId, TenantNames, TenantStatus,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::doctor::{Doctor, DriftReport};
use crate::event_store::Actor;
use crate::kernel::CommandContext;
use crate::provisioning::{Provisioner, SecretStore, TenantSpec};
use crate::sagas::Lease;
use crate::tenants::TenantService;

/// How far a repair may go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RepairOptions {
    /// Re-create a missing schema or database empty (its data is lost either way).
    pub recreate_empty: bool,
}

/// What one tenant needs, as [`plan`] works it out from the kinds it lacks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepairPlan {
    /// The steps to apply, in provisioning order, each with what it repairs.
    pub steps: Vec<(ProvisioningStep, Vec<RepairedKind>)>,
    /// What cannot be repaired without losing something: the kind and why.
    pub left: Vec<(ResourceKind, LeftReason)>,
}

/// Why a missing resource is left as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeftReason {
    /// It held the tenant's data, which is gone: re-created empty only with `--recreate-empty`.
    DataLoss,
    /// The tenant's stored secret is gone: a new one would lock its application out.
    SecretLost,
}

/// The repair of a tenant lacking `missing`, of isolation model `isolation`. Pure.
///
/// | missing | step applied | recorded as |
/// |---|---|---|
/// | `SharedTenant` | `RegisterSharedTenant` | `shared_tenant` |
/// | `Schema` | `Schema`, `TenantMigrations` (only with `recreate_empty`) | `schema` (and `role`) |
/// | `Database` | `Database`, `TenantMigrations` (only with `recreate_empty`) | `database` (and `role`) |
/// | `Role` (its schema or database there) | `Schema` / `Database` (role, password, grants), `TenantMigrations` | `role` |
/// | `RedisUser` | `RedisNamespace` (the user with its stored password) | `redis_user` |
/// | `RedisKeys` (the namespace is empty: no queue) | `Queue` (stream and consumer group) | `queue` |
/// | `Secret` | nothing: reported as a lost secret | |
///
/// Whether the stored passwords exist is checked by the [`Reconciler`] before a step that sets
/// one is applied.
pub fn plan(
    isolation: IsolationModel,
    missing: &[ResourceKind],
    options: RepairOptions,
) -> RepairPlan {
    let missing: BTreeSet<ResourceKind> = missing.iter().copied().collect();
    let mut steps: Vec<(ProvisioningStep, Vec<RepairedKind>)> = Vec::new();
    let mut add = |step: ProvisioningStep, kinds: &[RepairedKind]| match steps
        .iter_mut()
        .find(|(s, _)| *s == step)
    {
        Some((_, held)) => held.extend_from_slice(kinds),
        None => steps.push((step, kinds.to_vec())),
    };
    let mut left = Vec::new();
    let data = match isolation {
        IsolationModel::SchemaPerTenant => Some((ResourceKind::Schema, RepairedKind::Schema)),
        IsolationModel::DatabasePerTenant => Some((ResourceKind::Database, RepairedKind::Database)),
        IsolationModel::SharedSchema => None,
    };
    if let Some((kind, repaired)) = data {
        let step = isolation
            .step_making(kind)
            .expect("the model makes its data's home");
        let role = missing.contains(&ResourceKind::Role);
        if missing.contains(&kind) {
            if options.recreate_empty {
                let mut kinds = vec![repaired];
                if role {
                    kinds.push(RepairedKind::Role);
                }
                add(step, &kinds);
                add(ProvisioningStep::TenantMigrations, &[]);
            } else {
                // Applying the step would make the schema or database: left alone, and the role
                // with it (it serves nothing without them).
                left.push((kind, LeftReason::DataLoss));
            }
        } else if role {
            // The step makes the role again with its password and grants; the migrations (all
            // applied already: nothing runs) then take back the migration history's.
            add(step, &[RepairedKind::Role]);
            add(ProvisioningStep::TenantMigrations, &[]);
        }
    }
    if missing.contains(&ResourceKind::SharedTenant) {
        add(
            ProvisioningStep::RegisterSharedTenant,
            &[RepairedKind::SharedTenant],
        );
    }
    if missing.contains(&ResourceKind::RedisUser) {
        add(ProvisioningStep::RedisNamespace, &[RepairedKind::RedisUser]);
    }
    if missing.contains(&ResourceKind::RedisKeys) {
        add(ProvisioningStep::Queue, &[RepairedKind::Queue]);
    }
    if missing.contains(&ResourceKind::Secret) {
        left.push((ResourceKind::Secret, LeftReason::SecretLost));
    }
    let sequence = ProvisioningStep::sequence(isolation);
    steps.retain(|(step, _)| sequence.contains(step));
    steps.sort_by_key(|(step, _)| *step);
    RepairPlan { steps, left }
}

/// The secret a step sets a password from, which must be stored for it to be applied.
fn secret_of(step: ProvisioningStep, names: &TenantNames) -> Option<SecretRef> {
    match step {
        ProvisioningStep::RedisNamespace => Some(names.redis_secret()),
        ProvisioningStep::Database => Some(names.postgres_secret()),
        _ => None,
    }
}

/// One repair made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repaired {
    pub kind: RepairedKind,
    pub name: String,
    pub reason: String,
}

/// Something missing that was not repaired, and why (for the operator; never a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unrepaired {
    pub kind: ResourceKind,
    pub why: String,
    /// Data loss: re-created empty only with `--recreate-empty`.
    pub data_loss: bool,
}

/// What the reconciler did for one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRepair {
    pub tenant: TenantId,
    pub repaired: Vec<Repaired>,
    pub left: Vec<Unrepaired>,
}

/// What a run repaired, tenant by tenant (only tenants that lacked something).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepairOutcome {
    pub tenants: Vec<TenantRepair>,
}

impl RepairOutcome {
    pub fn repaired(&self) -> usize {
        self.tenants.iter().map(|t| t.repaired.len()).sum()
    }

    pub fn left(&self) -> usize {
        self.tenants.iter().map(|t| t.left.len()).sum()
    }
}

/// Repairs what active and suspended tenants lack (see the module docs).
#[derive(Clone)]
pub struct Reconciler {
    provisioner: Arc<dyn Provisioner>,
    secrets: Arc<dyn SecretStore>,
    tenants: TenantService,
    context: CommandContext,
}

impl Reconciler {
    /// Applies steps through `provisioner` (the saga's, with its time limits), checks passwords
    /// in `secrets`, and records repairs through `tenants` with `context`'s actor and origin
    /// (each run a correlation of its own).
    pub fn new(
        provisioner: Arc<dyn Provisioner>,
        secrets: Arc<dyn SecretStore>,
        tenants: TenantService,
        context: CommandContext,
    ) -> Self {
        Self {
            provisioner,
            secrets,
            tenants,
            context,
        }
    }

    /// The background reconciler's actor: `saga:reconciler`.
    pub fn background_actor() -> Actor {
        Actor::Saga {
            name: "reconciler".into(),
        }
    }

    /// Repairs every tenant of `report` that lacks something. One tenant's failure does not stop
    /// the others: it is in its [`TenantRepair::left`]. All the run's events share one
    /// correlation.
    pub async fn repair(&self, report: &DriftReport, options: RepairOptions) -> RepairOutcome {
        let context = CommandContext {
            correlation_id: uuid::Uuid::now_v7(),
            causation_id: None,
            ..self.context.clone()
        };
        let mut outcome = RepairOutcome::default();
        for health in &report.tenants {
            if health.missing.is_empty()
                || !matches!(
                    health.status,
                    Some(TenantStatus::Active | TenantStatus::Suspended)
                )
            {
                continue;
            }
            let repair = self
                .repair_tenant(health.tenant, &health.missing, options, &context)
                .await;
            outcome.tenants.push(repair);
        }
        outcome
    }

    async fn repair_tenant(
        &self,
        id: TenantId,
        missing: &[ResourceKind],
        options: RepairOptions,
        context: &CommandContext,
    ) -> TenantRepair {
        let mut repair = TenantRepair {
            tenant: id,
            repaired: Vec::new(),
            left: Vec::new(),
        };
        let left_all = |repair: &mut TenantRepair, why: String| {
            repair.left.extend(missing.iter().map(|&kind| Unrepaired {
                kind,
                why: why.clone(),
                data_loss: false,
            }));
        };
        // From the tenant's own stream: the read models may be behind.
        let tenant = match self.tenants.state(id).await {
            Ok(state) => state.tenant().cloned(),
            Err(error) => {
                left_all(&mut repair, format!("failed to load the tenant: {error:#}"));
                return repair;
            }
        };
        let Some(tenant) = tenant else {
            left_all(&mut repair, "no such tenant in the event log".into());
            return repair;
        };
        if !matches!(
            tenant.status,
            TenantStatus::Active | TenantStatus::Suspended
        ) {
            left_all(
                &mut repair,
                format!("the tenant is {} now; not repaired", tenant.status),
            );
            return repair;
        }
        let names = TenantNames::of(id);
        let plan = plan(tenant.isolation, missing, options);
        for (kind, reason) in plan.left {
            repair.left.push(match reason {
                LeftReason::DataLoss => Unrepaired {
                    kind,
                    why: format!(
                        "data loss: {} is gone with the tenant's data; --recreate-empty \
                         re-creates it empty (with the tenant migrations)",
                        name_of_kind(kind, &names)
                    ),
                    data_loss: true,
                },
                LeftReason::SecretLost => Unrepaired {
                    kind,
                    why: "a stored secret of the tenant is gone; a new password would lock \
                          its application out, so nothing that uses it is re-created"
                        .into(),
                    data_loss: false,
                },
            });
        }
        let spec = TenantSpec::of(&tenant);
        for (step, kinds) in plan.steps {
            if let Some(secret) = secret_of(step, &names) {
                match self.secrets.get(&secret).await {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        skip(
                            &mut repair,
                            &kinds,
                            format!(
                                "its stored password ({secret}) is gone; re-creating it with a \
                                 new one would lock the tenant's application out"
                            ),
                        );
                        continue;
                    }
                    Err(error) => {
                        skip(
                            &mut repair,
                            &kinds,
                            format!("failed to read its stored password: {error}"),
                        );
                        continue;
                    }
                }
            }
            if let Err(error) = self.provisioner.apply(&spec, step).await {
                skip(
                    &mut repair,
                    &kinds,
                    format!("re-applying step {step} failed: {error}"),
                );
                if kinds.contains(&RepairedKind::Schema) || kinds.contains(&RepairedKind::Database)
                {
                    // Its migrations would run on nothing.
                    break;
                }
                continue;
            }
            if let Err(error) = self.keep_switched_off(&tenant, &spec, step).await {
                skip(
                    &mut repair,
                    &kinds,
                    format!(
                        "step {step} was re-applied but the suspended tenant's access could not                          be switched off again (the saga retries it): {error}"
                    ),
                );
                continue;
            }
            for kind in kinds {
                let done = Repaired {
                    kind,
                    name: name_of(kind, &names),
                    reason: reason_of(kind, tenant.isolation),
                };
                let command = TenantCommand::RecordResourceRepaired {
                    kind,
                    name: done.name.clone(),
                    reason: done.reason.clone(),
                    at: Utc::now(),
                };
                match self.tenants.execute(id, vec![command], None, context).await {
                    Ok(_) => repair.repaired.push(done),
                    Err(error) => repair.left.push(Unrepaired {
                        kind: resource_kind(kind),
                        why: format!(
                            "{} was re-created but its repair could not be recorded: {error}",
                            done.name
                        ),
                        data_loss: false,
                    }),
                }
            }
        }
        repair
    }
}

impl Reconciler {
    /// After `step` was applied again for `tenant`: switches off again what it switched on, if
    /// the tenant is suspended or that access is still off (see the module docs).
    async fn keep_switched_off(
        &self,
        tenant: &Tenant,
        spec: &TenantSpec,
        step: ProvisioningStep,
    ) -> Result<(), crate::provisioning::ProvisionError> {
        for access in AccessResource::ALL {
            let off = tenant.access.suspended.contains(&access)
                || (tenant.status == TenantStatus::Suspended
                    && tenant.isolation.access_resources().contains(&access));
            if off && access.made_by(tenant.isolation) == Some(step) {
                self.provisioner
                    .set_access(spec, access, AccessAction::Suspend)
                    .await?;
            }
        }
        Ok(())
    }
}

/// Records `kinds` as not repaired, for `why`.
fn skip(repair: &mut TenantRepair, kinds: &[RepairedKind], why: String) {
    repair.left.extend(kinds.iter().map(|&kind| Unrepaired {
        kind: resource_kind(kind),
        why: why.clone(),
        data_loss: false,
    }));
}

fn resource_kind(kind: RepairedKind) -> ResourceKind {
    match kind {
        RepairedKind::SharedTenant => ResourceKind::SharedTenant,
        RepairedKind::Schema => ResourceKind::Schema,
        RepairedKind::Database => ResourceKind::Database,
        RepairedKind::Role => ResourceKind::Role,
        RepairedKind::RedisUser => ResourceKind::RedisUser,
        RepairedKind::Queue => ResourceKind::RedisKeys,
    }
}

fn name_of(kind: RepairedKind, names: &TenantNames) -> String {
    match kind {
        RepairedKind::SharedTenant => names.tenant().to_string(),
        RepairedKind::Schema => names.schema().to_owned(),
        RepairedKind::Database => names.database().to_owned(),
        RepairedKind::Role => names.role().to_owned(),
        RepairedKind::RedisUser => names.redis_user().to_owned(),
        RepairedKind::Queue => names.queue(),
    }
}

fn name_of_kind(kind: ResourceKind, names: &TenantNames) -> String {
    match kind {
        ResourceKind::Schema => format!("schema {}", names.schema()),
        ResourceKind::Database => format!("database {}", names.database()),
        other => format!("{other:?}"),
    }
}

fn reason_of(kind: RepairedKind, isolation: IsolationModel) -> String {
    match kind {
        RepairedKind::SharedTenant => {
            "missing: its row in shared.tenants was registered again".into()
        }
        RepairedKind::Schema => "missing, its data lost: re-created empty with the tenant \
                                 migrations (--recreate-empty)"
            .into(),
        RepairedKind::Database => "missing, its data lost: re-created empty from the migrated \
                                   template (--recreate-empty)"
            .into(),
        RepairedKind::Role if isolation == IsolationModel::DatabasePerTenant => {
            "missing: re-created with its stored password".into()
        }
        RepairedKind::Role => "missing: re-created (NOLOGIN) with its grants".into(),
        RepairedKind::RedisUser => "missing from Redis (a restart without an ACL file?): \
                                    re-created with its stored password"
            .into(),
        RepairedKind::Queue => "missing from Redis: the stream re-created with its consumer \
                                group (jobs it held are not restored)"
            .into(),
    }
}

/// The tenants to judge, as the read models have them.
#[async_trait]
pub trait TenantDirectory: Send + Sync {
    /// Every tenant: id, status, isolation model.
    async fn tenants(&self) -> anyhow::Result<Vec<(TenantId, TenantStatus, IsolationModel)>>;
}

/// The background reconciler of `tenantry serve` (`TENANTRY_RECONCILE_INTERVAL`): every
/// `interval`, the process holding `lease` (one process at a time) runs the drift report and
/// repairs what it can without `--recreate-empty`, logging each repair.
pub struct BackgroundReconciler {
    pub doctor: Doctor,
    pub reconciler: Reconciler,
    pub directory: Arc<dyn TenantDirectory>,
    pub lease: Arc<dyn Lease>,
    pub interval: Duration,
}

/// A running [`BackgroundReconciler`].
pub struct ReconcilerHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ReconcilerHandle {
    /// Stops it (a run in progress finishes its current step first) and gives up the lease.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

impl BackgroundReconciler {
    pub fn start(self) -> ReconcilerHandle {
        tracing::info!(interval = ?self.interval, "background reconciler started");
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(self.interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = stopped.changed() => break,
                }
                tokio::select! {
                    () = self.turn() => {}
                    _ = stopped.changed() => break,
                }
            }
            self.lease.release().await;
        });
        ReconcilerHandle { stop, task }
    }

    /// One run, if this process leads (a lease whose connection was lost is taken again).
    async fn turn(&self) {
        if self.lease.held().await {
            if let Err(error) = self.run_once().await {
                tracing::warn!(error = %format!("{error:#}"), "reconciler: the drift report failed");
            }
            return;
        }
        match self.lease.try_acquire().await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "reconciler: failed to take its lease");
                return;
            }
        }
        if let Err(error) = self.run_once().await {
            tracing::warn!(error = %format!("{error:#}"), "reconciler: the drift report failed");
        }
    }

    async fn run_once(&self) -> anyhow::Result<RepairOutcome> {
        let tenants = self.directory.tenants().await?;
        let report = self.doctor.examine(&tenants).await?;
        if report.missing.is_empty() {
            return Ok(RepairOutcome::default());
        }
        let outcome = self
            .reconciler
            .repair(&report, RepairOptions::default())
            .await;
        for tenant in &outcome.tenants {
            for done in &tenant.repaired {
                tracing::info!(
                    tenant_id = %tenant.tenant,
                    kind = %done.kind,
                    name = %done.name,
                    reason = %done.reason,
                    "reconciler: repaired"
                );
            }
            for left in &tenant.left {
                tracing::warn!(
                    tenant_id = %tenant.tenant,
                    kind = ?left.kind,
                    why = %left.why,
                    "reconciler: not repaired"
                );
            }
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IsolationModel::*;
    use ProvisioningStep as S;
    use RepairedKind as R;
    use ResourceKind as K;

    #[test]
    fn a_redis_restarted_empty_brings_back_the_user_then_the_queue() {
        let plan = plan(
            SharedSchema,
            &[K::RedisUser, K::RedisKeys],
            RepairOptions::default(),
        );
        assert_eq!(
            plan.steps,
            vec![
                (S::RedisNamespace, vec![R::RedisUser]),
                (S::Queue, vec![R::Queue])
            ]
        );
        assert!(plan.left.is_empty());
    }

    #[test]
    fn a_lost_database_is_data_loss_unless_recreated_empty() {
        let missing = [K::Database, K::Role, K::RedisUser];
        let kept = plan(DatabasePerTenant, &missing, RepairOptions::default());
        assert_eq!(kept.steps, vec![(S::RedisNamespace, vec![R::RedisUser])]);
        assert_eq!(kept.left, vec![(K::Database, LeftReason::DataLoss)]);
        let recreated = plan(
            DatabasePerTenant,
            &missing,
            RepairOptions {
                recreate_empty: true,
            },
        );
        assert_eq!(
            recreated.steps,
            vec![
                (S::Database, vec![R::Database, R::Role]),
                (S::TenantMigrations, vec![]),
                (S::RedisNamespace, vec![R::RedisUser]),
            ]
        );
        assert!(recreated.left.is_empty());
    }

    #[test]
    fn a_lost_role_is_remade_by_its_step_and_a_lost_secret_is_only_reported() {
        let plan = plan(
            SchemaPerTenant,
            &[K::Role, K::Secret],
            RepairOptions::default(),
        );
        assert_eq!(
            plan.steps,
            vec![(S::Schema, vec![R::Role]), (S::TenantMigrations, vec![])]
        );
        assert_eq!(plan.left, vec![(K::Secret, LeftReason::SecretLost)]);
    }
}
