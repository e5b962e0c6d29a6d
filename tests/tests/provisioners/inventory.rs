//! The domain's account of a tenant's infrastructure against what the provisioners really make:
//! after every step of an isolation model, the inventory finds exactly the kinds of resource the
//! model is said to make, every one named as `TenantNames` names it, and releasing the step said
//! to make a resource removes it.

use std::collections::BTreeSet;

use tenantry_application::provisioning::{ExistingResource, ResourceKind};
use tenantry_domain::{IsolationModel, ProvisioningStep, TenantNames};

use crate::support::Harness;

#[tokio::test]
async fn each_isolation_model_makes_what_the_domain_says_under_the_names_it_gives() {
    Harness::new()
        .await
        .run(|h| async move {
            for isolation in IsolationModel::ALL {
                let tenant = h.tenant(isolation);
                h.apply_all(&tenant).await;
                let found = h.remaining(tenant.id).await;
                let kinds: Vec<ResourceKind> = found
                    .iter()
                    .map(|r| r.kind)
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                assert_eq!(kinds, isolation.resource_kinds(), "{isolation}: {found:?}");

                let names = TenantNames::of(tenant.id);
                let id = tenant.id.to_string();
                let expected: BTreeSet<(ResourceKind, String)> = isolation
                    .resource_kinds()
                    .into_iter()
                    .flat_map(|kind| {
                        match kind {
                            ResourceKind::SharedTenant => vec![id.clone()],
                            ResourceKind::Schema => vec![names.schema().to_owned()],
                            ResourceKind::Database => vec![names.database().to_owned()],
                            ResourceKind::Role => vec![names.role().to_owned()],
                            ResourceKind::RedisUser => vec![names.redis_user().to_owned()],
                            ResourceKind::RedisKeys => vec![names.redis_namespace().to_owned()],
                            ResourceKind::Secret => ProvisioningStep::sequence(isolation)
                                .iter()
                                .filter_map(|step| step.output().secret)
                                .map(|secret| names.secret(secret).to_string())
                                .collect(),
                        }
                        .into_iter()
                        .map(move |name| (kind, name))
                    })
                    .collect();
                let named: BTreeSet<(ResourceKind, String)> =
                    found.iter().map(|r| (r.kind, r.name.clone())).collect();
                assert_eq!(named, expected, "{isolation}");

                // Release in reverse order: each step's release removes what it is said to make.
                for &step in ProvisioningStep::sequence(isolation).iter().rev() {
                    let said: Vec<ExistingResource> = found
                        .iter()
                        .filter(|r| r.released_by(isolation) == Some(step))
                        .cloned()
                        .collect();
                    h.provisioner
                        .release(tenant.id, step)
                        .await
                        .unwrap_or_else(|e| panic!("release of {step} failed: {e}"));
                    let left = h.remaining(tenant.id).await;
                    for resource in &said {
                        assert!(
                            !left.contains(resource),
                            "{isolation}: releasing {step} left {resource:?}"
                        );
                    }
                }
                assert!(
                    found.iter().all(|r| r.released_by(isolation).is_some()),
                    "{isolation}: every resource is some step's: {found:?}"
                );
                assert!(h.remaining(tenant.id).await.is_empty(), "{isolation}");
            }
        })
        .await;
}
