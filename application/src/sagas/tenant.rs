//! One tenant's saga: advance it as far as it can go now, recording each outcome as its events.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use tenantry_domain::{ProvisioningStep, Tenant, TenantCommand, TenantId, TenantStatus};

use super::Backoff;
use crate::clock::Clock;
use crate::event_store::Actor;
use crate::provisioning::{FaultPoint, Faults, ProvisionError, Provisioner, TenantSpec};
use crate::tenants::{CommandContext, CommandError, TenantService};

/// Turns of one drive; a tenant needs about two per step.
const MAX_TURNS: usize = 64;

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
        }
    }

    fn context() -> CommandContext {
        CommandContext::new(Actor::Saga {
            name: "provisioning".into(),
        })
    }

    /// Advances `tenant` until it is at rest or waits for a retry. `release_failures`: how many
    /// times in a row releasing this tenant's resources has failed (kept by the caller), for the
    /// backoff of releases, which are retried for as long as it takes.
    pub async fn drive(
        &self,
        tenant: TenantId,
        release_failures: &mut u32,
    ) -> Result<Outcome, SagaError> {
        let context = Self::context();
        // A bound, so that a refusal the saga does not foresee cannot spin it.
        for _ in 0..MAX_TURNS {
            let state = self.tenants.state(tenant).await?;
            let Some(current) = state.tenant() else {
                return Ok(Outcome::AtRest);
            };
            match current.status {
                TenantStatus::Pending => {
                    // Provisioning starts by itself once a tenant is created.
                    let at = self.clock.now();
                    self.record(tenant, &context, TenantCommand::RequestProvisioning { at })
                        .await?;
                }
                TenantStatus::Provisioning => {
                    if let Some(wait) = self.provision_next(current, &context).await? {
                        return Ok(wait);
                    }
                }
                TenantStatus::RollingBack | TenantStatus::Deleting => {
                    match self.release_all(current, &context).await {
                        Ok(()) => *release_failures = 0,
                        Err(error) => {
                            *release_failures += 1;
                            let delay = self.backoff.delay(*release_failures);
                            tracing::warn!(%tenant, error = %error, ?delay, "releasing failed; will retry");
                            return Ok(Outcome::RetryAt(self.clock.now() + delay));
                        }
                    }
                    let at = self.clock.now();
                    if current.status == TenantStatus::RollingBack {
                        self.record(tenant, &context, TenantCommand::CompleteRollback { at })
                            .await?;
                    } else {
                        self.record(tenant, &context, TenantCommand::MarkDeleted { at })
                            .await?;
                        // The slug may be taken by a new tenant now.
                        self.tenants
                            .release_slug(&current.slug, tenant, &context)
                            .await?;
                    }
                }
                TenantStatus::Active
                | TenantStatus::Suspended
                | TenantStatus::Failed
                | TenantStatus::Deleted => return Ok(Outcome::AtRest),
            }
        }
        tracing::warn!(%tenant, "the saga made no progress in {MAX_TURNS} turns; will look again");
        Ok(Outcome::RetryAt(self.clock.now() + self.backoff.max))
    }

    /// Runs the next step of a `provisioning` tenant, or completes it. `Some`: wait until then.
    async fn provision_next(
        &self,
        tenant: &Tenant,
        context: &CommandContext,
    ) -> Result<Option<Outcome>, SagaError> {
        let id = tenant.id;
        let now = self.clock.now();
        let Some(step) = tenant.next_step() else {
            self.record(id, context, TenantCommand::CompleteProvisioning { at: now })
                .await?;
            return Ok(None);
        };
        if let Some(retry_at) = tenant.provisioning.next_retry_at
            && retry_at > now
        {
            return Ok(Some(Outcome::RetryAt(retry_at)));
        }
        let spec = TenantSpec {
            id,
            slug: tenant.slug.clone(),
            isolation: tenant.isolation,
        };
        let started = Instant::now();
        let applied = self.provisioner.apply(&spec, step).await;
        let seconds = started.elapsed().as_secs_f64();
        let at = self.clock.now();
        match applied {
            Ok(resource) => {
                metrics::histogram!("tenantry_provisioning_step_duration_seconds", "step" => step.as_str(), "outcome" => "ok")
                    .record(seconds);
                self.record(
                    id,
                    context,
                    TenantCommand::RecordStepSucceeded { resource, at },
                )
                .await?;
                self.faults.checkpoint(FaultPoint::AfterRecord, id, step);
                Ok(None)
            }
            Err(error) => {
                metrics::histogram!("tenantry_provisioning_step_duration_seconds", "step" => step.as_str(), "outcome" => "failed")
                    .record(seconds);
                metrics::counter!("tenantry_provisioning_step_failures_total", "step" => step.as_str())
                    .increment(1);
                let tries = tenant
                    .provisioning
                    .failures
                    .get(&step)
                    .copied()
                    .unwrap_or(0)
                    + 1;
                self.failed(tenant, step, error, tries, at, context).await
            }
        }
    }

    /// Records a failed try of `step`, and either schedules the next try or starts the rollback.
    async fn failed(
        &self,
        tenant: &Tenant,
        step: ProvisioningStep,
        error: ProvisionError,
        tries: u32,
        at: DateTime<Utc>,
        context: &CommandContext,
    ) -> Result<Option<Outcome>, SagaError> {
        let message = error.to_string();
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
        self.record_all(tenant.id, context, commands).await?;
        Ok((!give_up).then_some(Outcome::RetryAt(retry_at)))
    }

    /// Releases everything the tenant's isolation model may have made, in reverse order, and
    /// records `ResourceReleased` for what the tenant held. Steps never recorded are released too:
    /// a step can have done its work and crashed before its event.
    async fn release_all(
        &self,
        tenant: &Tenant,
        context: &CommandContext,
    ) -> Result<(), SagaError> {
        for &step in ProvisioningStep::sequence(tenant.isolation).iter().rev() {
            self.provisioner
                .release(tenant.id, step)
                .await
                .map_err(|e| {
                    SagaError::Internal(anyhow::Error::new(e).context(format!("release {step}")))
                })?;
            if tenant.resources.contains_key(&step) {
                let at = self.clock.now();
                self.record(
                    tenant.id,
                    context,
                    TenantCommand::RecordResourceReleased { step, at },
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn record(
        &self,
        tenant: TenantId,
        context: &CommandContext,
        command: TenantCommand,
    ) -> Result<(), SagaError> {
        self.record_all(tenant, context, vec![command]).await
    }

    /// Appends what `commands` decide. A refusal because the tenant moved on meanwhile (an
    /// operator deleted it while a step ran, say) is not an error: the next loop sees the new
    /// state.
    async fn record_all(
        &self,
        tenant: TenantId,
        context: &CommandContext,
        commands: Vec<TenantCommand>,
    ) -> Result<(), SagaError> {
        match self
            .tenants
            .execute(tenant, context, None, |_| Ok(commands.clone()))
            .await
        {
            Ok(_) => Ok(()),
            // The tenant moved on meanwhile (an operator deleted it while a step ran, a late step
            // success arrived during a rollback): the next loop decides from the new state.
            Err(CommandError::Rejected(refused)) => {
                tracing::info!(%tenant, %refused, "the tenant moved on; reconsidering");
                Ok(())
            }
            Err(other) => Err(other.into()),
        }
    }
}
