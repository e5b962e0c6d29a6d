//! Suspension's work on a tenant's access: what a suspended tenant still needs switched off, what
//! a reactivated one needs switched on again, and that late records are refused.

mod support;

use support::{Scenario, at, history_of};
use tenantry_domain::events::{AccessChangeFailed, AccessRestored, AccessSuspended};
use tenantry_domain::{
    AccessAction, AccessResource, DomainError, IsolationModel, TenantCommand, TenantState,
    TenantStatus,
};

use AccessResource::*;

fn suspended_database_tenant() -> Vec<tenantry_domain::TenantEvent> {
    history_of(TenantStatus::Suspended, IsolationModel::DatabasePerTenant)
}

#[test]
fn a_suspended_tenant_needs_each_access_of_its_model_switched_off_in_turn() {
    let mut events = suspended_database_tenant();
    let state = TenantState::fold(&events);
    let tenant = state.tenant().expect("a tenant");
    assert_eq!(
        tenant.access_work(),
        Some((DatabaseLogin, AccessAction::Suspend))
    );
    let id = tenant.id;
    events.extend(run_on(
        &events,
        TenantCommand::RecordAccessSuspended {
            resource: DatabaseLogin,
            at: at(200),
        },
    ));
    let state = TenantState::fold(&events);
    assert_eq!(
        state.tenant().expect("tenant").access_work(),
        Some((RedisUser, AccessAction::Suspend))
    );
    // Recording the same access again decides nothing.
    Scenario::given(events.clone())
        .when(TenantCommand::RecordAccessSuspended {
            resource: DatabaseLogin,
            at: at(201),
        })
        .then_nothing();
    events.push(
        AccessSuspended {
            tenant_id: id,
            resource: RedisUser,
            at: at(202),
        }
        .into(),
    );
    let state = TenantState::fold(&events);
    assert_eq!(state.tenant().expect("tenant").access_work(), None);

    // Reactivated: each is switched on again, and a late suspension record is refused.
    events.extend(run_on(&events, TenantCommand::Reactivate { at: at(300) }));
    let state = TenantState::fold(&events);
    let tenant = state.tenant().expect("tenant");
    assert!(tenant.suspension.is_none());
    assert_eq!(
        tenant.access_work(),
        Some((DatabaseLogin, AccessAction::Restore))
    );
    assert!(matches!(
        state.decide(TenantCommand::RecordAccessSuspended {
            resource: DatabaseLogin,
            at: at(301)
        }),
        Err(DomainError::InvalidState { .. })
    ));
    Scenario::given(events.clone())
        .when(TenantCommand::RecordAccessRestored {
            resource: RedisUser,
            at: at(302),
        })
        .then([AccessRestored {
            tenant_id: id,
            resource: RedisUser,
            at: at(302),
        }
        .into()]);
}

#[test]
fn a_failed_try_counts_and_names_the_next_one_and_a_success_resets_it() {
    let events = history_of(TenantStatus::Suspended, IsolationModel::SharedSchema);
    let state = TenantState::fold(&events);
    let tenant = state.tenant().expect("a tenant");
    assert!(tenant.suspension.is_some());
    let failed = TenantCommand::RecordAccessChangeFailed {
        resource: RedisUser,
        action: AccessAction::Suspend,
        error: "Redis is unavailable".into(),
        transient: true,
        retry_at: at(210),
        at: at(200),
    };
    let mut events = events.clone();
    events.extend(run_on(&events, failed.clone()));
    events.extend(run_on(&events, failed));
    let state = TenantState::fold(&events);
    let access = &state.tenant().expect("tenant").access;
    assert_eq!(access.failures, 2);
    assert_eq!(access.next_retry_at, Some(at(210)));
    let last = events.last().expect("an event");
    assert!(
        matches!(
            last,
            tenantry_domain::TenantEvent::AccessChangeFailed(AccessChangeFailed {
                failures: 2,
                transient: true,
                ..
            })
        ),
        "{last:?}"
    );
    // A restore is not what a suspended tenant needs: refused.
    assert!(
        state
            .decide(TenantCommand::RecordAccessChangeFailed {
                resource: RedisUser,
                action: AccessAction::Restore,
                error: "x".into(),
                transient: false,
                retry_at: at(300),
                at: at(220),
            })
            .is_err()
    );
    events.extend(run_on(
        &events,
        TenantCommand::RecordAccessSuspended {
            resource: RedisUser,
            at: at(230),
        },
    ));
    let state = TenantState::fold(&events);
    let access = &state.tenant().expect("tenant").access;
    assert_eq!((access.failures, access.next_retry_at), (0, None));
}

/// The events `command` decides after `events`.
fn run_on(
    events: &[tenantry_domain::TenantEvent],
    command: TenantCommand,
) -> Vec<tenantry_domain::TenantEvent> {
    TenantState::fold(events).decide(command).expect("accepted")
}
