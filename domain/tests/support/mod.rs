//! Test helpers shared by the aggregate tests: a given/when/then [`Scenario`] over the tenant
//! aggregate, and fixtures that build a tenant's history up to any status.

// Each test file is its own crate and uses a different part of these helpers.
#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use tenantry_domain::{
    Aggregate, CreateTenant, DomainError, Email, IsolationModel, Plan, PlanCatalog,
    ProvisionedResource, ProvisioningStep, ReservedSubdomains, SecretRef, Slug, TenantCommand,
    TenantEvent, TenantId, TenantName, TenantNames, TenantState, TenantStatus,
};
use uuid::Uuid;

/// Given these events, when this command, then these events (or this refusal).
pub(crate) struct Scenario {
    state: TenantState,
}

/// A decision waiting for its `then`.
pub(crate) struct Decided {
    state: TenantState,
    result: Result<Vec<TenantEvent>, DomainError>,
}

impl Scenario {
    pub(crate) fn given(events: impl IntoIterator<Item = TenantEvent>) -> Self {
        Self {
            state: TenantState::fold(events),
        }
    }

    pub(crate) fn given_nothing() -> Self {
        Self::given([])
    }

    pub(crate) fn when(self, command: TenantCommand) -> Decided {
        let result = self.state.decide(command);
        Decided {
            state: self.state,
            result,
        }
    }
}

impl Decided {
    /// Asserts the decided events, and returns the state after them for further checks.
    #[track_caller]
    pub(crate) fn then(self, expected: impl IntoIterator<Item = TenantEvent>) -> TenantState {
        let expected: Vec<_> = expected.into_iter().collect();
        match self.result {
            Ok(events) => {
                assert_eq!(events, expected, "decided events");
                events.iter().fold(self.state, TenantState::apply)
            }
            Err(error) => panic!("expected {expected:#?}, but the command was refused: {error}"),
        }
    }

    /// Asserts the command was accepted and decided at least one event, whichever; returns the
    /// state after them.
    #[track_caller]
    pub(crate) fn then_any(self) -> TenantState {
        match self.result {
            Ok(events) if !events.is_empty() => events.iter().fold(self.state, TenantState::apply),
            other => panic!("expected some events, got {other:?}"),
        }
    }

    /// Asserts the command was accepted and changed nothing (its outcome already held).
    #[track_caller]
    pub(crate) fn then_nothing(self) {
        self.then([]);
    }

    #[track_caller]
    pub(crate) fn then_refused(self, expected: DomainError) {
        match self.result {
            Ok(events) => panic!("expected refusal {expected:?}, but decided {events:#?}"),
            Err(error) => assert_eq!(error, expected),
        }
    }

    /// The raw outcome, for tests that only look at part of it.
    pub(crate) fn result(self) -> Result<Vec<TenantEvent>, DomainError> {
        self.result
    }
}

/// A fixed instant plus `seconds`, so events are reproducible.
pub(crate) fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
}

pub(crate) fn tenant_id() -> TenantId {
    TenantId::from_uuid(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001))
}

/// The names of [`tenant_id`]'s infrastructure.
pub(crate) fn names() -> TenantNames {
    TenantNames::of(tenant_id())
}

pub(crate) fn plan(name: &str) -> Plan {
    PlanCatalog::default().plan(name).unwrap().clone()
}

pub(crate) fn name(value: &str) -> TenantName {
    TenantName::parse(value).unwrap()
}

pub(crate) fn slug() -> Slug {
    Slug::parse("drmarco", &ReservedSubdomains::default()).unwrap()
}

pub(crate) fn secret(value: &str) -> SecretRef {
    SecretRef::parse(value).unwrap()
}

/// Creating "Clínica Dr. Marco" on `pro` (whose default isolation is `schema_per_tenant`).
pub(crate) fn create(isolation: Option<IsolationModel>) -> CreateTenant {
    CreateTenant {
        tenant_id: tenant_id(),
        name: name("Clínica Dr. Marco"),
        slug: slug(),
        plan: plan("pro"),
        isolation,
        admin_email: Some(Email::parse("marco@example.com").unwrap()),
        at: at(0),
    }
}

