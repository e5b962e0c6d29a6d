//! Given/when/then tests of the sagas' commands: steps succeeding, failing and being retried,
//! completion, rollback, released resources, and the end of a deletion.

mod support;

use support::{Scenario, at, history, history_of, names, resource, run, tenant_id};
use tenantry_domain::events::{
    ProvisioningCompleted, ProvisioningRetryScheduled, ProvisioningRollbackStarted,
    ProvisioningRolledBack, ProvisioningStepFailed, ResourceReleased, SchemaProvisioned,
    TenantDeleted, TenantMigrationsApplied,
};
use tenantry_domain::{
    Aggregate, DomainError, DomainEvent, IsolationModel, ProvisionedResource, ProvisioningStep,
    TenantCommand, TenantEvent, TenantState, TenantStatus,
};

use ProvisioningStep as Step;

fn succeed(step: Step) -> TenantCommand {
    TenantCommand::RecordStepSucceeded {
        resource: resource(step),
        at: at(10),
    }
}

fn fail(step: Step) -> TenantCommand {
    TenantCommand::RecordStepFailed {
        step,
        error: "connection refused".into(),
        at: at(10),
    }
}

fn fail_transiently(step: Step, second: i64) -> TenantCommand {
    TenantCommand::RecordTransientStepFailure {
        step,
        error: "Redis: connection refused".into(),
        at: at(second),
    }
}

fn release(step: Step) -> TenantCommand {
    TenantCommand::RecordResourceReleased { step, at: at(50) }
}

fn released(step: Step) -> TenantEvent {
    ResourceReleased {
        tenant_id: tenant_id(),
        resource: resource(step),
        at: at(50),
    }
    .into()
}

/// A tenant whose provisioning was just requested.
fn requested(isolation: IsolationModel) -> Vec<TenantEvent> {
    let mut commands = support::commands_to(TenantStatus::Pending, isolation);
    commands.push(TenantCommand::RequestProvisioning { at: at(1) });
    run(commands)
}

#[test]
fn a_step_success_records_what_it_made() {
    let schema = names().schema().to_owned();
    let state = Scenario::given(requested(IsolationModel::SchemaPerTenant))
        .when(succeed(Step::Schema))
        .then([SchemaProvisioned {
            tenant_id: tenant_id(),
            attempt: 1,
            schema: schema.clone(),
            role: schema,
            at: at(10),
        }
        .into()]);
    let tenant = state.tenant().unwrap();
    assert_eq!(
        tenant.resources.get(&Step::Schema),
        Some(&resource(Step::Schema))
    );
    assert_eq!(tenant.next_step(), Some(Step::TenantMigrations));
}

#[test]
fn each_isolation_model_provisions_its_steps_in_order_to_active() {
    for isolation in IsolationModel::ALL {
        let mut state = TenantState::fold(requested(isolation));
        for step in ProvisioningStep::sequence(isolation) {
            let events = state.decide(succeed(*step)).unwrap();
            assert_eq!(events.len(), 1);
            assert_eq!(events[0].provisioned_resource(), Some(resource(*step)));
            state = state.apply(&events[0]);
        }
        let events = state
            .decide(TenantCommand::CompleteProvisioning { at: at(20) })
            .unwrap();
        assert_eq!(
            events.iter().fold(state, TenantState::apply).status(),
            Some(TenantStatus::Active),
            "{isolation}"
        );

        let full = history_of(TenantStatus::Active, isolation);
        let types: Vec<_> = full.iter().map(TenantEvent::event_type).collect();
        let expected_steps: Vec<_> = match isolation {
            IsolationModel::SharedSchema => {
                vec![
                    "SharedTenantRegistered",
                    "RedisNamespaceProvisioned",
                    "QueueProvisioned",
                ]
            }
            IsolationModel::SchemaPerTenant => vec![
                "SchemaProvisioned",
                "TenantMigrationsApplied",
                "RedisNamespaceProvisioned",
                "QueueProvisioned",
            ],
            IsolationModel::DatabasePerTenant => vec![
                "DatabaseProvisioned",
                "TenantMigrationsApplied",
                "RedisNamespaceProvisioned",
                "QueueProvisioned",
            ],
        };
        let mut expected = vec!["TenantCreated", "ProvisioningRequested"];
        expected.extend(expected_steps);
        expected.push("ProvisioningCompleted");
        assert_eq!(types, expected, "{isolation}");
    }
}

