//! The events' stored form: one sample of every event type survives encode/decode and serde,
//! types and versions are what the envelope expects, payloads carry no enum tag, and a few payloads
//! are pinned to the exact JSON that the event store keeps forever.

mod support;

use std::collections::BTreeSet;

use serde_json::json;
use support::{at, name, names, plan, resource, secret, slug, tenant_id};
use tenantry_domain::events::*;
use tenantry_domain::{
    DomainEvent, Email, EventDecodeError, IsolationModel, ProvisioningStep, TenantEvent,
    TenantStatus,
};
use uuid::Uuid;

/// One event of every type.
fn samples() -> Vec<TenantEvent> {
    let tenant_id = tenant_id();
    let worker_id = Uuid::from_u128(7);
    let step = ProvisioningStep::Schema;
    vec![
        TenantCreated {
            tenant_id,
            name: name("Clínica Dr. Marco"),
            slug: slug(),
            plan: plan("pro").name,
            isolation: IsolationModel::SchemaPerTenant,
            admin_email: Some(Email::parse("marco@example.com").unwrap()),
            at: at(0),
        }
        .into(),
        ProvisioningRequested {
            tenant_id,
            attempt: 1,
            isolation: IsolationModel::SchemaPerTenant,
            steps: ProvisioningStep::sequence(IsolationModel::SchemaPerTenant).to_vec(),
            at: at(1),
        }
        .into(),
        SharedTenantRegistered {
            tenant_id,
            attempt: 1,
            at: at(2),
        }
        .into(),
        SchemaProvisioned {
            tenant_id,
            attempt: 1,
            schema: "tenant_x".into(),
            role: "tenant_x".into(),
            at: at(2),
        }
        .into(),
        DatabaseProvisioned {
            tenant_id,
            attempt: 1,
            database: "tenant_x".into(),
            role: "tenant_x".into(),
            password_secret: secret("tenant/x/postgres"),
            at: at(2),
        }
        .into(),
        TenantMigrationsApplied {
            tenant_id,
            attempt: 1,
            target: "tenant_x".into(),
            latest_version: 20250101000000,
            at: at(3),
        }
        .into(),
        RedisNamespaceProvisioned {
            tenant_id,
            attempt: 1,
            namespace: names().redis_namespace().to_owned(),
            acl_user: "tenant_x".into(),
            password_secret: secret("tenant/x/redis"),
            at: at(4),
        }
        .into(),
        QueueProvisioned {
            tenant_id,
            attempt: 1,
            queue: "tenant:x:queue:default".into(),
            at: at(5),
        }
        .into(),
        HookStepSucceeded {
            tenant_id,
            attempt: 1,
            hook: tenantry_domain::HookName::parse("whatsapp").unwrap(),
            outputs: serde_json::json!({"instance": "wa-acme"}),
            at: at(5),
        }
        .into(),
        DomainRegistered {
            tenant_id,
            host: "chat.drmarco.example.com".into(),
            at: at(6),
        }
        .into(),
        DomainActivated {
            tenant_id,
            host: "chat.drmarco.example.com".into(),
            at: at(7),
        }
        .into(),
        CertificateIssued {
            tenant_id,
            host: "chat.drmarco.example.com".into(),
            expires_at: at(90 * 24 * 3600),
            certificate_secret: secret("tls/chat.drmarco.example.com"),
            at: at(8),
        }
        .into(),
        WorkerStarted {
            tenant_id,
            worker_id,
            queue: "default".into(),
            at: at(9),
        }
        .into(),
        WorkerStopped {
            tenant_id,
            worker_id,
            reason: Some("shutdown".into()),
            at: at(10),
        }
        .into(),
        ProvisioningStepFailed {
            tenant_id,
            attempt: 1,
            step,
            step_attempt: 1,
            error: "connection refused".into(),
            transient: false,
            at: at(11),
        }
        .into(),
        ProvisioningRetryScheduled {
            tenant_id,
            attempt: 1,
            step,
            step_attempt: 2,
            retry_at: at(15),
            at: at(11),
        }
        .into(),
        ProvisioningCompleted {
            tenant_id,
            attempt: 1,
            at: at(12),
        }
        .into(),
        ProvisioningRollbackStarted {
            tenant_id,
            attempt: 1,
            failed_step: Some(step),
            reason: "gave up".into(),
            at: at(13),
        }
        .into(),
        ResourceReleased {
            tenant_id,
            resource: resource(ProvisioningStep::Schema),
            at: at(14),
        }
        .into(),
        ProvisioningRolledBack {
            tenant_id,
            attempt: 1,
            at: at(15),
        }
        .into(),
        TenantRenamed {
            tenant_id,
            name: name("Clínica São José"),
            previous_name: name("Clínica Dr. Marco"),
            at: at(16),
        }
        .into(),
        PlanChanged {
            tenant_id,
            plan: plan("enterprise").name,
            previous_plan: plan("pro").name,
            at: at(17),
        }
        .into(),
        TenantSuspended {
            tenant_id,
            reason: None,
            at: at(18),
        }
        .into(),
        TenantReactivated {
            tenant_id,
            at: at(19),
        }
        .into(),
        TenantDeletionRequested {
            tenant_id,
            previous_status: TenantStatus::RollingBack,
            reason: Some("customer left".into()),
            at: at(20),
        }
        .into(),
        TenantDeleted {
            tenant_id,
            slug: slug(),
            at: at(21),
        }
        .into(),
        ResourceRepaired {
            tenant_id,
            kind: RepairedKind::RedisUser,
            name: "tenant_0190".into(),
            reason: "missing; restored with its stored password".into(),
            at: at(22),
        }
        .into(),
        AccessSuspended {
            tenant_id,
            resource: tenantry_domain::AccessResource::DatabaseLogin,
            at: at(23),
        }
        .into(),
        AccessRestored {
            tenant_id,
            resource: tenantry_domain::AccessResource::RedisUser,
            at: at(24),
        }
        .into(),
        AccessChangeFailed {
            tenant_id,
            resource: tenantry_domain::AccessResource::RedisUser,
            action: tenantry_domain::AccessAction::Suspend,
            failures: 1,
            error: "Redis is unavailable".into(),
            transient: true,
            retry_at: at(26),
            at: at(25),
        }
        .into(),
        TenantCredentialsRevealed {
            tenant_id,
            by: "staff:ops@example.com".into(),
            ip: Some("203.0.113.7".into()),
            at: at(23),
        }
        .into(),
        TenantMigrated {
            tenant_id,
            from: 20261122000001,
            to: 20270101000000,
            at: at(23),
        }
        .into(),
        TenantMigrationFailed {
            tenant_id,
            version: 20270102000000,
            error: "relation \"patients\" already exists".into(),
            at: at(24),
        }
        .into(),
        TenantCredentialsRotated {
            tenant_id,
            rotation: 1,
            by: "staff:ops@example.com".into(),
            ip: Some("203.0.113.7".into()),
            grace_until: at(26),
            at: at(25),
        }
        .into(),
        CredentialsChangeFailed {
            tenant_id,
            rotation: 1,
            change: CredentialsChange::Apply,
            failures: 1,
            error: "failed to reach Redis".into(),
            transient: true,
            retry_at: at(26),
            at: at(25),
        }
        .into(),
        TenantCredentialsApplied {
            tenant_id,
            rotation: 1,
            at: at(26),
        }
        .into(),
        TenantCredentialsRetired {
            tenant_id,
            rotation: 1,
            at: at(27),
        }
        .into(),
    ]
}

