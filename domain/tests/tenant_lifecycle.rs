//! Given/when/then tests of the operator's commands: create, rename, change plan, request
//! provisioning, suspend, reactivate, request deletion.

mod support;

use support::{Scenario, at, create, history, name, plan, tenant_id};
use tenantry_domain::events::{
    PlanChanged, ProvisioningRequested, TenantCreated, TenantDeletionRequested, TenantReactivated,
    TenantRenamed, TenantSuspended,
};
use tenantry_domain::{
    Aggregate, DomainError, DomainEvent, Email, IsolationModel, ProvisioningStep, TenantCommand,
    TenantState, TenantStatus,
};

fn created(isolation: IsolationModel) -> TenantCreated {
    TenantCreated {
        tenant_id: tenant_id(),
        name: name("Clínica Dr. Marco"),
        slug: support::slug(),
        plan: plan("pro").name,
        isolation,
        admin_email: Some(Email::parse("marco@example.com").unwrap()),
        at: at(0),
    }
}

#[test]
fn create_takes_the_isolation_model_from_the_plan_when_none_is_given() {
    let state = Scenario::given_nothing()
        .when(TenantCommand::Create(create(None)))
        .then([created(IsolationModel::SchemaPerTenant).into()]);

    let tenant = state.tenant().unwrap();
    assert_eq!(tenant.status, TenantStatus::Pending);
    assert_eq!(tenant.isolation, IsolationModel::SchemaPerTenant);
    assert_eq!(tenant.created_at, at(0));
    assert_eq!(state.version(), 1);
}

#[test]
fn create_keeps_an_explicit_isolation_model() {
    Scenario::given_nothing()
        .when(TenantCommand::Create(create(Some(
            IsolationModel::DatabasePerTenant,
        ))))
        .then([created(IsolationModel::DatabasePerTenant).into()]);
}

#[test]
fn rename_records_the_new_and_the_previous_name() {
    let state = Scenario::given(history(TenantStatus::Active))
        .when(TenantCommand::Rename {
            name: name("Clínica São José"),
            at: at(100),
        })
        .then([TenantRenamed {
            tenant_id: tenant_id(),
            name: name("Clínica São José"),
            previous_name: name("Clínica Dr. Marco"),
            at: at(100),
        }
        .into()]);
    let tenant = state.tenant().unwrap();
    assert_eq!(tenant.name.as_str(), "Clínica São José");
    assert_eq!(tenant.updated_at, at(100));
    // The slug is the tenant's address and does not follow its name.
    assert_eq!(tenant.slug.as_str(), "drmarco");
}

#[test]
fn rename_to_the_same_name_changes_nothing() {
    Scenario::given(history(TenantStatus::Active))
        .when(TenantCommand::Rename {
            name: name("  Clínica Dr. Marco "),
            at: at(100),
        })
        .then_nothing();
}

#[test]
fn rename_is_refused_while_deleting() {
    let refusal = Scenario::given(history(TenantStatus::Deleting))
        .when(TenantCommand::Rename {
            name: name("Other"),
            at: at(100),
        })
        .result()
        .unwrap_err();
    assert_eq!(
        refusal.to_string(),
        "cannot rename a tenant that is deleting"
    );
    assert_eq!(refusal.code(), "invalid_state");
}

#[test]
fn change_plan_records_both_plans_and_keeps_the_isolation_model() {
    let state = Scenario::given(history(TenantStatus::Active))
        .when(TenantCommand::ChangePlan {
            plan: plan("enterprise"),
            at: at(100),
        })
        .then([PlanChanged {
            tenant_id: tenant_id(),
            plan: plan("enterprise").name,
            previous_plan: plan("pro").name,
            at: at(100),
        }
        .into()]);
    let tenant = state.tenant().unwrap();
    assert_eq!(tenant.plan.as_str(), "enterprise");
    assert_eq!(tenant.isolation, IsolationModel::SchemaPerTenant);
}

