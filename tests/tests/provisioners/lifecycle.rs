//! Idempotency: apply twice gives the same result, release twice is fine, and a crash halfway
//! through a step (an injected panic at `during_apply` / `during_release`) is finished by the
//! next apply or release. After release the inventory finds nothing of the tenant.

use std::sync::Arc;

use tenantry_application::provisioning::{
    Faults, Provisioner, ResourceKind, SecretStore, TenantSpec,
};
use tenantry_domain::{IsolationModel, ProvisioningStep, TenantNames};

use crate::support::{Harness, apply_all};

#[tokio::test]
async fn applying_twice_gives_the_same_resources_and_releasing_twice_is_fine() {
    Harness::new()
        .await
        .run(|h| async move {
            for isolation in IsolationModel::ALL {
                let tenant = h.tenant(isolation);
                let first = h.apply_all(&tenant).await;
                let passwords = stored_secrets(h.secrets.as_ref(), &tenant).await;
                let second = h.apply_all(&tenant).await;
                assert_eq!(first, second, "{isolation}");
                assert_eq!(
                    stored_secrets(h.secrets.as_ref(), &tenant).await,
                    passwords,
                    "{isolation}: passwords kept"
                );
                let kinds: Vec<_> = h
                    .remaining(tenant.id)
                    .await
                    .into_iter()
                    .map(|r| r.kind)
                    .collect();
                assert!(
                    kinds.contains(&ResourceKind::RedisUser),
                    "{isolation}: {kinds:?}"
                );
                h.release_all(&tenant).await;
                h.release_all(&tenant).await;
                assert!(
                    h.remaining(tenant.id).await.is_empty(),
                    "{isolation}: {:?}",
                    h.remaining(tenant.id).await
                );
            }
        })
        .await;
}

#[tokio::test]
async fn a_step_that_crashed_halfway_is_finished_by_the_next_apply_or_cleaned_by_release() {
    let faults = "panic:during_apply:schema,panic:during_apply:database,\
                  panic:during_apply:redis_namespace,panic:during_release:database";
    Harness::with_faults(Faults::parse(faults).unwrap())
        .await
        .run(|h| async move {
            let restarted: Arc<dyn Provisioner> = Arc::new(h.restarted());
            for isolation in [
                IsolationModel::SchemaPerTenant,
                IsolationModel::DatabasePerTenant,
            ] {
                // Crash inside the first step, then inside the Redis step: each leaves part behind.
                let crashed = h.tenant(isolation);
                let first = ProvisioningStep::sequence(isolation)[0];
                crash(h.provisioner.clone(), &crashed, first).await;
                let left: Vec<_> = h
                    .remaining(crashed.id)
                    .await
                    .into_iter()
                    .map(|r| r.kind)
                    .collect();
                assert!(
                    left.contains(&ResourceKind::Role),
                    "{isolation}: the role was made: {left:?}"
                );
                assert!(
                    !left.contains(&ResourceKind::Schema)
                        && !left.contains(&ResourceKind::Database),
                    "{left:?}"
                );
                crash(
                    h.provisioner.clone(),
                    &crashed,
                    ProvisioningStep::RedisNamespace,
                )
                .await;

                // Release after the half-done apply: nothing remains.
                for step in ProvisioningStep::sequence(isolation).iter().rev() {
                    restarted
                        .release(crashed.id, *step)
                        .await
                        .expect("release finishes");
                }
                assert!(
                    h.remaining(crashed.id).await.is_empty(),
                    "{isolation}: {:?}",
                    h.remaining(crashed.id).await
                );

                // Or apply again after the crash: the step finishes and the tenant is whole.
                let resumed = h.tenant(isolation);
                crash(h.provisioner.clone(), &resumed, first).await;
                let whole = apply_all(restarted.as_ref(), &resumed)
                    .await
                    .expect("the re-run finishes the job");
                assert_eq!(whole.len(), ProvisioningStep::sequence(isolation).len());
                let kinds: Vec<_> = h
                    .remaining(resumed.id)
                    .await
                    .into_iter()
                    .map(|r| r.kind)
                    .collect();
                assert!(
                    kinds.contains(&ResourceKind::Schema)
                        || kinds.contains(&ResourceKind::Database),
                    "{kinds:?}"
                );
                if isolation == IsolationModel::DatabasePerTenant {
                    // A crash inside the release (database dropped, role not yet): the next finishes.
                    crash_release(h.provisioner.clone(), &resumed, ProvisioningStep::Database)
                        .await;
                    assert!(
                        h.remaining(resumed.id)
                            .await
                            .iter()
                            .any(|r| r.kind == ResourceKind::Role)
                    );
                }
                for step in ProvisioningStep::sequence(isolation).iter().rev() {
                    restarted
                        .release(resumed.id, *step)
                        .await
                        .expect("release finishes");
                }
                assert!(
                    h.remaining(resumed.id).await.is_empty(),
                    "{:?}",
                    h.remaining(resumed.id).await
                );
            }
        })
        .await;
}

/// Applies `step` in a task of its own and expects it to die of an injected panic.
async fn crash(provisioner: Arc<dyn Provisioner>, tenant: &TenantSpec, step: ProvisioningStep) {
    let tenant = tenant.clone();
    let died = tokio::spawn(async move { provisioner.apply(&tenant, step).await })
        .await
        .expect_err("the step crashes halfway");
    assert!(died.is_panic());
}

async fn crash_release(
    provisioner: Arc<dyn Provisioner>,
    tenant: &TenantSpec,
    step: ProvisioningStep,
) {
    let id = tenant.id;
    let died = tokio::spawn(async move { provisioner.release(id, step).await })
        .await
        .expect_err("the release crashes halfway");
    assert!(died.is_panic());
}

/// The tenant's stored secrets, by reference.
async fn stored_secrets(secrets: &dyn SecretStore, tenant: &TenantSpec) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for reference in secrets
        .list(&TenantNames::of(tenant.id).secret_prefix())
        .await
        .unwrap()
    {
        let value = secrets.get(&reference).await.unwrap().unwrap();
        found.push((reference.to_string(), value.expose().to_owned()));
    }
    found
}
