//! The whole lifecycle table at once: every command in every status, checking exactly which ones
//! the status lets through and that every other one is refused with a message naming the status.
//! (What the accepted ones decide is in `tenant_lifecycle.rs` and `tenant_provisioning.rs`.)

mod support;

use support::{Scenario, at, history, plan, resource, tenant_id};
use tenantry_domain::{DomainError, ProvisioningStep, TenantCommand, TenantState, TenantStatus};

use TenantStatus::*;

/// A representative of each command other than `Create`, and the statuses it is allowed in.
fn table() -> Vec<(TenantCommand, &'static [TenantStatus])> {
    use TenantCommand as C;
    vec![
        (
            C::Rename {
                name: support::name("Another name"),
                at: at(100),
            },
            &[
                Pending,
                Provisioning,
                Active,
                Suspended,
                RollingBack,
                Failed,
            ],
        ),
        (
            C::ChangePlan {
                plan: plan("enterprise"),
                at: at(100),
            },
            &[
                Pending,
                Provisioning,
                Active,
                Suspended,
                RollingBack,
                Failed,
            ],
        ),
        (
            C::RequestProvisioning { at: at(100) },
            &[Pending, Provisioning, Failed],
        ),
        (
            C::Suspend {
                reason: None,
                at: at(100),
            },
            &[Active, Suspended],
        ),
        (C::Reactivate { at: at(100) }, &[Active, Suspended]),
        (
            C::RequestDeletion {
                reason: None,
                at: at(100),
            },
            &[
                Pending,
                Provisioning,
                Active,
                Suspended,
                RollingBack,
                Failed,
                Deleting,
            ],
        ),
        (
            C::RecordStepSucceeded {
                resource: resource(ProvisioningStep::TenantMigrations),
                at: at(100),
            },
            &[Provisioning, RollingBack, Deleting],
        ),
        (
            C::RecordStepFailed {
                step: ProvisioningStep::TenantMigrations,
                error: "boom".into(),
                at: at(100),
            },
            &[Provisioning],
        ),
        (
            C::ScheduleRetry {
                step: ProvisioningStep::TenantMigrations,
                retry_at: at(200),
                at: at(100),
            },
            &[Provisioning],
        ),
        (
            C::CompleteProvisioning { at: at(100) },
            &[Provisioning, Active, Suspended],
        ),
        (
            C::StartRollback {
                reason: "gave up".into(),
                at: at(100),
            },
            &[Provisioning, RollingBack],
        ),
        (
            C::RecordResourceReleased {
                step: ProvisioningStep::Schema,
                at: at(100),
            },
            &[RollingBack, Deleting],
        ),
        (C::CompleteRollback { at: at(100) }, &[RollingBack, Failed]),
        (C::MarkDeleted { at: at(100) }, &[Deleting, Deleted]),
        (
            C::RecordResourceRepaired {
                kind: tenantry_domain::events::RepairedKind::RedisUser,
                name: "tenant_x".into(),
                reason: "missing".into(),
                at: at(100),
            },
            &[Active, Suspended],
        ),
        (
            C::RecordAccessSuspended {
                resource: tenantry_domain::AccessResource::RedisUser,
                at: at(100),
            },
            &[Suspended],
        ),
        (
            C::RecordAccessRestored {
                resource: tenantry_domain::AccessResource::RedisUser,
                at: at(100),
            },
            &[Active],
        ),
        (
            C::RecordAccessChangeFailed {
                // The first access a schema tenant's suspension switches off.
                resource: tenantry_domain::AccessResource::DatabaseLogin,
                action: tenantry_domain::AccessAction::Suspend,
                error: "boom".into(),
                transient: true,
                retry_at: at(200),
                at: at(100),
            },
            &[Suspended],
        ),
    ]
}

#[test]
fn every_command_is_allowed_exactly_in_its_statuses() {
    for status in TenantStatus::ALL {
        let state = TenantState::fold(history(status));
        for (command, allowed) in table() {
            let name = command.name();
            let outcome = state.decide(command);
            let refused_by_status = matches!(
                &outcome,
                Err(DomainError::InvalidState { status: s, .. }) if *s == status
            );
            assert_eq!(
                !refused_by_status,
                allowed.contains(&status),
                "{name} in {status}: {outcome:?}"
            );
            if let Err(error @ DomainError::InvalidState { .. }) = &outcome {
                let message = error.to_string();
                assert!(
                    message.starts_with("cannot ")
                        && message.ends_with(&format!(" a tenant that is {status}")),
                    "{name} in {status}: message {message:?} names the status"
                );
            }
        }
    }
}

#[test]
fn create_is_refused_once_the_tenant_exists_whatever_its_status() {
    for status in TenantStatus::ALL {
        Scenario::given(history(status))
            .when(TenantCommand::Create(support::create(None)))
            .then_refused(DomainError::AlreadyExists {
                tenant_id: tenant_id(),
            });
    }
}

#[test]
fn every_command_but_create_needs_a_tenant() {
    for (command, _) in table() {
        Scenario::given_nothing()
            .when(command)
            .then_refused(DomainError::NotFound);
    }
}

/// The status each accepted, event-producing command leads to: the arrows of ARCHITECTURE.md.
#[test]
fn accepted_commands_move_along_the_lifecycle_arrows() {
    use TenantCommand as C;
    let cases: Vec<(TenantStatus, TenantCommand, TenantStatus)> = vec![
        (
            Pending,
            C::RequestProvisioning { at: at(100) },
            Provisioning,
        ),
        (Failed, C::RequestProvisioning { at: at(100) }, Provisioning),
        (
            Active,
            C::Suspend {
                reason: None,
                at: at(100),
            },
            Suspended,
        ),
        (Suspended, C::Reactivate { at: at(100) }, Active),
        (
            Provisioning,
            C::StartRollback {
                reason: "gave up".into(),
                at: at(100),
            },
            RollingBack,
        ),
    ];
    for (from, command, to) in cases {
        let name = command.name();
        let state = Scenario::given(history(from)).when(command).then_any();
        assert_eq!(state.status(), Some(to), "{name} from {from}");
    }
    for from in [
        Pending,
        Provisioning,
        Active,
        Suspended,
        RollingBack,
        Failed,
    ] {
        let state = Scenario::given(history(from))
            .when(C::RequestDeletion {
                reason: None,
                at: at(100),
            })
            .then_any();
        assert_eq!(state.status(), Some(Deleting), "deletion from {from}");
    }
}