#[test]
fn change_to_the_current_plan_changes_nothing() {
    Scenario::given(history(TenantStatus::Pending))
        .when(TenantCommand::ChangePlan {
            plan: plan("pro"),
            at: at(100),
        })
        .then_nothing();
}

#[test]
fn change_plan_is_refused_once_deleted() {
    Scenario::given(history(TenantStatus::Deleted))
        .when(TenantCommand::ChangePlan {
            plan: plan("free"),
            at: at(100),
        })
        .then_refused(DomainError::InvalidState {
            action: "change the plan of",
            status: TenantStatus::Deleted,
        });
}

#[test]
fn request_provisioning_of_a_pending_tenant_starts_attempt_one_with_its_models_steps() {
    for isolation in IsolationModel::ALL {
        let state = Scenario::given(support::history_of(TenantStatus::Pending, isolation))
            .when(TenantCommand::RequestProvisioning { at: at(1) })
            .then([ProvisioningRequested {
                tenant_id: tenant_id(),
                attempt: 1,
                isolation,
                steps: ProvisioningStep::sequence(isolation).to_vec(),
                at: at(1),
            }
            .into()]);
        assert_eq!(state.status(), Some(TenantStatus::Provisioning));
        assert_eq!(
            state.tenant().unwrap().next_step(),
            Some(ProvisioningStep::sequence(isolation)[0])
        );
    }
}

#[test]
fn request_provisioning_while_provisioning_changes_nothing() {
    Scenario::given(history(TenantStatus::Provisioning))
        .when(TenantCommand::RequestProvisioning { at: at(100) })
        .then_nothing();
}

#[test]
fn request_provisioning_of_a_failed_tenant_is_a_retry_from_the_first_step() {
    let state = Scenario::given(history(TenantStatus::Failed))
        .when(TenantCommand::RequestProvisioning { at: at(100) })
        .then([ProvisioningRequested {
            tenant_id: tenant_id(),
            attempt: 2,
            isolation: IsolationModel::SchemaPerTenant,
            steps: ProvisioningStep::sequence(IsolationModel::SchemaPerTenant).to_vec(),
            at: at(100),
        }
        .into()]);
    let tenant = state.tenant().unwrap();
    assert_eq!(tenant.provisioning.attempt, 2);
    assert!(
        tenant.provisioning.failures.is_empty(),
        "a new attempt starts with no failures"
    );
    assert_eq!(tenant.next_step(), Some(ProvisioningStep::Schema));
}

#[test]
fn request_provisioning_of_an_active_tenant_is_refused() {
    let refusal = Scenario::given(history(TenantStatus::Active))
        .when(TenantCommand::RequestProvisioning { at: at(100) })
        .result()
        .unwrap_err();
    assert_eq!(
        refusal.to_string(),
        "cannot provision a tenant that is active"
    );
}

#[test]
fn suspend_an_active_tenant() {
    let state = Scenario::given(history(TenantStatus::Active))
        .when(TenantCommand::Suspend {
            reason: Some("payment overdue".into()),
            at: at(100),
        })
        .then([TenantSuspended {
            tenant_id: tenant_id(),
            reason: Some("payment overdue".into()),
            at: at(100),
        }
        .into()]);
    assert_eq!(state.status(), Some(TenantStatus::Suspended));
    // Suspension keeps the infrastructure.
    assert_eq!(state.tenant().unwrap().resources.len(), 4);
}

#[test]
fn suspend_a_suspended_tenant_changes_nothing() {
    Scenario::given(history(TenantStatus::Suspended))
        .when(TenantCommand::Suspend {
            reason: None,
            at: at(100),
        })
        .then_nothing();
}

#[test]
fn suspend_a_deleted_tenant_is_refused_naming_its_status() {
    let refusal = Scenario::given(history(TenantStatus::Deleted))
        .when(TenantCommand::Suspend {
            reason: None,
            at: at(100),
        })
        .result()
        .unwrap_err();
    assert_eq!(
        refusal,
        DomainError::InvalidState {
            action: "suspend",
            status: TenantStatus::Deleted
        }
    );
    assert_eq!(
        refusal.to_string(),
        "cannot suspend a tenant that is deleted"
    );
}

