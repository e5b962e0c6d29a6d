//! What each read model shows a user for real histories (made with the domain's commands and
//! appended as the application appends them: the API's `TenantCreated` alone, then the saga's
//! `ProvisioningRequested` and steps), as the API's queries return it: the tenant view through a
//! tenant's life from `pending` on, a rolled-back provisioning, the filtered and paginated tenant
//! list, the audit log with who did what, and the tenant directory's host lookup.

mod projections_support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{Duration as Days, Utc};
use tenantry_application::event_store::{Checkpoint, EventStore};
use tenantry_domain::events::{DomainActivated, DomainRegistered, ProvisioningRequested};
use tenantry_domain::{IsolationModel, ProvisioningStep, TenantCommand, TenantNames, TenantStatus};
use tenantry_projections::RuntimeHandle;
use tenantry_projections::queries::audit::{self, AuditFilter};
use tenantry_projections::queries::tenants::{self, TenantFilter, TenantView};
use tenantry_projections::queries::{QueryError, directory};
use tenantry_tests::TestDb;
use tenantry_tests::lifecycle::{Append, TenantScript, append};
use uuid::Uuid;

use projections_support::{caught_up, event_count, seed, start};

/// A runtime over a fresh database, and a way to append a script's new decisions and see them.
struct Fixture {
    db: TestDb,
    store: Arc<dyn EventStore>,
    _runtime: RuntimeHandle,
}

impl Fixture {
    async fn new() -> Self {
        let db = TestDb::new().await;
        let store: Arc<dyn EventStore> =
            Arc::new(db.event_store_polling(Duration::from_millis(50)));
        let runtime = start(&db.pool, store.clone());
        Self {
            db,
            store,
            _runtime: runtime,
        }
    }

    /// Appends the decisions of `script` not appended yet, waits until they are projected, and
    /// returns the tenant as the API shows it.
    async fn sync(&self, script: &TenantScript, appended: &mut usize) -> TenantView {
        let mut version: u64 = script.appends()[..*appended]
            .iter()
            .map(|a| a.len() as u64)
            .sum();
        let mut last = Checkpoint::START;
        for decision in &script.appends()[*appended..] {
            last = append(&*self.store, script.tenant, version, decision)
                .await
                .last;
            version += decision.len() as u64;
        }
        *appended = script.appends().len();
        caught_up(&self.db.pool, &*self.store, last.position).await;
        tenants::get(&self.db.pool, script.tenant.as_uuid())
            .await
            .expect("the query works")
            .expect("the tenant is in the panel")
    }
}

fn step_statuses(view: &TenantView) -> Vec<(&str, &str, u32)> {
    view.provisioning
        .steps
        .iter()
        .map(|s| (s.name.as_str(), s.status.as_str(), s.attempts))
        .collect()
}