#[test]
fn complete_provisioning_once_every_step_succeeded() {
    let mut given = requested(IsolationModel::SchemaPerTenant);
    given.extend(run_from(
        &given,
        [
            succeed(Step::Schema),
            succeed(Step::TenantMigrations),
            succeed(Step::RedisNamespace),
            succeed(Step::Queue),
        ],
    ));
    let state = Scenario::given(given)
        .when(TenantCommand::CompleteProvisioning { at: at(20) })
        .then([ProvisioningCompleted {
            tenant_id: tenant_id(),
            attempt: 1,
            at: at(20),
        }
        .into()]);
    assert_eq!(state.status(), Some(TenantStatus::Active));
}

#[test]
fn complete_provisioning_is_refused_while_steps_are_missing() {
    Scenario::given(history(TenantStatus::Provisioning))
        .when(TenantCommand::CompleteProvisioning { at: at(20) })
        .then_refused(DomainError::StepsIncomplete {
            missing: vec![Step::TenantMigrations, Step::RedisNamespace, Step::Queue],
        });
}

#[test]
fn complete_provisioning_again_changes_nothing() {
    for status in [TenantStatus::Active, TenantStatus::Suspended] {
        Scenario::given(history(status))
            .when(TenantCommand::CompleteProvisioning { at: at(100) })
            .then_nothing();
    }
}

#[test]
fn a_step_out_of_order_is_refused() {
    Scenario::given(requested(IsolationModel::SchemaPerTenant))
        .when(succeed(Step::Queue))
        .then_refused(DomainError::StepOutOfOrder {
            step: Step::Queue,
            expected: Some(Step::Schema),
        });
}

#[test]
fn a_step_of_another_isolation_model_is_refused() {
    let refusal = Scenario::given(requested(IsolationModel::SchemaPerTenant))
        .when(succeed(Step::Database))
        .result()
        .unwrap_err();
    assert_eq!(
        refusal,
        DomainError::StepNotPlanned {
            step: Step::Database,
            isolation: IsolationModel::SchemaPerTenant
        }
    );
    assert_eq!(
        refusal.to_string(),
        "step database is not part of this tenant's provisioning (schema_per_tenant)"
    );
}

#[test]
fn recording_a_step_twice_alike_changes_nothing() {
    Scenario::given(history(TenantStatus::Provisioning))
        .when(succeed(Step::Schema))
        .then_nothing();
}

#[test]
fn recording_a_step_twice_with_other_resources_is_refused() {
    Scenario::given(history(TenantStatus::Provisioning))
        .when(TenantCommand::RecordStepSucceeded {
            resource: ProvisionedResource::Schema {
                schema: "tenant_other".into(),
                role: "tenant_other".into(),
            },
            at: at(10),
        })
        .then_refused(DomainError::StepAlreadyRecorded { step: Step::Schema });
}

#[test]
fn failures_count_the_tries_of_a_step_and_retries_are_scheduled() {
    let given = history(TenantStatus::Provisioning);
    let state = Scenario::given(given.clone())
        .when(fail(Step::TenantMigrations))
        .then([ProvisioningStepFailed {
            tenant_id: tenant_id(),
            attempt: 1,
            step: Step::TenantMigrations,
            step_attempt: 1,
            error: "connection refused".into(),
            transient: false,
            at: at(10),
        }
        .into()]);
    assert_eq!(
        state.tenant().unwrap().provisioning.last_error.as_deref(),
        Some("connection refused")
    );

    let mut given = given;
    given.extend(run_from(&given, [fail(Step::TenantMigrations)]));
    let state = Scenario::given(given.clone())
        .when(TenantCommand::ScheduleRetry {
            step: Step::TenantMigrations,
            retry_at: at(15),
            at: at(11),
        })
        .then([ProvisioningRetryScheduled {
            tenant_id: tenant_id(),
            attempt: 1,
            step: Step::TenantMigrations,
            step_attempt: 2,
            retry_at: at(15),
            at: at(11),
        }
        .into()]);
    assert_eq!(
        state.tenant().unwrap().provisioning.next_retry_at,
        Some(at(15))
    );

    // The second try fails too: it is try 2.
    given.extend(run_from(
        &given,
        [TenantCommand::ScheduleRetry {
            step: Step::TenantMigrations,
            retry_at: at(15),
            at: at(11),
        }],
    ));
    let events = TenantState::fold(&given)
        .decide(fail(Step::TenantMigrations))
        .unwrap();
    let [TenantEvent::ProvisioningStepFailed(failed)] = events.as_slice() else {
        panic!("expected one ProvisioningStepFailed, got {events:?}");
    };
    assert_eq!(failed.step_attempt, 2);

    // Then the third try succeeds, and the schedule is cleared.
    given.extend(events);
    let state = Scenario::given(given)
        .when(succeed(Step::TenantMigrations))
        .then([TenantMigrationsApplied {
            tenant_id: tenant_id(),
            attempt: 1,
            target: names().resource().to_owned(),
            latest_version: 20250101000000,
            at: at(10),
        }
        .into()]);
    let provisioning = &state.tenant().unwrap().provisioning;
    assert_eq!(provisioning.next_retry_at, None);
    assert_eq!(provisioning.failures.get(&Step::TenantMigrations), Some(&2));
}

