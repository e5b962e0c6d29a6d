//! Credential rotation's rules: one rotation at a time, only for an active tenant; applied, then
//! retired once its grace period is due; records that arrive twice decide nothing, and a
//! suspension holds the work until the reactivation.

mod support;

use support::{Scenario, at, history_of};
use tenantry_domain::events::CredentialsChange;
use tenantry_domain::{
    DomainError, IsolationModel, TenantCommand, TenantEvent, TenantNames, TenantSecret,
    TenantState, TenantStatus,
};

fn rotate(at_secs: i64, grace_secs: i64) -> TenantCommand {
    TenantCommand::RotateCredentials {
        by: "staff:ops@example.com".into(),
        ip: Some("203.0.113.7".into()),
        grace_until: at(at_secs + grace_secs),
        at: at(at_secs),
    }
}

fn run_on(events: &[TenantEvent], command: TenantCommand) -> Vec<TenantEvent> {
    TenantState::fold(events).decide(command).expect("accepted")
}

fn work(
    events: &[TenantEvent],
) -> Option<(
    u32,
    CredentialsChange,
    Option<chrono::DateTime<chrono::Utc>>,
)> {
    TenantState::fold(events)
        .tenant()
        .expect("a tenant")
        .credentials_work()
}

#[test]
fn a_rotation_is_applied_then_retired_when_its_grace_period_ends() {
    let mut events = history_of(TenantStatus::Active, IsolationModel::DatabasePerTenant);
    assert_eq!(work(&events), None);
    events.extend(run_on(&events, rotate(100, 60)));
    assert_eq!(work(&events), Some((1, CredentialsChange::Apply, None)));

    // Another rotation waits for this one.
    Scenario::given(events.clone())
        .when(rotate(101, 60))
        .then_refused(DomainError::RotationInProgress {
            rotation: 1,
            grace_until: Some(at(160)),
        });

    events.extend(run_on(
        &events,
        TenantCommand::RecordCredentialsApplied {
            rotation: 1,
            at: at(102),
        },
    ));
    // Recorded twice (a saga that crashed after its append): nothing.
    Scenario::given(events.clone())
        .when(TenantCommand::RecordCredentialsApplied {
            rotation: 1,
            at: at(103),
        })
        .then_nothing();
    assert_eq!(
        work(&events),
        Some((1, CredentialsChange::Retire, Some(at(160))))
    );
    let state = TenantState::fold(&events);
    let credentials = &state.tenant().expect("tenant").credentials;
    let names = TenantNames::of(state.tenant().expect("tenant").id);
    assert!(credentials.in_grace());
    assert_eq!(credentials.login(&names), format!("{}_a", names.role()));
    assert_eq!(
        credentials.secret(&names, TenantSecret::Postgres).as_str(),
        format!("{}.r1", names.postgres_secret())
    );

    events.extend(run_on(
        &events,
        TenantCommand::RecordCredentialsRetired {
            rotation: 1,
            at: at(161),
        },
    ));
    assert_eq!(work(&events), None);
    let state = TenantState::fold(&events);
    let credentials = &state.tenant().expect("tenant").credentials;
    assert!(!credentials.in_grace());
    // Retired: the provisioned reference holds the current password again.
    assert_eq!(
        credentials.secret(&names, TenantSecret::Postgres),
        names.postgres_secret()
    );

    // The next rotation uses the other login.
    events.extend(run_on(&events, rotate(200, 0)));
    events.extend(run_on(
        &events,
        TenantCommand::RecordCredentialsApplied {
            rotation: 2,
            at: at(201),
        },
    ));
    let state = TenantState::fold(&events);
    assert_eq!(
        state.tenant().expect("tenant").credentials.login(&names),
        format!("{}_b", names.role())
    );
}

#[test]
fn only_an_active_tenant_rotates_and_a_suspension_holds_the_work() {
    for status in [
        TenantStatus::Pending,
        TenantStatus::Suspended,
        TenantStatus::Deleted,
    ] {
        let events = history_of(status, IsolationModel::SchemaPerTenant);
        let refused = TenantState::fold(&events).decide(rotate(100, 60));
        assert!(
            matches!(refused, Err(DomainError::InvalidState { .. })),
            "{status}: {refused:?}"
        );
    }
    let mut events = history_of(TenantStatus::Active, IsolationModel::SchemaPerTenant);
    events.extend(run_on(&events, rotate(100, 60)));
    events.extend(run_on(
        &events,
        TenantCommand::Suspend {
            reason: None,
            at: at(101),
        },
    ));
    assert_eq!(work(&events), None, "suspended: the rotation waits");
    Scenario::given(events.clone())
        .when(TenantCommand::RecordCredentialsApplied {
            rotation: 1,
            at: at(102),
        })
        .then_refused(DomainError::InvalidState {
            action: "record credentials applied for",
            status: TenantStatus::Suspended,
        });
    events.extend(run_on(&events, TenantCommand::Reactivate { at: at(103) }));
    assert_eq!(work(&events), Some((1, CredentialsChange::Apply, None)));
}

#[test]
fn a_failed_change_is_retried_at_its_time_and_a_retirement_never_before_its_grace() {
    let mut events = history_of(TenantStatus::Active, IsolationModel::SharedSchema);
    events.extend(run_on(&events, rotate(100, 60)));
    events.extend(run_on(
        &events,
        TenantCommand::RecordCredentialsChangeFailed {
            rotation: 1,
            change: CredentialsChange::Apply,
            error: "failed to reach Redis".into(),
            transient: true,
            retry_at: at(105),
            at: at(101),
        },
    ));
    assert_eq!(
        work(&events),
        Some((1, CredentialsChange::Apply, Some(at(105))))
    );
    // A failure of another change than the one needed is refused.
    Scenario::given(events.clone())
        .when(TenantCommand::RecordCredentialsChangeFailed {
            rotation: 1,
            change: CredentialsChange::Retire,
            error: "x".into(),
            transient: false,
            retry_at: at(106),
            at: at(102),
        })
        .then_refused(DomainError::InvalidState {
            action: "record a credentials change failed for",
            status: TenantStatus::Active,
        });
    events.extend(run_on(
        &events,
        TenantCommand::RecordCredentialsApplied {
            rotation: 1,
            at: at(106),
        },
    ));
    // A retirement that failed after the grace period retries at its own time; one whose retry
    // is before the end of the grace period waits for the grace.
    events.extend(run_on(
        &events,
        TenantCommand::RecordCredentialsChangeFailed {
            rotation: 1,
            change: CredentialsChange::Retire,
            error: "failed to reach PostgreSQL".into(),
            transient: true,
            retry_at: at(120),
            at: at(107),
        },
    ));
    assert_eq!(
        work(&events),
        Some((1, CredentialsChange::Retire, Some(at(160))))
    );
}
