//! Folding events into state, and "time travel": the state after any prefix of a tenant's stream
//! is the tenant as it was at that moment.

mod support;

use support::{at, history, tenant_id};
use tenantry_domain::events::{
    DomainActivated, DomainRegistered, TenantRenamed, WorkerStarted, WorkerStopped,
};
use tenantry_domain::{TenantEvent, TenantState, TenantStatus};
use uuid::Uuid;

#[test]
fn an_empty_stream_has_no_tenant() {
    let state = TenantState::fold(Vec::<TenantEvent>::new());
    assert_eq!(state, TenantState::default());
    assert!(state.tenant().is_none());
    assert_eq!(state.status(), None);
    assert_eq!(state.version(), 0);
}

#[test]
fn fold_is_apply_in_order_and_counts_the_version() {
    let events = history(TenantStatus::Deleted);
    let by_hand = events
        .iter()
        .fold(TenantState::default(), TenantState::apply);
    let mut in_place = TenantState::default();
    for event in &events {
        in_place.apply_mut(event);
    }
    assert_eq!(TenantState::fold(&events), by_hand);
    assert_eq!(TenantState::fold(events.clone()), by_hand);
    assert_eq!(in_place, by_hand);
    assert_eq!(by_hand.version(), events.len() as u64);
}

#[test]
fn a_prefix_of_the_stream_is_the_tenant_at_that_moment() {
    let events = history(TenantStatus::Deleted);
    let statuses: Vec<_> = (1..=events.len())
        .map(|n| TenantState::fold(&events[..n]).status().unwrap())
        .collect();
    use TenantStatus::*;
    assert_eq!(
        statuses,
        [
            Pending,      // TenantCreated
            Provisioning, // ProvisioningRequested
            Provisioning, // SchemaProvisioned
            Provisioning, // TenantMigrationsApplied
            Provisioning, // RedisNamespaceProvisioned
            Provisioning, // QueueProvisioned
            Active,       // ProvisioningCompleted
            Deleting,     // TenantDeletionRequested
            Deleting,     // ResourceReleased × 4
            Deleting,
            Deleting,
            Deleting,
            Deleted, // TenantDeleted
        ]
    );
    // Mid-provisioning, two resources existed.
    assert_eq!(
        TenantState::fold(&events[..4])
            .tenant()
            .unwrap()
            .resources
            .len(),
        2
    );
}

#[test]
fn the_tenant_remembers_names_domains_and_workers() {
    let worker = Uuid::from_u128(42);
    let mut events = history(TenantStatus::Active);
    events.extend([
        TenantRenamed {
            tenant_id: tenant_id(),
            name: support::name("Clínica São José"),
            previous_name: support::name("Clínica Dr. Marco"),
            at: at(50),
        }
        .into(),
        DomainRegistered {
            tenant_id: tenant_id(),
            host: "chat.drmarco.example.com".into(),
            at: at(51),
        }
        .into(),
        DomainActivated {
            tenant_id: tenant_id(),
            host: "chat.drmarco.example.com".into(),
            at: at(52),
        }
        .into(),
        WorkerStarted {
            tenant_id: tenant_id(),
            worker_id: worker,
            queue: "default".into(),
            at: at(53),
        }
        .into(),
    ]);
    let tenant = TenantState::fold(&events).tenant().unwrap().clone();
    assert_eq!(tenant.name.as_str(), "Clínica São José");
    assert!(tenant.domains["chat.drmarco.example.com"].active);
    assert!(tenant.active_workers.contains(&worker));
    assert_eq!(tenant.updated_at, at(53));
    assert_eq!(tenant.created_at, at(0));

    events.push(
        WorkerStopped {
            tenant_id: tenant_id(),
            worker_id: worker,
            reason: None,
            at: at(54),
        }
        .into(),
    );
    assert!(
        TenantState::fold(&events)
            .tenant()
            .unwrap()
            .active_workers
            .is_empty()
    );
}

#[test]
fn events_before_creation_are_counted_but_describe_nothing() {
    let stray = TenantRenamed {
        tenant_id: tenant_id(),
        name: support::name("x"),
        previous_name: support::name("y"),
        at: at(0),
    };
    let state = TenantState::fold([TenantEvent::from(stray)]);
    assert!(state.tenant().is_none());
    assert_eq!(state.version(), 1);
}