#[test]
fn a_failure_of_another_step_than_the_next_is_refused() {
    Scenario::given(history(TenantStatus::Provisioning))
        .when(fail(Step::Queue))
        .then_refused(DomainError::StepOutOfOrder {
            step: Step::Queue,
            expected: Some(Step::TenantMigrations),
        });
}

#[test]
fn a_retry_needs_a_failure_first() {
    Scenario::given(history(TenantStatus::Provisioning))
        .when(TenantCommand::ScheduleRetry {
            step: Step::TenantMigrations,
            retry_at: at(20),
            at: at(10),
        })
        .then_refused(DomainError::NoFailureToRetry {
            step: Step::TenantMigrations,
        });
}

#[test]
fn start_rollback_names_the_step_that_was_running() {
    let mut given = history(TenantStatus::Provisioning);
    given.extend(run_from(&given, [fail(Step::TenantMigrations)]));
    let state = Scenario::given(given)
        .when(TenantCommand::StartRollback {
            reason: "step tenant_migrations failed 5 times".into(),
            at: at(30),
        })
        .then([ProvisioningRollbackStarted {
            tenant_id: tenant_id(),
            attempt: 1,
            failed_step: Some(Step::TenantMigrations),
            reason: "step tenant_migrations failed 5 times".into(),
            at: at(30),
        }
        .into()]);
    assert_eq!(state.status(), Some(TenantStatus::RollingBack));
    assert_eq!(
        state.tenant().unwrap().resources_to_release(),
        vec![&resource(Step::Schema)]
    );
}

#[test]
fn start_rollback_again_changes_nothing() {
    Scenario::given(history(TenantStatus::RollingBack))
        .when(TenantCommand::StartRollback {
            reason: "again".into(),
            at: at(30),
        })
        .then_nothing();
}

#[test]
fn a_rollback_releases_what_was_made_then_ends_failed() {
    let given = history(TenantStatus::RollingBack);
    Scenario::given(given.clone())
        .when(TenantCommand::CompleteRollback { at: at(60) })
        .then_refused(DomainError::ResourcesHeld {
            action: "complete the rollback",
            held: vec![Step::Schema],
        });

    Scenario::given(given.clone())
        .when(release(Step::Schema))
        .then([released(Step::Schema)]);

    let mut given = given;
    given.extend(run_from(&given, [release(Step::Schema)]));
    let state = Scenario::given(given)
        .when(TenantCommand::CompleteRollback { at: at(60) })
        .then([ProvisioningRolledBack {
            tenant_id: tenant_id(),
            attempt: 1,
            at: at(60),
        }
        .into()]);
    assert_eq!(state.status(), Some(TenantStatus::Failed));
    assert!(state.tenant().unwrap().resources.is_empty());
}

#[test]
fn releasing_what_is_not_held_changes_nothing() {
    // Released already, or never made: the log already says it does not exist.
    Scenario::given(history(TenantStatus::RollingBack))
        .when(release(Step::Queue))
        .then_nothing();
}

#[test]
fn complete_rollback_again_changes_nothing() {
    Scenario::given(history(TenantStatus::Failed))
        .when(TenantCommand::CompleteRollback { at: at(70) })
        .then_nothing();
}