#[tokio::test]
async fn the_tenant_view_follows_a_tenant_through_its_life() {
    let f = Fixture::new().await;
    let mut appended = 0;
    // The API appends the creation alone: the tenant waits for the saga.
    let mut s = TenantScript::created(1, "pro");
    let id = s.tenant;
    let names = TenantNames::of(id);
    let view = f.sync(&s, &mut appended).await;
    assert_eq!(view.status, TenantStatus::Pending);
    assert_eq!(view.version, 1);
    assert!(
        view.provisioning.steps.is_empty(),
        "{:?}",
        view.provisioning
    );
    assert_eq!(view.provisioning.current_step, None);

    // The saga requests the provisioning, in an append of its own.
    let at = s.tick();
    s.decide(TenantCommand::RequestProvisioning { at });
    let view = f.sync(&s, &mut appended).await;
    assert_eq!(view.status, TenantStatus::Provisioning);
    assert_eq!(view.plan, "pro");
    assert_eq!(view.isolation, IsolationModel::SchemaPerTenant);
    assert_eq!(view.version, 2);
    assert_eq!(view.provisioning.status, "running");
    assert_eq!(view.provisioning.attempt, 1);
    assert_eq!(view.provisioning.current_step.as_deref(), Some("schema"));
    assert_eq!(
        step_statuses(&view),
        [
            ("schema", "running", 0),
            ("tenant_migrations", "pending", 0),
            ("redis_namespace", "pending", 0),
            ("queue", "pending", 0)
        ]
    );
    assert_eq!(view.infrastructure.schema, None);

    // The first step fails once; a retry is scheduled.
    let step = s.state().tenant().unwrap().next_step().unwrap();
    let at = s.tick();
    s.decide_all([
        TenantCommand::RecordStepFailed {
            step,
            error: "connection refused".into(),
            at,
        },
        TenantCommand::ScheduleRetry {
            step,
            retry_at: at + Days::seconds(30),
            at,
        },
    ]);
    let view = f.sync(&s, &mut appended).await;
    assert_eq!(view.provisioning.status, "retrying");
    let first = &view.provisioning.steps[0];
    assert_eq!(
        (first.status.as_str(), first.attempts),
        ("retry_scheduled", 1)
    );
    assert_eq!(first.last_error.as_deref(), Some("connection refused"));

    // The retry succeeds, and so do the other steps.
    s.provision(0);
    let view = f.sync(&s, &mut appended).await;
    assert_eq!(view.status, TenantStatus::Active);
    assert_eq!(view.provisioning.status, "completed");
    assert_eq!(view.provisioning.current_step, None);
    assert_eq!(
        step_statuses(&view),
        [
            ("schema", "succeeded", 2),
            ("tenant_migrations", "succeeded", 1),
            ("redis_namespace", "succeeded", 1),
            ("queue", "succeeded", 1)
        ]
    );
    assert!(
        view.provisioning
            .steps
            .iter()
            .all(|s| s.started_at.is_some() && s.finished_at.is_some())
    );
    assert_eq!(view.infrastructure.schema.as_deref(), Some(names.schema()));
    assert_eq!(view.infrastructure.database, None);
    assert_eq!(
        view.infrastructure.redis_namespace.as_deref(),
        Some(names.redis_namespace())
    );
    assert_eq!(view.infrastructure.queues, [names.queue()]);

    // A domain, workers, a new name and plan, a suspension.
    let (w1, w2) = (Uuid::now_v7(), Uuid::now_v7());
    s.domain("chat.clinica.example");
    s.worker_started(w1).worker_started(w2).worker_stopped(w1);
    let (at1, at2) = (s.tick(), s.tick());
    s.decide_all([
        TenantCommand::Rename {
            name: tenantry_domain::TenantName::parse("Clínica Dr. Marco").unwrap(),
            at: at1,
        },
        TenantCommand::ChangePlan {
            plan: tenantry_domain::PlanCatalog::default()
                .plan("enterprise")
                .unwrap()
                .clone(),
            at: at2,
        },
    ]);
    let at = s.tick();
    s.decide(TenantCommand::Suspend { reason: None, at });
    let view = f.sync(&s, &mut appended).await;
    assert_eq!(view.name, "Clínica Dr. Marco");
    assert_eq!(view.plan, "enterprise");
    assert_eq!(
        view.isolation,
        IsolationModel::SchemaPerTenant,
        "the model stays"
    );
    assert_eq!(view.status, TenantStatus::Suspended);
    assert_eq!(view.active_workers, 1);
    assert_eq!(view.domains.len(), 1);
    let domain = &view.domains[0];
    assert_eq!(
        (
            domain.host.as_str(),
            domain.status.as_str(),
            domain.tls_status.as_str()
        ),
        ("chat.clinica.example", "active", "issued")
    );

    // The panel agrees with the aggregate's own fold of the stream.
    let tenant = s.state().tenant().unwrap();
    assert_eq!(view.version, s.state().version());
    assert_eq!(view.status, tenant.status);
    assert_eq!(view.name, tenant.name.as_str());
    assert_eq!(view.slug, tenant.slug.as_str());
    assert_eq!(view.created_at, tenant.created_at);
    assert_eq!(view.updated_at, tenant.updated_at);

    // And serializes to API.md's shape.
    let json = serde_json::to_value(&view).unwrap();
    for key in [
        "id",
        "name",
        "slug",
        "plan",
        "isolation",
        "status",
        "version",
        "created_at",
        "updated_at",
        "provisioning",
        "infrastructure",
        "domains",
        "active_workers",
    ] {
        assert!(json.get(key).is_some(), "Tenant has {key}");
    }
    assert_eq!(json["status"], "suspended");
    assert_eq!(json["provisioning"]["steps"][0]["name"], "schema");
    assert_eq!(
        json["infrastructure"]["queues"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn a_rolled_back_provisioning_shows_failed_with_everything_released() {
    let f = Fixture::new().await;
    let mut appended = 0;
    let mut s = TenantScript::create(2, "free");
    s.step(0).step(0).roll_back();
    let view = f.sync(&s, &mut appended).await;
    assert_eq!(view.status, TenantStatus::Failed);
    assert_eq!(view.provisioning.status, "failed");
    assert_eq!(
        step_statuses(&view),
        [
            ("register_shared_tenant", "released", 1),
            ("redis_namespace", "released", 1),
            ("queue", "failed", 1)
        ]
    );
    assert_eq!(
        view.provisioning.steps[2].last_error.as_deref(),
        Some("quota exceeded")
    );
    assert_eq!(view.infrastructure.redis_namespace, None);
    assert!(view.infrastructure.queues.is_empty());

    // An operator retries: a second attempt starts from the first step.
    let at = s.tick();
    s.decide(TenantCommand::RequestProvisioning { at });
    let view = f.sync(&s, &mut appended).await;
    assert_eq!(view.status, TenantStatus::Provisioning);
    assert_eq!(view.provisioning.attempt, 2);
    assert_eq!(
        step_statuses(&view),
        [
            ("register_shared_tenant", "running", 0),
            ("redis_namespace", "pending", 0),
            ("queue", "pending", 0)
        ]
    );
}

/// A run that a newer release planned with other steps (its `ProvisioningRequested` records
/// them) shows only its own: the previous run's extra step is gone, not left behind.
#[tokio::test]
async fn a_retry_planned_with_fewer_steps_shows_only_those() {
    let f = Fixture::new().await;
    let mut appended = 0;
    let mut s = TenantScript::create(3, "free");
    s.step(0).step(0).roll_back();
    let view = f.sync(&s, &mut appended).await;
    assert_eq!(view.provisioning.steps.len(), 3);

    let version: u64 = s.appends().iter().map(|a| a.len() as u64).sum();
    let retry = ProvisioningRequested {
        tenant_id: s.tenant,
        attempt: 2,
        isolation: IsolationModel::SharedSchema,
        steps: vec![
            ProvisioningStep::RegisterSharedTenant,
            ProvisioningStep::Queue,
        ],
        at: s.tick(),
    };
    let last = append(
        &*f.store,
        s.tenant,
        version,
        &Append::by_staff(vec![retry.into()]),
    )
    .await
    .last;
    caught_up(&f.db.pool, &*f.store, last.position).await;
    let view = tenants::get(&f.db.pool, s.tenant.as_uuid())
        .await
        .expect("the query works")
        .expect("the tenant is in the panel");
    assert_eq!(view.provisioning.attempt, 2);
    assert_eq!(
        step_statuses(&view),
        [
            ("register_shared_tenant", "running", 0),
            ("queue", "pending", 0)
        ]
    );
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM read.provisioning_steps WHERE tenant_id = $1")
            .bind(s.tenant.as_uuid())
            .fetch_one(&f.db.pool)
            .await
            .unwrap();
    assert_eq!(rows, 2);
}

#[tokio::test]
async fn the_tenant_list_filters_and_pages_through_every_tenant_once() {
    let f = Fixture::new().await;
    let (lives, last) = seed(&*f.store, 0, 30).await;
    caught_up(&f.db.pool, &*f.store, last.position).await;

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = tenants::list(
            &f.db.pool,
            &TenantFilter {
                limit: Some(7),
                cursor: cursor.take(),
                include_deleted: true,
                ..TenantFilter::default()
            },
        )
        .await
        .unwrap();
        assert!(page.items.len() <= 7);
        seen.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let ids: Vec<Uuid> = seen.iter().map(|t| t.id).collect();
    assert_eq!(ids.len(), 30);
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        30,
        "no tenant twice"
    );
    assert!(
        seen.windows(2).all(|w| w[0].created_at >= w[1].created_at),
        "newest first"
    );
    // Each listed tenant is as the aggregate's fold says.
    for life in &lives {
        let state = tenantry_domain::TenantState::fold(life.events());
        let view = seen.iter().find(|t| t.id == life.tenant.as_uuid()).unwrap();
        let tenant = state.tenant().unwrap();
        assert_eq!(view.status, tenant.status);
        assert_eq!(view.plan, tenant.plan.as_str());
        assert_eq!(view.version, state.version());
        assert_eq!(view.active_workers as usize, tenant.active_workers.len());
    }

    let deleted = tenants::list(
        &f.db.pool,
        &TenantFilter {
            status: Some(TenantStatus::Deleted),
            ..TenantFilter::default()
        },
    )
    .await
    .unwrap();
    let expected: HashSet<Uuid> = lives
        .iter()
        .enumerate()
        .filter(|(n, _)| n % 7 == 6)
        .map(|(_, l)| l.tenant.as_uuid())
        .collect();
    assert_eq!(
        deleted.items.iter().map(|t| t.id).collect::<HashSet<_>>(),
        expected
    );
    assert!(deleted.items.iter().all(|t| t.domains.is_empty()));

    // Without a status, the deleted are left out; by isolation, only that model's.
    let live = tenants::list(
        &f.db.pool,
        &TenantFilter {
            limit: Some(500),
            ..TenantFilter::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(live.items.len(), 30 - expected.len());
    assert!(live.items.iter().all(|t| !expected.contains(&t.id)));
    let shared = tenants::list(
        &f.db.pool,
        &TenantFilter {
            isolation: Some(IsolationModel::SharedSchema),
            include_deleted: true,
            limit: Some(500),
            ..TenantFilter::default()
        },
    )
    .await
    .unwrap();
    let shared_lives = lives
        .iter()
        .filter(|l| {
            tenantry_domain::TenantState::fold(l.events())
                .tenant()
                .is_some_and(|t| t.isolation == IsolationModel::SharedSchema)
        })
        .count();
    assert!(shared_lives > 0 && shared_lives < 30, "{shared_lives}");
    assert_eq!(shared.items.len(), shared_lives);
    assert!(
        shared
            .items
            .iter()
            .all(|t| t.isolation == IsolationModel::SharedSchema)
    );

    let pro = tenants::list(
        &f.db.pool,
        &TenantFilter {
            plan: Some("pro".into()),
            ..TenantFilter::default()
        },
    )
    .await
    .unwrap();
    assert!(!pro.items.is_empty() && pro.items.iter().all(|t| t.plan == "pro"));

    let found = tenants::list(
        &f.db.pool,
        &TenantFilter {
            q: Some("renomeada 12".into()),
            ..TenantFilter::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.items[0].id, lives[12].tenant.as_uuid());

    let wildcard = tenants::list(
        &f.db.pool,
        &TenantFilter {
            q: Some("%".into()),
            ..TenantFilter::default()
        },
    )
    .await
    .unwrap();
    assert!(wildcard.items.is_empty(), "% is taken literally");

    let invalid = tenants::list(
        &f.db.pool,
        &TenantFilter {
            cursor: Some("not a cursor".into()),
            ..TenantFilter::default()
        },
    )
    .await;
    assert!(matches!(invalid, Err(QueryError::InvalidCursor)));
    assert!(
        tenants::get(&f.db.pool, Uuid::now_v7())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn the_audit_log_lists_every_event_filtered_and_paged() {
    let f = Fixture::new().await;
    let (lives, last) = seed(&*f.store, 0, 5).await;
    caught_up(&f.db.pool, &*f.store, last.position).await;

    let mut items = Vec::new();
    let mut after = None;
    loop {
        let page = audit::list(
            &f.db.pool,
            &AuditFilter {
                limit: Some(13),
                after: after.take(),
                ..AuditFilter::default()
            },
        )
        .await
        .unwrap();
        items.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(
        items.len() as i64,
        event_count(&*f.store).await,
        "every event once"
    );
    let log = f.store.read_all(Checkpoint::START, 10_000).await.unwrap();
    let log_order: Vec<u64> = log.iter().map(|e| e.position).collect();
    assert_eq!(
        items.iter().map(|i| i.position).collect::<Vec<_>>(),
        log_order
    );
    for (item, event) in items.iter().zip(&log) {
        assert_eq!(item.actor, event.metadata.actor.to_string());
        assert_eq!(item.event_type, event.event_type);
        assert_eq!(item.payload, event.payload);
        assert_eq!(item.correlation_id, event.metadata.correlation_id);
    }

    let tenant = lives[3].tenant;
    let history = audit::list(
        &f.db.pool,
        &AuditFilter {
            tenant: Some(tenant.as_uuid()),
            limit: Some(500),
            ..AuditFilter::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(history.items.len(), lives[3].len());
    assert!(
        history
            .items
            .iter()
            .all(|i| i.stream_id == tenant.stream_id())
    );
    let versions: Vec<u64> = history.items.iter().map(|i| i.stream_version).collect();
    assert_eq!(versions, (1..=lives[3].len() as u64).collect::<Vec<_>>());
    assert_eq!(history.next, None);
    // An operator created the tenant; the saga started its provisioning (in an append of its own:
    // one append has one actor) and recorded the first step's outcome (tenant 3 fails its first).
    let who: Vec<(&str, &str)> = history.items[..3]
        .iter()
        .map(|i| (i.event_type.as_str(), i.actor.as_str()))
        .collect();
    assert_eq!(
        who,
        [
            ("TenantCreated", "staff:ops@example.com"),
            ("ProvisioningRequested", "saga:provisioning"),
            ("ProvisioningStepFailed", "saga:provisioning"),
        ]
    );

    let created = audit::list(
        &f.db.pool,
        &AuditFilter {
            event_type: Some("TenantCreated".into()),
            ..AuditFilter::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(created.items.len(), 5);

    let by_staff = audit::list(
        &f.db.pool,
        &AuditFilter {
            actor: Some("staff:ops@example.com".into()),
            limit: Some(3),
            ..AuditFilter::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(by_staff.items.len(), 3);
    assert!(
        by_staff
            .items
            .iter()
            .all(|i| i.actor == "staff:ops@example.com")
    );
    let by_saga = audit::list(
        &f.db.pool,
        &AuditFilter {
            actor: Some("saga:provisioning".into()),
            limit: Some(500),
            ..AuditFilter::default()
        },
    )
    .await
    .unwrap();
    let saga_events = log
        .iter()
        .filter(|e| e.metadata.actor.to_string() == "saga:provisioning")
        .count();
    assert!(saga_events > 0);
    assert_eq!(by_saga.items.len(), saga_events);
    let by_nobody = audit::list(
        &f.db.pool,
        &AuditFilter {
            actor: Some("staff:nobody@example.com".into()),
            ..AuditFilter::default()
        },
    )
    .await
    .unwrap();
    assert!(by_nobody.items.is_empty());

    let hour = Days::hours(1);
    let window = |from, to| AuditFilter {
        from,
        to,
        limit: Some(500),
        ..AuditFilter::default()
    };
    let now = Utc::now();
    let recent = audit::list(&f.db.pool, &window(Some(now - hour), Some(now + hour)))
        .await
        .unwrap();
    assert_eq!(recent.items.len(), items.len().min(500));
    let future = audit::list(&f.db.pool, &window(Some(now + hour), None))
        .await
        .unwrap();
    assert!(future.items.is_empty());
    let past = audit::list(&f.db.pool, &window(None, Some(now - hour)))
        .await
        .unwrap();
    assert!(past.items.is_empty());
}

#[tokio::test]
async fn the_directory_resolves_hosts_to_tenants_and_their_data() {
    let f = Fixture::new().await;
    let (lives, last) = seed(&*f.store, 0, 8).await;
    caught_up(&f.db.pool, &*f.store, last.position).await;
    let base = "tenantry.test";
    let slug = |n: usize| {
        tenantry_domain::TenantState::fold(lives[n].events())
            .tenant()
            .unwrap()
            .slug
            .to_string()
    };
    let resolve = |host: String| {
        let pool = f.db.pool.clone();
        async move { directory::resolve(&pool, base, &host).await.unwrap() }
    };

    // Tenant 1 (basic): shared schema.
    let entry = resolve(format!("{}.{base}", slug(1)))
        .await
        .expect("found by slug");
    assert_eq!(entry.tenant_id, lives[1].tenant.as_uuid());
    assert_eq!(entry.isolation, IsolationModel::SharedSchema);
    assert_eq!(entry.status, TenantStatus::Active);
    assert_eq!(
        (entry.database.is_none(), entry.schema.is_none()),
        (true, true)
    );
    assert!(entry.redis.is_some() && entry.queue.is_some());

    // Tenant 2 (pro): its schema and role; found by its custom domain too, in any case, with a port.
    let t2 = lives[2].tenant;
    let entry = resolve(format!("{}.{base}", slug(2))).await.unwrap();
    let schema = entry.schema.expect("a schema");
    let names = TenantNames::of(t2);
    assert_eq!(
        (schema.name.as_str(), schema.role.as_str()),
        (names.schema(), names.role())
    );
    // Its role logs in (issue 12): the directory names its password's reference, never the password.
    assert_eq!(schema.password_secret, names.postgres_secret().as_str());
    let redis = entry.redis.unwrap();
    assert_eq!(redis.namespace, names.redis_namespace());
    assert_eq!(redis.password_secret, names.redis_secret().as_str());
    let by_domain = resolve("APP2.Customer.Example:443".into()).await.unwrap();
    assert_eq!(by_domain.tenant_id, t2.as_uuid());

    // Tenant 3 (enterprise): its database, with a secret reference only.
    let t3 = lives[3].tenant;
    let database = resolve(format!("{}.{base}", slug(3)))
        .await
        .unwrap()
        .database
        .unwrap();
    let names = TenantNames::of(t3);
    assert_eq!(database.name, names.database());
    assert_eq!(database.password_secret, names.postgres_secret().as_str());

    // Tenant 6 was deleted: neither its slug nor its domain leads anywhere.
    assert_eq!(resolve(format!("{}.{base}", slug(6))).await, None);
    assert_eq!(resolve("app6.customer.example".into()).await, None);
    // Unknown hosts, other base domains, nested names.
    assert_eq!(resolve(format!("nobody.{base}")).await, None);
    assert_eq!(resolve(format!("{}.elsewhere.test", slug(1))).await, None);
    assert_eq!(resolve(format!("x.{}.{base}", slug(1))).await, None);

    // A registered host routes only once it is proven.
    let t1 = lives[1].tenant;
    let version = lives[1].len() as u64;
    let at = Utc::now();
    let registered = DomainRegistered {
        tenant_id: t1,
        host: "shop.example.org".into(),
        at,
    };
    let r = append(
        &*f.store,
        t1,
        version,
        &Append::by_staff(vec![registered.into()]),
    )
    .await;
    caught_up(&f.db.pool, &*f.store, r.last.position).await;
    assert_eq!(
        resolve("shop.example.org".into()).await,
        None,
        "not proven yet"
    );
    let activated = DomainActivated {
        tenant_id: t1,
        host: "shop.example.org".into(),
        at,
    };
    let r = append(
        &*f.store,
        t1,
        version + 1,
        &Append::by_staff(vec![activated.into()]),
    )
    .await;
    caught_up(&f.db.pool, &*f.store, r.last.position).await;
    assert_eq!(
        resolve("shop.example.org".into())
            .await
            .map(|e| e.tenant_id),
        Some(t1.as_uuid())
    );
}
