//! One tenant's saga: advance it as far as it can go now, recording each outcome as its events.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tenantry_domain::events::CredentialsChange;
use tenantry_domain::{
    AccessAction, AccessResource, HookName, IsolationModel, ProvisionedResource, ProvisioningStep,
    Tenant, TenantCommand, TenantId, TenantNames, TenantState, TenantStatus,
};

use super::{Backoff, Lease, STARTERS};
use crate::clock::Clock;
use crate::event_store::Actor;
use crate::kernel::{CommandContext, Loaded};
use crate::provisioning::{
    FaultPoint, Faults, HookAction, HookCall, HookTenant, ProvisionError, Provisioner, StepHooks,
    TenantSpec,
};
use crate::tenants::{CommandError, TenantService};

/// A tenant as the saga loaded it, or as its last append left it.
type Known = Loaded<TenantState>;

/// The saga's actor names: deletion releases a `deleting` tenant; access switches a suspended
/// tenant's access off and a reactivated one's on; provisioning does the rest (including the
/// rollback of a failed attempt).
const PROVISIONING: &str = "provisioning";
const DELETION: &str = "deletion";
const ACCESS: &str = "access";
/// Applies and retires an active tenant's credential rotation.
const CREDENTIALS: &str = "credentials";

/// Turns of one drive; a tenant needs about two per step.
const MAX_TURNS: usize = 64;

/// What a turn of a drive leads to.
enum Turn {
    /// Take the next turn, from this state (`None`: load the tenant).
    Continue(Option<Box<Known>>),
    /// Stop driving for now.
    Wait(Outcome),
}

/// Where a drive left the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to do until something else happens (active, suspended, failed, deleted, unknown).
    AtRest,
    /// A step or a release will be tried again at this time.
    RetryAt(DateTime<Utc>),
}

#[derive(Debug, thiserror::Error)]
pub enum SagaError {
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
    /// The drive ran under a [`Lease`] that this process no longer holds: it stopped before the
    /// next step, release or record.
    #[error("the saga lease was lost")]
    LeaseLost,
}

/// What a drive checks before each step's apply or release and before each record: that this
/// process still leads (holds the lease), when it runs under one.
#[derive(Clone, Copy)]
struct Fence<'a>(Option<&'a dyn Lease>);

impl Fence<'_> {
    async fn check(self) -> Result<(), SagaError> {
        match self.0 {
            Some(lease) if !lease.held().await => Err(SagaError::LeaseLost),
            _ => Ok(()),
        }
    }
}

/// How the saga retries a step that failed because a dependency is down or not answering
/// ([`ProvisionError::Unavailable`]): without spending the step's tries, at `backoff` (counted
/// over the failures in a row), for as long as `deadline` from the first of them; a failure after
/// the deadline counts as any other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransientRetries {
    pub deadline: Duration,
    pub backoff: Backoff,
}

impl Default for TransientRetries {
    /// Ten minutes, retrying from 0.5 s up to every 5 s: an outage of a few seconds costs a
    /// tenant a few seconds once the dependency is back.
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(600),
            backoff: Backoff {
                base: Duration::from_millis(500),
                max: Duration::from_secs(5),
            },
        }
    }
}

/// The provisioning and deletion saga for one tenant at a time.
pub struct TenantSaga {
    tenants: TenantService,
    provisioner: Arc<dyn Provisioner>,
    faults: Arc<Faults>,
    clock: Arc<dyn Clock>,
    /// Tries of one step in one attempt before the attempt is rolled back.
    max_tries: u32,
    backoff: Backoff,
    transient: TransientRetries,
    /// Calls the operator's hook steps; `None`: no hook is configured (a hook step then fails
    /// permanently, and its release too, saying so).
    hooks: Option<Arc<dyn StepHooks>>,
}

impl TenantSaga {
    pub fn new(
        tenants: TenantService,
        provisioner: Arc<dyn Provisioner>,
        faults: Arc<Faults>,
        clock: Arc<dyn Clock>,
        max_tries: u32,
        backoff: Backoff,
    ) -> Self {
        Self {
            tenants,
            provisioner,
            faults,
            clock,
            max_tries: max_tries.max(1),
            backoff,
            transient: TransientRetries::default(),
            hooks: None,
        }
    }

    /// The same saga calling the plans' hook steps through `hooks`.
    pub fn with_hooks(mut self, hooks: Arc<dyn StepHooks>) -> Self {
        self.hooks = Some(hooks);
        self
    }