#[test]
fn the_samples_cover_every_event_type() {
    let sampled: BTreeSet<_> = samples().iter().map(TenantEvent::event_type).collect();
    let declared: BTreeSet<_> = TenantEvent::EVENT_TYPES.iter().copied().collect();
    assert_eq!(sampled, declared);
    assert_eq!(declared.len(), 37);
}

#[test]
fn every_event_encodes_and_decodes_to_itself() {
    for event in samples() {
        let encoded = event.encode().unwrap();
        assert_eq!(encoded.event_type, event.event_type());
        assert_eq!(encoded.schema_version, 1);
        let payload = encoded
            .payload
            .as_object()
            .expect("a payload is a JSON object");
        assert!(
            !payload.contains_key("event_type") && !payload.contains_key("payload"),
            "{}: no enum tag in the payload",
            encoded.event_type
        );
        assert_eq!(payload["tenant_id"], json!(tenant_id()));
        assert!(payload.contains_key("at"));

        let decoded = TenantEvent::decode(encoded.event_type, 1, encoded.payload).unwrap();
        assert_eq!(decoded, event);
    }
}

#[test]
fn every_event_round_trips_through_its_own_serde_form() {
    for event in samples() {
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["event_type"], event.event_type());
        assert_eq!(json["payload"], event.encode().unwrap().payload);
        let back: TenantEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }
}