#[test]
fn suspend_is_refused_before_the_tenant_is_active() {
    for status in [
        TenantStatus::Pending,
        TenantStatus::Provisioning,
        TenantStatus::RollingBack,
        TenantStatus::Failed,
        TenantStatus::Deleting,
    ] {
        Scenario::given(history(status))
            .when(TenantCommand::Suspend {
                reason: None,
                at: at(100),
            })
            .then_refused(DomainError::InvalidState {
                action: "suspend",
                status,
            });
    }
}

#[test]
fn reactivate_a_suspended_tenant() {
    let state = Scenario::given(history(TenantStatus::Suspended))
        .when(TenantCommand::Reactivate { at: at(100) })
        .then([TenantReactivated {
            tenant_id: tenant_id(),
            at: at(100),
        }
        .into()]);
    assert_eq!(state.status(), Some(TenantStatus::Active));
}

#[test]
fn reactivate_an_active_tenant_changes_nothing() {
    Scenario::given(history(TenantStatus::Active))
        .when(TenantCommand::Reactivate { at: at(100) })
        .then_nothing();
}

#[test]
fn reactivate_a_failed_tenant_is_refused() {
    Scenario::given(history(TenantStatus::Failed))
        .when(TenantCommand::Reactivate { at: at(100) })
        .then_refused(DomainError::InvalidState {
            action: "reactivate",
            status: TenantStatus::Failed,
        });
}

#[test]
fn deletion_can_be_requested_in_every_status_but_deleting_and_deleted() {
    for status in [
        TenantStatus::Pending,
        TenantStatus::Provisioning,
        TenantStatus::Active,
        TenantStatus::Suspended,
        TenantStatus::RollingBack,
        TenantStatus::Failed,
    ] {
        let state = Scenario::given(history(status))
            .when(TenantCommand::RequestDeletion {
                reason: Some("customer left".into()),
                at: at(100),
            })
            .then([TenantDeletionRequested {
                tenant_id: tenant_id(),
                previous_status: status,
                reason: Some("customer left".into()),
                at: at(100),
            }
            .into()]);
        assert_eq!(state.status(), Some(TenantStatus::Deleting));
    }
}

#[test]
fn deletion_of_a_deleting_tenant_changes_nothing() {
    Scenario::given(history(TenantStatus::Deleting))
        .when(TenantCommand::RequestDeletion {
            reason: None,
            at: at(100),
        })
        .then_nothing();
}

#[test]
fn deletion_of_a_deleted_tenant_is_refused() {
    let refusal = Scenario::given(history(TenantStatus::Deleted))
        .when(TenantCommand::RequestDeletion {
            reason: None,
            at: at(100),
        })
        .result()
        .unwrap_err();
    assert_eq!(
        refusal.to_string(),
        "cannot delete a tenant that is deleted"
    );
}

#[test]
fn decide_all_creates_and_requests_provisioning_as_one_decision() {
    let events = TenantState::default()
        .decide_all([
            TenantCommand::Create(create(None)),
            TenantCommand::RequestProvisioning { at: at(0) },
        ])
        .unwrap();
    let types: Vec<_> = events.iter().map(|e| e.event_type()).collect();
    assert_eq!(types, ["TenantCreated", "ProvisioningRequested"]);
    assert_eq!(
        TenantState::fold(&events).status(),
        Some(TenantStatus::Provisioning)
    );
}

#[test]
fn decide_all_stops_at_the_first_refusal() {
    let refusal = TenantState::default()
        .decide_all([
            TenantCommand::Create(create(None)),
            TenantCommand::Suspend {
                reason: None,
                at: at(0),
            },
        ])
        .unwrap_err();
    assert_eq!(
        refusal,
        DomainError::InvalidState {
            action: "suspend",
            status: TenantStatus::Pending
        }
    );
}