    /// This process starts or stops leading the saga (see [`Provisioner::leading`]).
    pub async fn leading(&self, leading: bool) {
        self.provisioner.leading(leading).await;
    }

    fn hooks(&self, hook: HookName) -> Result<&dyn StepHooks, ProvisionError> {
        self.hooks.as_deref().ok_or_else(|| {
            ProvisionError::permanent(anyhow::anyhow!(
                "hook {hook}: no hooks are configured (TENANTRY_PLANS_FILE declares none)"
            ))
        })
    }

    /// Runs `step`: a built-in step through the provisioner, a hook through the hooks.
    async fn apply_step(
        &self,
        tenant: &Tenant,
        spec: &TenantSpec,
        step: ProvisioningStep,
    ) -> Result<ProvisionedResource, ProvisionError> {
        let Some(hook) = step.hook() else {
            return self.provisioner.apply(spec, step).await;
        };
        let progress = &tenant.provisioning;
        let attempt = progress.failures.get(&step).copied().unwrap_or(0)
            + progress
                .transient_streak(step)
                .map_or(0, |streak| streak.failures)
            + 1;
        let call = HookCall {
            hook,
            action: HookAction::Apply,
            tenant: hook_tenant(tenant),
            attempt,
            provisioning_attempt: progress.attempt,
        };
        let outputs = self.hooks(hook)?.apply(&call).await?;
        Ok(ProvisionedResource::Hook { hook, outputs })
    }

    /// The same saga retrying transient failures by `transient`.
    pub fn with_transient_retries(mut self, transient: TransientRetries) -> Self {
        self.transient = transient;
        self
    }

    /// The context of what the saga appends in reaction to `known`'s last event: that event is
    /// the causation, and the correlation is that of the request that started the work (the
    /// latest `TenantCreated`, `ProvisioningRequested`, `TenantDeletionRequested`,
    /// `TenantSuspended` or `TenantReactivated`), however many
    /// steps, retries and operator changes came since.
    fn context(known: &Known) -> CommandContext {
        let rotating = known.state.tenant().is_some_and(|tenant| {
            tenant.access_work().is_none() && tenant.credentials_work().is_some()
        });
        let name = match known.state.status() {
            Some(TenantStatus::Deleting | TenantStatus::Deleted) => DELETION,
            Some(TenantStatus::Active) if rotating => CREDENTIALS,
            Some(TenantStatus::Active | TenantStatus::Suspended) => ACCESS,
            _ => PROVISIONING,
        };
        let actor = Actor::Saga { name: name.into() };
        match (known.latest_of(&STARTERS), known.last) {
            (Some(started), Some(last)) => {
                CommandContext::caused_by(actor, started.correlation_id, last)
            }
            _ => CommandContext::new(actor),
        }
    }

    /// Advances `tenant` until it is at rest or waits for a retry. `release_failures`: how many
    /// times in a row releasing this tenant's resources has failed (kept by the caller), for the
    /// backoff of releases, which are retried for as long as it takes.
    pub async fn drive(
        &self,
        tenant: TenantId,
        release_failures: &mut u32,
    ) -> Result<Outcome, SagaError> {
        self.drive_fenced(tenant, release_failures, None).await
    }