#[test]
fn event_type_is_the_variant_name_and_payload_types_know_theirs() {
    assert_eq!(TenantCreated::EVENT_TYPE, "TenantCreated");
    assert_eq!(TenantCreated::SCHEMA_VERSION, 1);
    assert_eq!(ResourceReleased::EVENT_TYPE, "ResourceReleased");
    for event in samples() {
        assert_eq!(event.tenant_id(), tenant_id());
    }
}

#[test]
fn tenant_created_payload_is_pinned() {
    let payload = samples()[0].encode().unwrap().payload;
    assert_eq!(
        payload,
        json!({
            "tenant_id": "01900000-0000-7000-8000-000000000001",
            "name": "Clínica Dr. Marco",
            "slug": "drmarco",
            "plan": "pro",
            "isolation": "schema_per_tenant",
            "admin_email": "marco@example.com",
            "at": "2025-01-01T12:00:00Z",
        })
    );
}

/// `transient` came in 0.2.0: a failure recorded before it (without the field) reads as one that
/// counted, and a counted failure is still written without it, byte for byte as before.
#[test]
fn step_failures_without_transient_read_as_counted_and_are_written_as_before() {
    let old = json!({
        "tenant_id": "01900000-0000-7000-8000-000000000001",
        "attempt": 1,
        "step": "schema",
        "step_attempt": 2,
        "error": "connection refused",
        "at": "2025-01-01T12:00:11Z",
    });
    let decoded = TenantEvent::decode("ProvisioningStepFailed", 1, old.clone()).unwrap();
    let TenantEvent::ProvisioningStepFailed(failed) = &decoded else {
        panic!("decoded as {decoded:?}");
    };
    assert!(!failed.transient);
    assert_eq!(decoded.encode().unwrap().payload, old);

    let mut transient = failed.clone();
    transient.transient = true;
    let encoded = TenantEvent::from(transient).encode().unwrap();
    assert_eq!(encoded.schema_version, 1);
    assert_eq!(encoded.payload["transient"], true);
}

#[test]
fn step_payloads_hold_names_and_secret_references_only() {
    let database = samples()
        .into_iter()
        .find(|e| e.event_type() == "DatabaseProvisioned")
        .unwrap();
    assert_eq!(
        database.encode().unwrap().payload,
        json!({
            "tenant_id": "01900000-0000-7000-8000-000000000001",
            "attempt": 1,
            "database": "tenant_x",
            "role": "tenant_x",
            "password_secret": "tenant/x/postgres",
            "at": "2025-01-01T12:00:02Z",
        })
    );
    let released = samples()
        .into_iter()
        .find(|e| e.event_type() == "ResourceReleased")
        .unwrap();
    let payload = released.encode().unwrap().payload;
    assert_eq!(payload["resource"]["step"], "schema");
    assert_eq!(payload["resource"]["schema"], names().schema());
    let TenantEvent::ResourceReleased(released) = released else {
        unreachable!()
    };
    assert_eq!(released.step(), ProvisioningStep::Schema);
}

#[test]
fn an_unknown_type_is_refused() {
    let error = TenantEvent::decode("TenantExploded", 1, json!({})).unwrap_err();
    assert!(matches!(error, EventDecodeError::UnknownType { .. }));
    assert_eq!(error.to_string(), "unknown event type \"TenantExploded\"");
}

#[test]
fn an_invalid_payload_is_refused() {
    let error =
        TenantEvent::decode("TenantReactivated", 1, json!({"tenant_id": "nope"})).unwrap_err();
    assert!(
        matches!(error, EventDecodeError::InvalidPayload { .. }),
        "{error}"
    );

    // A payload that breaks a value object's rule does not become a value object.
    let mut payload = samples()[0].encode().unwrap().payload;
    payload["slug"] = json!("Not A Slug");
    let error = TenantEvent::decode("TenantCreated", 1, payload).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("invalid TenantCreated payload"),
        "{error}"
    );
}

#[test]
fn an_old_schema_version_is_refused_until_upcast() {
    let encoded = samples()[0].encode().unwrap();
    let error = TenantEvent::decode("TenantCreated", 0, encoded.payload).unwrap_err();
    assert_eq!(
        error.to_string(),
        "TenantCreated has schema version 0, but this build reads only version 1"
    );
}

#[test]
fn step_events_tell_what_they_made() {
    let made: Vec<_> = samples()
        .iter()
        .filter_map(TenantEvent::provisioned_resource)
        .map(|resource| resource.step())
        .collect();
    let hook = ProvisioningStep::Hook(tenantry_domain::HookName::parse("whatsapp").unwrap());
    let expected: Vec<_> = ProvisioningStep::ALL.into_iter().chain([hook]).collect();
    assert_eq!(made, expected);
}
