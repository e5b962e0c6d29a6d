//! Failure injection (`TENANTRY_FAULTS`): make named provisioning steps fail, or crash the process
//! at named points, so tests and operators can rehearse failures against real resources. Off by
//! default (an empty value).
//!
//! The value is a comma-separated list of entries:
//!
//! | entry | effect |
//! |---|---|
//! | `<step>:<times>` | `apply` of `<step>` does its work, then reports a retryable failure |
//! | `release:<step>:<times>` | `release` of `<step>` reports a retryable failure before doing anything |
//! | `panic:<point>:<step>[:<times>]` | panics when `<step>` reaches `<point>` (the task dies) |
//! | `abort:<point>:<step>[:<times>]` | aborts the process there (no unwinding, no destructors) |
//! | `access:<access>:<times>` | switching `<access>` off or on (suspension, reactivation) reports a transient failure before doing anything |
//!
//! `<step>` is a step's name (`register_shared_tenant`, `schema`, `database`, `tenant_migrations`,
//! `redis_namespace`, `queue`); `<times>` is a positive number (the first N times, counted per
//! tenant and per entry, in this process) or `always`, the default for `panic` and `abort`.
//! `<access>` is `database_login` or `redis_user`.
//! `<point>` is a [`FaultPoint`]. Example: `schema:2,redis_namespace:always,panic:after_apply:queue`.
//!
//! Who reaches which point: [`FaultInjectingProvisioner`](super::FaultInjectingProvisioner) fires
//! `before_apply`, `after_apply`, `before_release` and `after_release`; the adapters fire
//! `during_apply` and `during_release` halfway through a step that makes more than one thing; the
//! saga fires `after_record`, once the step's event is stored (it owns no other point).

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use tenantry_domain::{AccessAction, AccessResource, ProvisioningStep, TenantId};

mod parse;
#[cfg(test)]
mod tests;

/// A named point in the life of a step where a crash can be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultPoint {
    /// Before the provisioner's `apply` starts.
    BeforeApply,
    /// Inside `apply`, after part of the step's resources exist (e.g. the role, not yet the
    /// database).
    DuringApply,
    /// After `apply` succeeded, before the saga records the step's event.
    AfterApply,
    /// After the saga recorded the step's event, before it moves on.
    AfterRecord,
    /// Before the provisioner's `release` starts.
    BeforeRelease,
    /// Inside `release`, after part of the step's resources are gone.
    DuringRelease,
    /// After `release` succeeded, before the saga records `ResourceReleased`.
    AfterRelease,
}

impl FaultPoint {
    pub const ALL: [Self; 7] = [
        Self::BeforeApply,
        Self::DuringApply,
        Self::AfterApply,
        Self::AfterRecord,
        Self::BeforeRelease,
        Self::DuringRelease,
        Self::AfterRelease,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BeforeApply => "before_apply",
            Self::DuringApply => "during_apply",
            Self::AfterApply => "after_apply",
            Self::AfterRecord => "after_record",
            Self::BeforeRelease => "before_release",
            Self::DuringRelease => "during_release",
            Self::AfterRelease => "after_release",
        }
    }
}

impl fmt::Display for FaultPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which operation of a step an injected failure hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultOp {
    Apply,
    Release,
}

/// A malformed `TENANTRY_FAULTS` value: which entry, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid TENANTRY_FAULTS entry {index} ({entry:?}): {reason}")]
pub struct FaultsError {
    /// 1-based position of the entry in the comma-separated list.
    pub index: usize,
    pub entry: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Times {
    First(u32),
    Always,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Crash {
    Panic,
    Abort,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Fail(FaultOp),
    Crash(Crash, FaultPoint),
    /// Switching an access off or on fails.
    FailAccess,
}

/// What an entry is about: a provisioning step, or an access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Step(ProvisioningStep),
    Access(AccessResource),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    effect: Effect,
    target: Target,
    times: Times,
    /// The entry as written, for messages.
    text: String,
}

/// The parsed `TENANTRY_FAULTS`, with how often each entry has fired for each tenant.
/// [`Faults::default`] injects nothing.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<Rule>,
    fired: Mutex<HashMap<(usize, TenantId), u32>>,
}

impl Faults {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// Parses a `TENANTRY_FAULTS` value; empty (or only spaces) means no faults.
    pub fn parse(input: &str) -> Result<Self, FaultsError> {
        if input.trim().is_empty() {
            return Ok(Self::none());
        }
        let rules = input
            .split(',')
            .enumerate()
            .map(|(i, entry)| {
                let entry = entry.trim();
                parse::rule(entry).map_err(|reason| FaultsError {
                    index: i + 1,
                    entry: entry.to_owned(),
                    reason,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            rules,
            fired: Mutex::default(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Crashes (panics or aborts the process) if an entry asks for it at `point` of `step` for
    /// `tenant`; otherwise returns at once. Call it at the point it names.
    pub fn checkpoint(&self, point: FaultPoint, tenant: TenantId, step: ProvisioningStep) {
        let Some(rule) = self.fire(
            tenant,
            Target::Step(step),
            |e| matches!(e, Effect::Crash(_, p) if p == point),
        ) else {
            return;
        };
        let message = format!(
            "injected crash at {point} of {step} for tenant {tenant} (TENANTRY_FAULTS {:?})",
            rule.text
        );
        match rule.effect {
            Effect::Crash(Crash::Abort, _) => {
                tracing::error!("{message}: aborting the process");
                eprintln!("{message}: aborting the process");
                std::process::abort();
            }
            _ => panic!("{message}"),
        }
    }

    /// The message of an injected failure of `op` on `step` for `tenant`, if an entry asks for
    /// one now. Each `Some` counts as one of the entry's times.
    pub fn failure(&self, op: FaultOp, tenant: TenantId, step: ProvisioningStep) -> Option<String> {
        let rule = self.fire(tenant, Target::Step(step), |e| e == Effect::Fail(op))?;
        let verb = match op {
            FaultOp::Apply => "apply",
            FaultOp::Release => "release",
        };
        Some(format!(
            "injected failure of {step} {verb} (TENANTRY_FAULTS {:?})",
            rule.text
        ))
    }

    /// The message of an injected failure of switching `access` of `tenant` off or on, if an
    /// entry asks for one now.
    pub fn access_failure(
        &self,
        tenant: TenantId,
        access: AccessResource,
        action: AccessAction,
    ) -> Option<String> {
        let rule = self.fire(tenant, Target::Access(access), |e| e == Effect::FailAccess)?;
        Some(format!(
            "injected failure of {action} of access {access} (TENANTRY_FAULTS {:?})",
            rule.text
        ))
    }

    /// The first entry for `target` whose effect matches and that has times left for `tenant`,
    /// counting this firing.
    fn fire(
        &self,
        tenant: TenantId,
        target: Target,
        matches: impl Fn(Effect) -> bool,
    ) -> Option<&Rule> {
        let mut fired = self.fired.lock().unwrap_or_else(|p| p.into_inner());
        self.rules
            .iter()
            .enumerate()
            .filter(|(_, rule)| rule.target == target && matches(rule.effect))
            .find(|(i, rule)| {
                let count = fired.entry((*i, tenant)).or_insert(0);
                let fires = match rule.times {
                    Times::Always => true,
                    Times::First(n) => *count < n,
                };
                if fires {
                    *count += 1;
                }
                fires
            })
            .map(|(_, rule)| rule)
    }
}