    /// [`TenantSaga::drive`] for the holder of `lease`: before each step's apply or release, and
    /// before each record, it checks that it still holds the lease, and stops with
    /// [`SagaError::LeaseLost`] when it does not (another process may lead by now).
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant))]
    pub async fn drive_fenced(
        &self,
        tenant: TenantId,
        release_failures: &mut u32,
        lease: Option<&dyn Lease>,
    ) -> Result<Outcome, SagaError> {
        let fence = Fence(lease);
        // The tenant as the last turn's append left it: the next turn starts from it instead of
        // loading the stream again (an append from a stale state is refused and decided again).
        let mut known: Option<Known> = None;
        // A bound, so that a refusal the saga does not foresee cannot spin it.
        for _ in 0..MAX_TURNS {
            let loaded = match known.take() {
                Some(loaded) => loaded,
                None => self.tenants.load(tenant).await?,
            };
            let Some(current) = loaded.state.tenant() else {
                return Ok(Outcome::AtRest);
            };
            known = match current.status {
                TenantStatus::Pending => {
                    // Provisioning starts by itself once a tenant is created.
                    let at = self.clock.now();
                    let command = self.tenants.provisioning_command(current, at);
                    self.record(&loaded, vec![command], fence).await?
                }
                TenantStatus::Provisioning => match self.provision_next(&loaded, fence).await? {
                    Turn::Continue(known) => known.map(|known| *known),
                    Turn::Wait(outcome) => return Ok(outcome),
                },
                TenantStatus::RollingBack | TenantStatus::Deleting => {
                    let released = match self
                        .release_all(&loaded, fence, *release_failures + 1)
                        .await
                    {
                        Ok(Some(released)) => {
                            *release_failures = 0;
                            released
                        }
                        // The tenant moved on meanwhile: decide again from a fresh load.
                        Ok(None) => {
                            *release_failures = 0;
                            known = None;
                            continue;
                        }
                        Err(SagaError::LeaseLost) => return Err(SagaError::LeaseLost),
                        Err(error) => {
                            *release_failures += 1;
                            let delay = self.backoff.delay(*release_failures);
                            tracing::warn!(%tenant, error = %error, ?delay, "releasing failed; will retry");
                            return Ok(Outcome::RetryAt(self.clock.now() + delay));
                        }
                    };
                    let at = self.clock.now();
                    if current.status == TenantStatus::RollingBack {
                        let command = TenantCommand::CompleteRollback { at };
                        self.record(&released, vec![command], fence).await?
                    } else {
                        let command = TenantCommand::MarkDeleted { at };
                        let deleted = self.record(&released, vec![command], fence).await?;
                        // The slug may be taken by a new tenant now.
                        let context = Self::context(deleted.as_ref().unwrap_or(&released));
                        self.tenants
                            .release_slug(&current.slug, tenant, &context)
                            .await?;
                        deleted
                    }
                }
                TenantStatus::Active | TenantStatus::Suspended => {
                    match self.change_access(&loaded, fence).await? {
                        Turn::Continue(known) => known.map(|known| *known),
                        Turn::Wait(outcome) => return Ok(outcome),
                    }
                }
                TenantStatus::Failed | TenantStatus::Deleted => return Ok(Outcome::AtRest),
            };
        }
        tracing::warn!(%tenant, "the saga made no progress in {MAX_TURNS} turns; will look again");
        Ok(Outcome::RetryAt(self.clock.now() + self.backoff.max))
    }

    /// Runs the next step of a `provisioning` tenant, or completes it.
    async fn provision_next(&self, loaded: &Known, fence: Fence<'_>) -> Result<Turn, SagaError> {
        let Some(tenant) = loaded.state.tenant() else {
            return Ok(Turn::Continue(None));
        };
        let id = tenant.id;
        let now = self.clock.now();
        let Some(step) = tenant.next_step() else {
            let command = TenantCommand::CompleteProvisioning { at: now };
            let known = self.record(loaded, vec![command], fence).await?;
            return Ok(Turn::Continue(known.map(Box::new)));
        };
        if let Some(retry_at) = tenant.provisioning.next_retry_at
            && retry_at > now
        {
            return Ok(Turn::Wait(Outcome::RetryAt(retry_at)));
        }
        let spec = TenantSpec::of(tenant);
        fence.check().await?;
        tracing::debug!(%id, %step, "applying a provisioning step");
        let started = Instant::now();
        let applied = self.apply_step(tenant, &spec, step).await;
        let seconds = started.elapsed().as_secs_f64();
        let at = self.clock.now();
        match applied {
            Ok(resource) => {
                metrics::histogram!("tenantry_provisioning_step_duration_seconds", "step" => step.as_str(), "outcome" => "ok")
                    .record(seconds);
                let command = TenantCommand::RecordStepSucceeded { resource, at };
                let known = self.record(loaded, vec![command], fence).await?;
                self.faults.checkpoint(FaultPoint::AfterRecord, id, step);
                Ok(Turn::Continue(known.map(Box::new)))
            }
            Err(error) => {
                metrics::histogram!("tenantry_provisioning_step_duration_seconds", "step" => step.as_str(), "outcome" => "failed")
                    .record(seconds);
                metrics::counter!("tenantry_provisioning_step_failures_total", "step" => step.as_str())
                    .increment(1);
                self.failed(tenant, loaded, step, error, at, fence).await
            }
        }
    }

    /// Switches the next access of a `suspended` tenant off, or of an `active` one on again
    /// ([`Tenant::access_work`]), and records it; a failure is recorded with the time of the next
    /// try (transient ones at the transient backoff, others at the step backoff), and retried for
    /// as long as it takes: a suspension has nothing to roll back to.
    async fn change_access(&self, loaded: &Known, fence: Fence<'_>) -> Result<Turn, SagaError> {
        let Some(tenant) = loaded.state.tenant() else {
            return Ok(Turn::Continue(None));
        };
        let Some((resource, action)) = tenant.access_work() else {
            return self.change_credentials(loaded, fence).await;
        };
        let now = self.clock.now();
        if let Some(retry_at) = tenant.access.next_retry_at
            && retry_at > now
        {
            return Ok(Turn::Wait(Outcome::RetryAt(retry_at)));
        }
        let spec = TenantSpec::of(tenant);
        fence.check().await?;
        tracing::debug!(tenant = %tenant.id, %resource, %action, "changing a tenant's access");
        let changed = self.provisioner.set_access(&spec, resource, action).await;
        let at = self.clock.now();
        let command = match changed {
            Ok(()) => {
                tracing::info!(tenant = %tenant.id, %resource, %action, "tenant access changed");
                match action {
                    AccessAction::Suspend => TenantCommand::RecordAccessSuspended { resource, at },
                    AccessAction::Restore => TenantCommand::RecordAccessRestored { resource, at },
                }
            }
            Err(error) => {
                return self
                    .access_failed(tenant, loaded, resource, action, error, fence)
                    .await;
            }
        };
        let known = self.record(loaded, vec![command], fence).await?;
        Ok(Turn::Continue(known.map(Box::new)))
    }

    /// Carries out the next change of the tenant's credential rotation
    /// ([`Tenant::credentials_work`]) once it is due (a retirement at the end of the grace
    /// period), and records it; a failure is recorded with the time of the next try, and retried
    /// for as long as it takes (the old passwords keep working meanwhile).
    async fn change_credentials(
        &self,
        loaded: &Known,
        fence: Fence<'_>,
    ) -> Result<Turn, SagaError> {
        let Some(tenant) = loaded.state.tenant() else {
            return Ok(Turn::Continue(None));
        };
        let Some((rotation, change, due)) = tenant.credentials_work() else {
            return Ok(Turn::Wait(Outcome::AtRest));
        };
        if let Some(due) = due
            && due > self.clock.now()
        {
            return Ok(Turn::Wait(Outcome::RetryAt(due)));
        }
        let spec = TenantSpec::of(tenant);
        fence.check().await?;
        tracing::debug!(tenant = %tenant.id, rotation, %change, "changing a tenant's credentials");
        let changed = self
            .provisioner
            .change_credentials(&spec, rotation, change)
            .await;
        let at = self.clock.now();
        let command = match changed {
            Ok(()) => {
                tracing::info!(tenant = %tenant.id, rotation, %change, "tenant credentials changed");
                match change {
                    CredentialsChange::Apply => {
                        TenantCommand::RecordCredentialsApplied { rotation, at }
                    }
                    CredentialsChange::Retire => {
                        TenantCommand::RecordCredentialsRetired { rotation, at }
                    }
                }
            }
            Err(error) => {
                let failures = tenant.credentials.failures + 1;
                let (transient, delay) = self.endless_retry(&error, failures);
                let message = error.to_string();
                if failures == 1 || failures.is_multiple_of(10) {
                    tracing::warn!(
                        tenant = %tenant.id, rotation, %change, failures, transient, error = %message,
                        "changing a tenant's credentials failed; will retry"
                    );
                }
                let retry_at = at + delay;
                let command = TenantCommand::RecordCredentialsChangeFailed {
                    rotation,
                    change,
                    error: message,
                    transient,
                    retry_at,
                    at,
                };
                return match self.record(loaded, vec![command], fence).await? {
                    Some(_) => Ok(Turn::Wait(Outcome::RetryAt(retry_at))),
                    None => Ok(Turn::Continue(None)),
                };
            }
        };
        // Refused (the tenant was suspended meanwhile): decide again from a fresh load.
        let known = self.record(loaded, vec![command], fence).await?;
        Ok(Turn::Continue(known.map(Box::new)))
    }

    /// Whether `error` is transient, and the wait before the next try of work that is retried
    /// for as long as it takes (access changes, credential rotations): transient failures at the
    /// transient backoff, others at the step backoff, over `failures` in a row.
    fn endless_retry(&self, error: &ProvisionError, failures: u32) -> (bool, Duration) {
        let transient = error.is_transient();
        let backoff = if transient {
            self.transient.backoff
        } else {
            self.backoff
        };
        (transient, backoff.delay(failures))
    }

    async fn access_failed(
        &self,
        tenant: &Tenant,
        loaded: &Known,
        resource: AccessResource,
        action: AccessAction,
        error: ProvisionError,
        fence: Fence<'_>,
    ) -> Result<Turn, SagaError> {
        let at = self.clock.now();
        let failures = tenant.access.failures + 1;
        let (transient, delay) = self.endless_retry(&error, failures);
        let message = error.to_string();
        if failures == 1 || failures.is_multiple_of(10) {
            tracing::warn!(
                tenant = %tenant.id, %resource, %action, failures, transient, error = %message,
                "changing a tenant's access failed; will retry"
            );
        }
        metrics::counter!("tenantry_access_change_failures_total", "access" => resource.as_str(), "action" => action.as_str())
            .increment(1);
        let retry_at = at + delay;
        let command = TenantCommand::RecordAccessChangeFailed {
            resource,
            action,
            error: message,
            transient,
            retry_at,
            at,
        };
        match self.record(loaded, vec![command], fence).await? {
            Some(_) => Ok(Turn::Wait(Outcome::RetryAt(retry_at))),
            // The operator changed their mind meanwhile: decide again.
            None => Ok(Turn::Continue(None)),
        }
    }

    /// Records a failed try of `step` (`tenant` is `loaded`'s), and either schedules the next try
    /// or starts the rollback. A transient failure within the deadline spends no try: it is
    /// recorded as such and retried at the transient backoff.
    async fn failed(
        &self,
        tenant: &Tenant,
        loaded: &Known,
        step: ProvisioningStep,
        error: ProvisionError,
        at: DateTime<Utc>,
        fence: Fence<'_>,
    ) -> Result<Turn, SagaError> {
        let message = error.to_string();
        let streak = tenant.provisioning.transient_streak(step);
        let unavailable_for = streak
            .map(|streak| (at - streak.since).to_std().unwrap_or_default())
            .unwrap_or_default();
        if error.is_transient() && unavailable_for < self.transient.deadline {
            let in_a_row = streak.map_or(0, |streak| streak.failures) + 1;
            // The first of a streak and every tenth are warnings: an outage does not flood the
            // log with one line per tenant per retry.
            if in_a_row == 1 || in_a_row.is_multiple_of(10) {
                tracing::warn!(
                    tenant = %tenant.id, %step, in_a_row, error = %message,
                    "provisioning step failed: a dependency is unavailable; retrying without counting"
                );
            } else {
                tracing::debug!(
                    tenant = %tenant.id, %step, in_a_row, error = %message,
                    "provisioning step failed: a dependency is still unavailable"
                );
            }
            metrics::counter!("tenantry_provisioning_transient_failures_total", "step" => step.as_str())
                .increment(1);
            let retry_at = at + self.transient.backoff.delay(in_a_row);
            let commands = vec![
                TenantCommand::RecordTransientStepFailure {
                    step,
                    error: message,
                    at,
                },
                TenantCommand::ScheduleRetry { step, retry_at, at },
            ];
            self.record(loaded, commands, fence).await?;
            return Ok(Turn::Wait(Outcome::RetryAt(retry_at)));
        }
        let tries = tenant
            .provisioning
            .failures
            .get(&step)
            .copied()
            .unwrap_or(0)
            + 1;
        let message = if error.is_transient() {
            format!(
                "{message} (unavailable for {}s, past the {}s that do not count)",
                unavailable_for.as_secs(),
                self.transient.deadline.as_secs()
            )
        } else {
            message
        };
        tracing::warn!(tenant = %tenant.id, %step, tries, error = %message, "provisioning step failed");
        let give_up = !error.is_retryable() || tries >= self.max_tries;
        let retry_at = at + self.backoff.delay(tries);
        let mut commands = vec![TenantCommand::RecordStepFailed {
            step,
            error: message.clone(),
            at,
        }];
        commands.push(if give_up {
            TenantCommand::StartRollback {
                reason: format!("step {step} failed {tries} time(s): {message}"),
                at,
            }
        } else {
            TenantCommand::ScheduleRetry { step, retry_at, at }
        });
        let known = self.record(loaded, commands, fence).await?;
        Ok(if give_up {
            Turn::Continue(known.map(Box::new))
        } else {
            Turn::Wait(Outcome::RetryAt(retry_at))
        })
    }

    /// Releases everything the tenant's isolation model may have made, in reverse order, and
    /// records `ResourceReleased` for what the tenant held. Steps never recorded are released too:
    /// a step can have done its work and crashed before its event. Gives the tenant as the last
    /// record left it, or `None` when the tenant moved on meanwhile.
    ///
    /// The hook steps go first (they ran last), in reverse of their declared order; `attempt` is
    /// the try of this release (1 for the first), told to the hooks.
    async fn release_all(
        &self,
        loaded: &Known,
        fence: Fence<'_>,
        attempt: u32,
    ) -> Result<Option<Known>, SagaError> {
        let Some(tenant) = loaded.state.tenant() else {
            return Ok(None);
        };
        let mut known = loaded.clone();
        let hooks = tenant
            .hooks_to_release()
            .into_iter()
            .map(ProvisioningStep::Hook);
        let built_in = ProvisioningStep::sequence(tenant.isolation)
            .iter()
            .rev()
            .copied();
        for step in hooks.chain(built_in) {
            fence.check().await?;
            let released = match step.hook() {
                Some(hook) => {
                    let call = HookCall {
                        hook,
                        action: HookAction::Release,
                        tenant: hook_tenant(tenant),
                        attempt,
                        provisioning_attempt: tenant.provisioning.attempt,
                    };
                    match self.hooks(hook) {
                        Ok(hooks) => hooks.release(&call).await,
                        Err(error) => Err(error),
                    }
                }
                None => self.provisioner.release(tenant.id, step).await,
            };
            released.map_err(|e| {
                SagaError::Internal(anyhow::Error::new(e).context(format!("release {step}")))
            })?;
            if tenant.resources.contains_key(&step) {
                let at = self.clock.now();
                let command = TenantCommand::RecordResourceReleased { step, at };
                match self.record(&known, vec![command], fence).await? {
                    Some(next) => known = next,
                    None => return Ok(None),
                }
            }
        }
        Ok(Some(known))
    }

    /// Appends what `commands` decide, starting from `from` (the tenant as the saga last had it),
    /// in reaction to its last event, and gives the tenant as the append left it. A refusal
    /// because the tenant moved on meanwhile (an operator deleted it while a step ran, a late step
    /// success arrived during a rollback) is not an error: it gives `None`, and the next turn
    /// loads the tenant and decides from the new state.
    async fn record(
        &self,
        from: &Known,
        commands: Vec<TenantCommand>,
        fence: Fence<'_>,
    ) -> Result<Option<Known>, SagaError> {
        let Some(tenant) = from.state.tenant().map(|t| t.id) else {
            return Ok(None);
        };
        fence.check().await?;
        let context = Self::context(from);
        match self
            .tenants
            .execute_from(Some(from.clone()), tenant, commands, None, &context)
            .await
        {
            Ok(loaded) => Ok(Some(loaded)),
            Err(CommandError::Rejected(refused)) => {
                tracing::info!(%tenant, %refused, "the tenant moved on; reconsidering");
                Ok(None)
            }
            Err(other) => Err(other.into()),
        }
    }
}

/// What a hook is told about `tenant`: who it is and what its infrastructure is called, nothing
/// secret.
fn hook_tenant(tenant: &Tenant) -> HookTenant {
    let names = TenantNames::of(tenant.id);
    let mut infrastructure = serde_json::Map::new();
    let mut put = |key: &str, value: String| {
        infrastructure.insert(key.to_owned(), serde_json::Value::String(value));
    };
    match tenant.isolation {
        IsolationModel::SharedSchema => put("schema", "shared".to_owned()),
        IsolationModel::SchemaPerTenant => {
            put("schema", names.schema().to_owned());
            put("role", names.role().to_owned());
        }
        IsolationModel::DatabasePerTenant => {
            put("database", names.database().to_owned());
            put("role", names.role().to_owned());
        }
    }
    put("redis_namespace", names.redis_namespace().to_owned());
    put("redis_user", names.redis_user().to_owned());
    put("queue", names.queue());
    HookTenant {
        id: tenant.id.as_uuid(),
        slug: tenant.slug.to_string(),
        name: tenant.name.to_string(),
        plan: tenant.plan.to_string(),
        isolation: tenant.isolation.to_string(),
        infrastructure: infrastructure.into(),
    }
}
