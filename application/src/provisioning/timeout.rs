//! Time limits on provisioning steps: a decorator that gives up on an `apply` or `release` that
//! has not finished within its step's limit, so that a dependency that accepts connections but
//! never answers becomes a recorded failure (transient: [`ProvisionError::Unavailable`]) that the
//! saga's backoff handles, instead of a drive that hangs and holds a concurrency permit forever.
//!
//! Dropping the step's future cancels it where it stands; steps are idempotent, so the next try
//! (or the release) finishes whatever it left.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tenantry_domain::events::CredentialsChange;
use tenantry_domain::{
    AccessAction, AccessResource, ProvisionedResource, ProvisioningStep, TenantId,
};

use super::{ProvisionError, Provisioner, TenantSpec};

/// The time limit of each step kind: one default, and overrides by step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepTimeouts {
    default: Duration,
    overrides: BTreeMap<ProvisioningStep, Duration>,
}

/// A step time limit setting that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StepTimeoutsError(String);

impl StepTimeouts {
    /// The default limit of every step (60 s).
    pub const DEFAULT: Duration = Duration::from_secs(60);

    /// Every step limited to `default`.
    pub fn new(default: Duration) -> Self {
        Self {
            default,
            overrides: BTreeMap::new(),
        }
    }

    /// `default` seconds for every step but those `overrides` names: a comma-separated list of
    /// `step=seconds` (`database=300,tenant_migrations=120`); empty for none. Limits are whole
    /// seconds, at least 1.
    pub fn parse(default_secs: u64, overrides: &str) -> Result<Self, StepTimeoutsError> {
        if default_secs == 0 {
            return Err(StepTimeoutsError(
                "a step time limit is at least 1 second".into(),
            ));
        }
        let mut timeouts = Self::new(Duration::from_secs(default_secs));
        for entry in overrides
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let Some((step, secs)) = entry.split_once('=') else {
                return Err(StepTimeoutsError(format!(
                    "{entry:?} is not step=seconds (e.g. database=300)"
                )));
            };
            let step = ProvisioningStep::ALL
                .into_iter()
                .find(|known| known.as_str() == step.trim())
                .ok_or_else(|| {
                    let known: Vec<&str> =
                        ProvisioningStep::ALL.iter().map(|s| s.as_str()).collect();
                    StepTimeoutsError(format!(
                        "unknown step {:?} in {entry:?}; the steps are {}",
                        step.trim(),
                        known.join(", ")
                    ))
                })?;
            let secs: u64 = secs.trim().parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                StepTimeoutsError(format!(
                    "{entry:?}: the limit is a whole number of seconds, at least 1"
                ))
            })?;
            timeouts.overrides.insert(step, Duration::from_secs(secs));
        }
        Ok(timeouts)
    }

    /// `step`'s limit.
    pub fn of(&self, step: ProvisioningStep) -> Duration {
        self.overrides.get(&step).copied().unwrap_or(self.default)
    }
}

impl Default for StepTimeouts {
    fn default() -> Self {
        Self::new(Self::DEFAULT)
    }
}

/// A [`Provisioner`] whose every `apply` and `release` ends within its step's limit.
pub struct TimeLimitedProvisioner {
    inner: Arc<dyn Provisioner>,
    timeouts: StepTimeouts,
}

impl TimeLimitedProvisioner {
    pub fn new(inner: Arc<dyn Provisioner>, timeouts: StepTimeouts) -> Self {
        Self { inner, timeouts }
    }

    fn timed_out(&self, what: &str, step: ProvisioningStep) -> ProvisionError {
        ProvisionError::unavailable(anyhow::anyhow!(
            "{what} of step {step} did not finish within {}s (a dependency is not answering)",
            self.timeouts.of(step).as_secs()
        ))
    }
}

#[async_trait]
impl Provisioner for TimeLimitedProvisioner {
    async fn apply(
        &self,
        tenant: &TenantSpec,
        step: ProvisioningStep,
    ) -> Result<ProvisionedResource, ProvisionError> {
        tokio::time::timeout(self.timeouts.of(step), self.inner.apply(tenant, step))
            .await
            .unwrap_or_else(|_| Err(self.timed_out("apply", step)))
    }

    async fn release(
        &self,
        tenant: TenantId,
        step: ProvisioningStep,
    ) -> Result<(), ProvisionError> {
        tokio::time::timeout(self.timeouts.of(step), self.inner.release(tenant, step))
            .await
            .unwrap_or_else(|_| Err(self.timed_out("release", step)))
    }