/// What `step` makes in these tests.
pub(crate) fn resource(step: ProvisioningStep) -> ProvisionedResource {
    let names = names();
    let base = names.resource().to_owned();
    match step {
        ProvisioningStep::RegisterSharedTenant => ProvisionedResource::SharedTenant,
        ProvisioningStep::Schema => ProvisionedResource::Schema {
            schema: base.clone(),
            role: base,
        },
        ProvisioningStep::Database => ProvisionedResource::Database {
            database: base.clone(),
            role: base,
            password_secret: names.postgres_secret(),
        },
        ProvisioningStep::TenantMigrations => ProvisionedResource::TenantMigrations {
            target: base,
            latest_version: 20250101000000,
        },
        ProvisioningStep::RedisNamespace => ProvisionedResource::RedisNamespace {
            namespace: names.redis_namespace().to_owned(),
            acl_user: base,
            password_secret: names.redis_secret(),
        },
        ProvisioningStep::Queue => ProvisionedResource::Queue {
            queue: names.queue(),
        },
        ProvisioningStep::Hook(hook) => ProvisionedResource::Hook {
            hook,
            outputs: serde_json::json!({"instance": hook.as_str()}),
        },
    }
}

/// Runs `commands` from an empty stream and returns the events they decided, failing the test if
/// any is refused. Fixtures are built this way so they are always histories the aggregate itself
/// would have produced.
#[track_caller]
pub(crate) fn run(commands: impl IntoIterator<Item = TenantCommand>) -> Vec<TenantEvent> {
    TenantState::default()
        .decide_all(commands)
        .expect("fixture commands are accepted")
}

/// Commands that take a tenant of `isolation` to `status`. Along the way: provisioning stops after
/// the first step then (for `rolling_back`/`failed`) fails on the second; `deleting` and `deleted`
/// start from `active`, so resources are held when deletion is requested.
pub(crate) fn commands_to(status: TenantStatus, isolation: IsolationModel) -> Vec<TenantCommand> {
    use TenantCommand as C;
    let steps = ProvisioningStep::sequence(isolation);
    let mut commands = vec![C::Create(create(Some(isolation)))];
    let succeed = |step| C::RecordStepSucceeded {
        resource: resource(step),
        at: at(10),
    };
    let to_active = |commands: &mut Vec<TenantCommand>| {
        commands.push(C::RequestProvisioning { at: at(1) });
        commands.extend(steps.iter().copied().map(succeed));
        commands.push(C::CompleteProvisioning { at: at(20) });
    };
    match status {
        TenantStatus::Pending => {}
        TenantStatus::Provisioning => {
            commands.push(C::RequestProvisioning { at: at(1) });
            commands.push(succeed(steps[0]));
        }
        TenantStatus::Active => to_active(&mut commands),
        TenantStatus::Suspended => {
            to_active(&mut commands);
            commands.push(C::Suspend {
                reason: None,
                at: at(30),
            });
        }
        TenantStatus::RollingBack | TenantStatus::Failed => {
            commands.push(C::RequestProvisioning { at: at(1) });
            commands.push(succeed(steps[0]));
            commands.push(C::RecordStepFailed {
                step: steps[1],
                error: "connection refused".into(),
                at: at(11),
            });
            commands.push(C::StartRollback {
                reason: "gave up".into(),
                at: at(12),
            });
            if status == TenantStatus::Failed {
                commands.push(C::RecordResourceReleased {
                    step: steps[0],
                    at: at(13),
                });
                commands.push(C::CompleteRollback { at: at(14) });
            }
        }
        TenantStatus::Deleting | TenantStatus::Deleted => {
            to_active(&mut commands);
            commands.push(C::RequestDeletion {
                reason: None,
                at: at(40),
            });
            if status == TenantStatus::Deleted {
                for step in steps.iter().rev() {
                    commands.push(C::RecordResourceReleased {
                        step: *step,
                        at: at(41),
                    });
                }
                commands.push(C::MarkDeleted { at: at(42) });
            }
        }
    }
    commands
}

/// The events of a `schema_per_tenant` tenant that is now `status`.
#[track_caller]
pub(crate) fn history(status: TenantStatus) -> Vec<TenantEvent> {
    history_of(status, IsolationModel::SchemaPerTenant)
}

#[track_caller]
pub(crate) fn history_of(status: TenantStatus, isolation: IsolationModel) -> Vec<TenantEvent> {
    let events = run(commands_to(status, isolation));
    assert_eq!(
        TenantState::fold(&events).status(),
        Some(status),
        "fixture reaches {status}"
    );
    events
}
