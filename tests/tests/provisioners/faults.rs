//! The failure injector around the real provisioner: injected apply failures come after the
//! step's work (so a rollback must release the failed step too) and are retryable; injected
//! release failures come first.

use std::sync::Arc;

use tenantry_application::provisioning::{FaultInjectingProvisioner, Faults};
use tenantry_domain::{IsolationModel, ProvisioningStep, TenantNames};

use crate::support::Harness;

#[tokio::test]
async fn an_injected_failure_fails_the_first_attempts_then_lets_the_step_through() {
    Harness::new()
        .await
        .run(|h| async move {
            let faults = Arc::new(Faults::parse("queue:2,release:queue:1").unwrap());
            let faulty = FaultInjectingProvisioner::wrap(h.provisioner.clone(), faults);
            let tenant = h.tenant(IsolationModel::SharedSchema);
            for step in [
                ProvisioningStep::RegisterSharedTenant,
                ProvisioningStep::RedisNamespace,
            ] {
                faulty
                    .apply(&tenant, step)
                    .await
                    .expect("no fault for this step");
            }
            for attempt in 1..=2 {
                let error = faulty
                    .apply(&tenant, ProvisioningStep::Queue)
                    .await
                    .expect_err("injected");
                assert!(error.is_retryable(), "attempt {attempt}: {error}");
                assert!(error.to_string().contains("queue:2"), "{error}");
            }
            let queue = TenantNames::of(tenant.id).queue();
            let mut admin = h.redis.get_multiplexed_async_connection().await.unwrap();
            let exists: i64 = redis::cmd("EXISTS")
                .arg(&queue)
                .query_async(&mut admin)
                .await
                .unwrap();
            assert_eq!(exists, 1, "the failed attempts did their work");
            faulty
                .apply(&tenant, ProvisioningStep::Queue)
                .await
                .expect("the third attempt passes");

            let error = faulty
                .release(tenant.id, ProvisioningStep::Queue)
                .await
                .expect_err("injected");
            assert!(error.is_retryable());
            let exists: i64 = redis::cmd("EXISTS")
                .arg(&queue)
                .query_async(&mut admin)
                .await
                .unwrap();
            assert_eq!(exists, 1, "an injected release failure releases nothing");
            for step in ProvisioningStep::sequence(tenant.isolation).iter().rev() {
                faulty.release(tenant.id, *step).await.expect("released");
            }
            assert!(h.remaining(tenant.id).await.is_empty());
        })
        .await;
}

#[tokio::test]
async fn no_faults_means_no_decorator() {
    let h = Harness::new().await;
    let wrapped = FaultInjectingProvisioner::wrap(h.provisioner.clone(), Arc::new(Faults::none()));
    assert!(Arc::ptr_eq(&wrapped, &h.provisioner));
}