#[test]
fn a_step_that_succeeds_during_the_rollback_is_recorded_so_it_gets_released() {
    let state = Scenario::given(history(TenantStatus::RollingBack))
        .when(succeed(Step::TenantMigrations))
        .then_any();
    let tenant = state.tenant().unwrap();
    assert_eq!(tenant.status, TenantStatus::RollingBack);
    assert_eq!(
        tenant.resources_to_release(),
        vec![&resource(Step::TenantMigrations), &resource(Step::Schema)]
    );
}

#[test]
fn a_retried_tenant_can_fail_and_succeed_anew() {
    let mut given = history(TenantStatus::Failed);
    given.extend(run_from(
        &given,
        [
            TenantCommand::RequestProvisioning { at: at(100) },
            succeed(Step::Schema),
            succeed(Step::TenantMigrations),
            succeed(Step::RedisNamespace),
            succeed(Step::Queue),
        ],
    ));
    let state = Scenario::given(given)
        .when(TenantCommand::CompleteProvisioning { at: at(120) })
        .then([ProvisioningCompleted {
            tenant_id: tenant_id(),
            attempt: 2,
            at: at(120),
        }
        .into()]);
    assert_eq!(state.status(), Some(TenantStatus::Active));
}

#[test]
fn deletion_releases_everything_in_reverse_then_marks_deleted() {
    let given = history(TenantStatus::Deleting);
    let tenant = TenantState::fold(&given).tenant().unwrap().clone();
    let order: Vec<_> = tenant
        .resources_to_release()
        .into_iter()
        .map(ProvisionedResource::step)
        .collect();
    assert_eq!(
        order,
        [
            Step::Queue,
            Step::RedisNamespace,
            Step::TenantMigrations,
            Step::Schema
        ]
    );

    Scenario::given(given.clone())
        .when(TenantCommand::MarkDeleted { at: at(60) })
        .then_refused(DomainError::ResourcesHeld {
            action: "finish deleting the tenant",
            held: vec![
                Step::Schema,
                Step::TenantMigrations,
                Step::RedisNamespace,
                Step::Queue,
            ],
        });

    let mut given = given;
    given.extend(run_from(&given, order.iter().map(|step| release(*step))));
    let state = Scenario::given(given)
        .when(TenantCommand::MarkDeleted { at: at(60) })
        .then([TenantDeleted {
            tenant_id: tenant_id(),
            slug: support::slug(),
            at: at(60),
        }
        .into()]);
    assert_eq!(state.status(), Some(TenantStatus::Deleted));
}

#[test]
fn deletion_during_provisioning_records_a_late_step_and_releases_it_too() {
    let mut given = history(TenantStatus::Provisioning);
    given.extend(run_from(
        &given,
        [TenantCommand::RequestDeletion {
            reason: None,
            at: at(40),
        }],
    ));
    // The saga's in-flight step finishes after deletion was requested; its order no longer matters.
    let state = Scenario::given(given.clone())
        .when(succeed(Step::TenantMigrations))
        .then_any();
    assert_eq!(state.status(), Some(TenantStatus::Deleting));
    assert_eq!(state.tenant().unwrap().resources.len(), 2);

    // Step failures are no longer the provisioning saga's business.
    Scenario::given(given.clone())
        .when(fail(Step::TenantMigrations))
        .then_refused(DomainError::InvalidState {
            action: "record a failed provisioning step for",
            status: TenantStatus::Deleting,
        });

    given.extend(run_from(
        &given,
        [
            succeed(Step::TenantMigrations),
            release(Step::TenantMigrations),
            release(Step::Schema),
        ],
    ));
    Scenario::given(given)
        .when(TenantCommand::MarkDeleted { at: at(60) })
        .then_any();
}

#[test]
fn deletion_of_a_failed_tenant_has_nothing_to_release() {
    let mut given = history(TenantStatus::Failed);
    given.extend(run_from(
        &given,
        [TenantCommand::RequestDeletion {
            reason: None,
            at: at(40),
        }],
    ));
    let state = Scenario::given(given)
        .when(TenantCommand::MarkDeleted { at: at(41) })
        .then_any();
    assert_eq!(state.status(), Some(TenantStatus::Deleted));
}

#[test]
fn mark_deleted_again_changes_nothing() {
    Scenario::given(history(TenantStatus::Deleted))
        .when(TenantCommand::MarkDeleted { at: at(100) })
        .then_nothing();
}