    /// Within the limit of the step that makes the access.
    async fn set_access(
        &self,
        tenant: &TenantSpec,
        resource: AccessResource,
        action: AccessAction,
    ) -> Result<(), ProvisionError> {
        let limit = resource
            .made_by(tenant.isolation)
            .map_or(self.timeouts.default, |step| self.timeouts.of(step));
        tokio::time::timeout(limit, self.inner.set_access(tenant, resource, action))
            .await
            .unwrap_or_else(|_| {
                Err(ProvisionError::unavailable(anyhow::anyhow!(
                    "{action} of access {resource} did not finish within {}s (a dependency is not answering)",
                    limit.as_secs()
                )))
            })
    }

    /// Within the default limit.
    async fn change_credentials(
        &self,
        tenant: &TenantSpec,
        rotation: u32,
        change: CredentialsChange,
    ) -> Result<(), ProvisionError> {
        let limit = self.timeouts.default;
        tokio::time::timeout(limit, self.inner.change_credentials(tenant, rotation, change))
            .await
            .unwrap_or_else(|_| {
                Err(ProvisionError::unavailable(anyhow::anyhow!(
                    "{change} of credentials rotation {rotation} did not finish within {}s (a dependency is not answering)",
                    limit.as_secs()
                )))
            })
    }

    async fn leading(&self, leading: bool) {
        self.inner.leading(leading).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenantry_domain::{IsolationModel, ReservedSubdomains, Slug};

    #[test]
    fn overrides_replace_the_default_of_their_step_only() {
        let timeouts = StepTimeouts::parse(30, " database=300, queue = 5 ,").unwrap();
        assert_eq!(
            timeouts.of(ProvisioningStep::Database),
            Duration::from_secs(300)
        );
        assert_eq!(timeouts.of(ProvisioningStep::Queue), Duration::from_secs(5));
        assert_eq!(
            timeouts.of(ProvisioningStep::Schema),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn unreadable_settings_say_what_is_wrong() {
        let unknown = StepTimeouts::parse(30, "databse=300").unwrap_err().0;
        assert!(unknown.contains("unknown step \"databse\""), "{unknown}");
        assert!(unknown.contains("database"), "{unknown}");
        let zero = StepTimeouts::parse(30, "queue=0").unwrap_err().0;
        assert!(zero.contains("at least 1"), "{zero}");
        assert!(StepTimeouts::parse(30, "queue").is_err());
        assert!(StepTimeouts::parse(0, "").is_err());
    }

    /// A provisioner whose steps never finish.
    struct Hung;

    #[async_trait]
    impl Provisioner for Hung {
        async fn apply(
            &self,
            _: &TenantSpec,
            _: ProvisioningStep,
        ) -> Result<ProvisionedResource, ProvisionError> {
            std::future::pending().await
        }
        async fn release(&self, _: TenantId, _: ProvisioningStep) -> Result<(), ProvisionError> {
            std::future::pending().await
        }
        async fn set_access(
            &self,
            _: &TenantSpec,
            _: AccessResource,
            _: AccessAction,
        ) -> Result<(), ProvisionError> {
            std::future::pending().await
        }
    }

    #[tokio::test]
    async fn a_hung_step_fails_as_unavailable_at_its_limit() {
        let timeouts = StepTimeouts::parse(60, "queue=1,redis_namespace=1").unwrap();
        let limited = TimeLimitedProvisioner::new(Arc::new(Hung), timeouts);
        let tenant = TenantSpec {
            id: TenantId::from_uuid(uuid::Uuid::new_v4()),
            slug: Slug::parse("hung", &ReservedSubdomains::default()).unwrap(),
            isolation: IsolationModel::SharedSchema,
        };
        let started = std::time::Instant::now();
        let error = limited
            .apply(&tenant, ProvisioningStep::Queue)
            .await
            .unwrap_err();
        let took = started.elapsed();
        assert!(
            took >= Duration::from_secs(1) && took < Duration::from_secs(5),
            "{took:?}"
        );
        assert!(error.is_transient(), "{error}");
        assert!(
            error
                .to_string()
                .contains("apply of step queue did not finish within 1s"),
            "{error}"
        );
        let error = limited
            .release(tenant.id, ProvisioningStep::RedisNamespace)
            .await
            .unwrap_err();
        assert!(error.is_transient(), "{error}");
        assert!(
            error
                .to_string()
                .contains("release of step redis_namespace"),
            "{error}"
        );
    }
}
