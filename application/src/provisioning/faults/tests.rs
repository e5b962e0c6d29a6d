use tenantry_domain::{ProvisioningStep, TenantId};
use uuid::Uuid;

use super::*;

fn tenant() -> TenantId {
    TenantId::from_uuid(Uuid::new_v4())
}

#[test]
fn an_empty_value_injects_nothing() {
    for value in ["", "   "] {
        let faults = Faults::parse(value).unwrap();
        assert!(faults.is_empty());
        let t = tenant();
        assert_eq!(
            faults.failure(FaultOp::Apply, t, ProvisioningStep::Schema),
            None
        );
        faults.checkpoint(FaultPoint::AfterApply, t, ProvisioningStep::Schema);
    }
}

#[test]
fn a_step_fails_its_first_n_applies_per_tenant() {
    let faults = Faults::parse("schema:2").unwrap();
    let (a, b) = (tenant(), tenant());
    let fails = |t| {
        faults
            .failure(FaultOp::Apply, t, ProvisioningStep::Schema)
            .is_some()
    };
    assert!(fails(a));
    assert!(fails(a));
    assert!(!fails(a));
    assert!(fails(b), "each tenant has its own count");
    assert_eq!(
        faults.failure(FaultOp::Apply, a, ProvisioningStep::Queue),
        None
    );
    assert_eq!(
        faults.failure(FaultOp::Release, b, ProvisioningStep::Schema),
        None
    );
}

#[test]
fn always_never_runs_out_and_the_message_names_the_entry() {
    let faults = Faults::parse(" redis_namespace : always ").unwrap();
    let t = tenant();
    for _ in 0..10 {
        let message = faults
            .failure(FaultOp::Apply, t, ProvisioningStep::RedisNamespace)
            .expect("an injected failure");
        assert!(message.contains("redis_namespace"), "{message}");
    }
}

#[test]
fn release_failures_are_their_own_entries() {
    let faults = Faults::parse("release:database:1").unwrap();
    let t = tenant();
    assert_eq!(
        faults.failure(FaultOp::Apply, t, ProvisioningStep::Database),
        None
    );
    assert!(
        faults
            .failure(FaultOp::Release, t, ProvisioningStep::Database)
            .is_some()
    );
    assert!(
        faults
            .failure(FaultOp::Release, t, ProvisioningStep::Database)
            .is_none()
    );
}

#[test]
fn a_panic_fires_at_its_point_and_step_only() {
    let faults = Faults::parse("schema:2,redis_namespace:always,panic:after_apply:queue").unwrap();
    let t = tenant();
    faults.checkpoint(FaultPoint::BeforeApply, t, ProvisioningStep::Queue);
    faults.checkpoint(FaultPoint::AfterApply, t, ProvisioningStep::Schema);
    let panicked = std::panic::catch_unwind(|| {
        faults.checkpoint(FaultPoint::AfterApply, t, ProvisioningStep::Queue)
    });
    let message = *panicked.unwrap_err().downcast::<String>().unwrap();
    assert!(message.contains("after_apply of queue"), "{message}");
}

#[test]
fn a_counted_panic_stops_firing() {
    let faults = Faults::parse("panic:during_release:database:1").unwrap();
    let t = tenant();
    let first = std::panic::catch_unwind(|| {
        faults.checkpoint(FaultPoint::DuringRelease, t, ProvisioningStep::Database)
    });
    assert!(first.is_err());
    faults.checkpoint(FaultPoint::DuringRelease, t, ProvisioningStep::Database);
}

#[test]
fn every_point_and_step_name_parses() {
    for point in FaultPoint::ALL {
        for step in ProvisioningStep::ALL {
            let value = format!("abort:{point}:{step}:3,{step}:1,release:{step}:always");
            assert!(Faults::parse(&value).is_ok(), "{value}");
        }
    }
}

#[test]
fn malformed_values_say_which_entry_and_why() {
    let cases = [
        ("schema:0", 1, "positive whole number"),
        ("schema:2,redis:1", 2, "unknown step \"redis\""),
        ("schema", 1, "expected <step>:<times>"),
        ("schema:two", 1, "got \"two\""),
        (
            "panic:after_apply",
            1,
            "expected panic:<point>:<step>[:<times>]",
        ),
        ("panic:halfway:queue", 1, "unknown point \"halfway\""),
        ("abort:after_apply:queue:x", 1, "got \"x\""),
        ("release:queue", 1, "expected release:<step>:<times>"),
        ("queue:1,", 2, "the entry is empty"),
        ("queue:1:2", 1, "expected <step>:<times>"),
    ];
    for (value, index, reason) in cases {
        let error = Faults::parse(value).expect_err(value);
        assert_eq!(error.index, index, "{value}: {error}");
        assert!(error.reason.contains(reason), "{value}: {error}");
        assert!(
            error
                .to_string()
                .starts_with("invalid TENANTRY_FAULTS entry")
        );
    }
}