/// The events `commands` decide after `given`.
#[track_caller]
fn run_from(
    given: &[TenantEvent],
    commands: impl IntoIterator<Item = TenantCommand>,
) -> Vec<TenantEvent> {
    TenantState::fold(given)
        .decide_all(commands)
        .expect("the setup's commands are accepted")
}

#[test]
fn transient_failures_do_not_spend_tries_and_a_retry_may_follow_them() {
    let mut given = history(TenantStatus::Provisioning);
    let step = Step::TenantMigrations;
    let state = Scenario::given(given.clone())
        .when(fail_transiently(step, 10))
        .then([ProvisioningStepFailed {
            tenant_id: tenant_id(),
            attempt: 1,
            step,
            step_attempt: 1,
            error: "Redis: connection refused".into(),
            transient: true,
            at: at(10),
        }
        .into()]);
    let provisioning = &state.tenant().unwrap().provisioning;
    assert_eq!(provisioning.failures.get(&step), None, "no try spent");
    let streak = provisioning.transient_streak(step).expect("a streak");
    assert_eq!((streak.since, streak.failures), (at(10), 1));

    // A retry may be scheduled after a transient failure alone: the try that counts next is 1.
    given.extend(run_from(&given, [fail_transiently(step, 10)]));
    let retry = TenantCommand::ScheduleRetry {
        step,
        retry_at: at(12),
        at: at(10),
    };
    let events = TenantState::fold(&given).decide(retry.clone()).unwrap();
    let [TenantEvent::ProvisioningRetryScheduled(scheduled)] = events.as_slice() else {
        panic!("expected a retry, got {events:?}");
    };
    assert_eq!(scheduled.step_attempt, 1);
    given.extend(events);

    // More transient failures lengthen the streak and still spend nothing.
    given.extend(run_from(
        &given,
        [fail_transiently(step, 12), retry.clone()],
    ));
    let state = TenantState::fold(&given);
    let provisioning = &state.tenant().unwrap().provisioning;
    assert_eq!(provisioning.failures.get(&step), None);
    let streak = provisioning.transient_streak(step).expect("a streak");
    assert_eq!((streak.since, streak.failures), (at(10), 2));

    // A failure that counts is try 1, and ends the streak.
    let events = state.decide(fail(step)).unwrap();
    let [TenantEvent::ProvisioningStepFailed(failed)] = events.as_slice() else {
        panic!("expected one ProvisioningStepFailed, got {events:?}");
    };
    assert_eq!((failed.step_attempt, failed.transient), (1, false));
    given.extend(events);
    let state = TenantState::fold(&given);
    let provisioning = &state.tenant().unwrap().provisioning;
    assert_eq!(provisioning.failures.get(&step), Some(&1));
    assert_eq!(provisioning.transient_streak(step), None);
}

#[test]
fn a_plans_hooks_run_after_the_built_in_steps_and_are_released_first_in_reverse_declared_order() {
    use tenantry_domain::HookName;
    // Declared `zeta` before `alpha`: the release order follows the declaration, not the names.
    let hooks = vec![
        HookName::parse("zeta").unwrap(),
        HookName::parse("alpha").unwrap(),
    ];
    let isolation = IsolationModel::SchemaPerTenant;
    let mut commands = vec![
        TenantCommand::Create(support::create(Some(isolation))),
        TenantCommand::RequestProvisioningWithHooks {
            hooks: hooks.clone(),
            at: at(1),
        },
    ];
    let steps: Vec<ProvisioningStep> = ProvisioningStep::sequence(isolation)
        .iter()
        .copied()
        .chain(hooks.iter().copied().map(ProvisioningStep::Hook))
        .collect();
    for step in &steps {
        commands.push(TenantCommand::RecordStepSucceeded {
            resource: resource(*step),
            at: at(2),
        });
    }
    commands.push(TenantCommand::RequestDeletion {
        reason: None,
        at: at(3),
    });
    let state = TenantState::fold(run(commands));
    let tenant = state.tenant().unwrap();
    assert_eq!(tenant.provisioning.steps, steps);
    let order: Vec<ProvisioningStep> = tenant
        .resources_to_release()
        .iter()
        .map(|r| r.step())
        .collect();
    let mut expected: Vec<ProvisioningStep> = steps.clone();
    expected.reverse();
    assert_eq!(order, expected);
    assert_eq!(tenant.hooks_to_release(), [hooks[1], hooks[0]]);
}
