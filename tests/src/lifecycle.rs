//! Real tenant histories for the read-side tests and benchmarks: each tenant's life is driven
//! through the domain's own commands (`TenantState::decide`), so the events and payloads are
//! exactly what the application appends. Events that have no command yet (domains, TLS, workers)
//! are built from their payload types. Which path a tenant takes (a step failing and retried, a
//! provisioning rolled back and retried, a deletion) follows from its number, so a seed is
//! reproducible.

use chrono::{DateTime, Duration, TimeZone, Utc};
use tenantry_application::event_store::{
    Actor, AppendResult, EventMetadata, EventStore, ExpectedVersion, NewEvent,
};
use tenantry_domain::events::{
    CertificateIssued, DomainActivated, DomainRegistered, WorkerStarted, WorkerStopped,
};
use tenantry_domain::{
    Aggregate, CreateTenant, DomainEvent, PlanCatalog, ProvisionedResource, ProvisioningStep,
    ReservedSubdomains, SecretRef, Slug, TenantCommand, TenantEvent, TenantId, TenantName,
    TenantState,
};
use uuid::Uuid;

/// One tenant's history: its appends in order, each the events of one decision.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    pub tenant: TenantId,
    pub appends: Vec<Vec<TenantEvent>>,
}

impl Lifecycle {
    pub fn events(&self) -> impl Iterator<Item = &TenantEvent> {
        self.appends.iter().flatten()
    }

    pub fn len(&self) -> usize {
        self.appends.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.appends.is_empty()
    }
}

/// Drives one tenant through commands, collecting what each decides.
pub struct TenantScript {
    pub tenant: TenantId,
    state: TenantState,
    at: DateTime<Utc>,
    appends: Vec<Vec<TenantEvent>>,
}

impl TenantScript {
    /// A new tenant `tenant-{n}` on `plan`, created and with provisioning requested (one append,
    /// as the API does it).
    pub fn create(n: u64, plan: &str) -> Self {
        let tenant = TenantId::from_uuid(Uuid::now_v7());
        let catalog = PlanCatalog::default();
        let mut script = Self {
            tenant,
            state: TenantState::default(),
            at: Utc
                .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
                .single()
                .expect("a valid time")
                + Duration::seconds(n as i64),
            appends: Vec::new(),
        };
        let create = TenantCommand::Create(CreateTenant {
            tenant_id: tenant,
            name: TenantName::parse(&format!("Clínica Número {n}")).expect("a valid name"),
            slug: Slug::parse(
                &format!(
                    "tenant-{n}-{}",
                    &tenant.as_uuid().simple().to_string()[24..]
                ),
                &ReservedSubdomains::new::<_, &str>([]),
            )
            .expect("a valid slug"),
            plan: catalog.plan(plan).expect("a built-in plan").clone(),
            isolation: None,
            admin_email: None,
            at: script.at,
        });
        let at = script.at;
        script.decide_all([create, TenantCommand::RequestProvisioning { at }]);
        script
    }

    pub fn state(&self) -> &TenantState {
        &self.state
    }

    /// The decisions recorded so far, each one append.
    pub fn appends(&self) -> &[Vec<TenantEvent>] {
        &self.appends
    }

    /// Decides `command` and records its events as one append (none if it decided nothing).
    pub fn decide(&mut self, command: TenantCommand) -> &mut Self {
        self.decide_all([command])
    }

    pub fn decide_all(&mut self, commands: impl IntoIterator<Item = TenantCommand>) -> &mut Self {
        let events = self
            .state
            .decide_all(commands)
            .unwrap_or_else(|e| panic!("the script's command was refused: {e}"));
        self.record(events)
    }

    /// Records events built directly (those no command decides yet).
    pub fn record(&mut self, events: Vec<TenantEvent>) -> &mut Self {
        for event in &events {
            self.state.apply_mut(event);
        }
        if !events.is_empty() {
            self.appends.push(events);
        }
        self
    }

    /// The time for the next command: a minute after the last.
    pub fn tick(&mut self) -> DateTime<Utc> {
        self.at += Duration::minutes(1);
        self.at
    }

    /// Runs the next provisioning step, first failing it `failures` times (each failure with a
    /// scheduled retry).
    pub fn step(&mut self, failures: u32) -> &mut Self {
        let tenant = self.state.tenant().expect("a created tenant");
        let step = tenant.next_step().expect("a step left to run");
        for f in 0..failures {
            let at = self.tick();
            self.decide_all([
                TenantCommand::RecordStepFailed {
                    step,
                    error: format!("connection refused (try {})", f + 1),
                    at,
                },
                TenantCommand::ScheduleRetry {
                    step,
                    retry_at: at + Duration::seconds(30),
                    at,
                },
            ]);
        }
        let at = self.tick();
        let resource = resource(self.tenant, step);
        self.decide(TenantCommand::RecordStepSucceeded { resource, at })
    }

    /// Runs every remaining step and completes provisioning.
    pub fn provision(&mut self, failures_on_first: u32) -> &mut Self {
        let mut failures = failures_on_first;
        while self.state.tenant().and_then(|t| t.next_step()).is_some() {
            self.step(failures);
            failures = 0;
        }
        let at = self.tick();
        self.decide(TenantCommand::CompleteProvisioning { at })
    }

    /// Fails the next step, gives up, releases what was made and ends `failed`.
    pub fn roll_back(&mut self) -> &mut Self {
        let step = self
            .state
            .tenant()
            .and_then(|t| t.next_step())
            .expect("a step left to run");
        let at = self.tick();
        self.decide_all([
            TenantCommand::RecordStepFailed {
                step,
                error: "quota exceeded".into(),
                at,
            },
            TenantCommand::StartRollback {
                reason: "step failed: quota exceeded".into(),
                at,
            },
        ]);
        self.release_all();
        let at = self.tick();
        self.decide(TenantCommand::CompleteRollback { at })
    }

    fn release_all(&mut self) {
        let held: Vec<ProvisioningStep> = self
            .state
            .tenant()
            .map(|t| t.resources_to_release().iter().map(|r| r.step()).collect())
            .unwrap_or_default();
        for step in held {
            let at = self.tick();
            self.decide(TenantCommand::RecordResourceReleased { step, at });
        }
    }

    /// Registers, activates and certifies `host`.
    pub fn domain(&mut self, host: &str) -> &mut Self {
        let (tenant_id, at) = (self.tenant, self.tick());
        let host = host.to_owned();
        self.record(vec![
            DomainRegistered {
                tenant_id,
                host: host.clone(),
                at,
            }
            .into(),
        ]);
        self.record(vec![
            DomainActivated {
                tenant_id,
                host: host.clone(),
                at,
            }
            .into(),
        ]);
        self.record(vec![
            CertificateIssued {
                tenant_id,
                host,
                expires_at: Utc::now() + Duration::days(90),
                certificate_secret: SecretRef::parse(&format!("tenant/{tenant_id}/tls"))
                    .expect("a valid reference"),
                at,
            }
            .into(),
        ])
    }

    pub fn worker_started(&mut self, worker_id: Uuid) -> &mut Self {
        let (tenant_id, at) = (self.tenant, self.tick());
        let queue = format!("{}queue:default", self.tenant.redis_namespace());
        self.record(vec![
            WorkerStarted {
                tenant_id,
                worker_id,
                queue,
                at,
            }
            .into(),
        ])
    }

    pub fn worker_stopped(&mut self, worker_id: Uuid) -> &mut Self {
        let (tenant_id, at) = (self.tenant, self.tick());
        self.record(vec![
            WorkerStopped {
                tenant_id,
                worker_id,
                reason: Some("deploy".into()),
                at,
            }
            .into(),
        ])
    }

    /// Requests deletion, releases everything, and marks the tenant deleted.
    pub fn delete(&mut self) -> &mut Self {
        let at = self.tick();
        self.decide(TenantCommand::RequestDeletion {
            reason: Some("customer left".into()),
            at,
        });
        self.release_all();
        let at = self.tick();
        self.decide(TenantCommand::MarkDeleted { at })
    }

    pub fn finish(self) -> Lifecycle {
        Lifecycle {
            tenant: self.tenant,
            appends: self.appends,
        }
    }
}

/// What a step makes, named as the real provisioners name it.
pub fn resource(tenant: TenantId, step: ProvisioningStep) -> ProvisionedResource {
    let secret = |what: &str| {
        SecretRef::parse(&format!("tenant/{tenant}/{what}")).expect("a valid reference")
    };
    match step {
        ProvisioningStep::RegisterSharedTenant => ProvisionedResource::SharedTenant,
        ProvisioningStep::Schema => ProvisionedResource::Schema {
            schema: tenant.resource_name(),
            role: tenant.resource_name(),
        },
        ProvisioningStep::Database => ProvisionedResource::Database {
            database: tenant.resource_name(),
            role: tenant.resource_name(),
            password_secret: secret("postgres"),
        },
        ProvisioningStep::TenantMigrations => ProvisionedResource::TenantMigrations {
            target: tenant.resource_name(),
            latest_version: 3,
        },
        ProvisioningStep::RedisNamespace => ProvisionedResource::RedisNamespace {
            namespace: tenant.redis_namespace(),
            acl_user: tenant.resource_name(),
            password_secret: secret("redis"),
        },
        ProvisioningStep::Queue => ProvisionedResource::Queue {
            queue: format!("{}queue:default", tenant.redis_namespace()),
        },
    }
}

/// A full, varied life for tenant number `n` (about 20 events): created on one of the four plans,
/// provisioned (every third with a failed and retried first step; every tenth rolled back once and
/// retried), given a domain, workers started and one stopped, renamed, moved to another plan,
/// suspended and reactivated; every seventh is deleted at the end.
pub fn lifecycle(n: u64) -> Lifecycle {
    const PLANS: [&str; 4] = ["free", "basic", "pro", "enterprise"];
    let mut s = TenantScript::create(n, PLANS[(n % 4) as usize]);
    if n % 10 == 9 {
        s.step(0).roll_back();
        let at = s.tick();
        s.decide(TenantCommand::RequestProvisioning { at });
    }
    s.provision(u32::from(n.is_multiple_of(3)));
    s.domain(&format!("app{n}.customer.example"));
    let (w1, w2) = (Uuid::now_v7(), Uuid::now_v7());
    s.worker_started(w1).worker_started(w2).worker_stopped(w1);
    let catalog = PlanCatalog::default();
    let (at1, at2) = (s.tick(), s.tick());
    s.decide_all([
        TenantCommand::Rename {
            name: TenantName::parse(&format!("Clínica Renomeada {n}")).expect("a valid name"),
            at: at1,
        },
        TenantCommand::ChangePlan {
            plan: catalog
                .plan(PLANS[((n + 1) % 4) as usize])
                .expect("a plan")
                .clone(),
            at: at2,
        },
    ]);
    let at = s.tick();
    s.decide(TenantCommand::Suspend {
        reason: Some("payment overdue".into()),
        at,
    });
    let at = s.tick();
    s.decide(TenantCommand::Reactivate { at });
    if n % 7 == 6 {
        s.delete();
    }
    s.finish()
}

/// The metadata an event of `tenant` gets when `actor` causes it.
pub fn metadata(tenant: TenantId, actor: &Actor) -> EventMetadata {
    EventMetadata {
        actor: actor.clone(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        ip: Some("203.0.113.7".into()),
        user_agent: Some("tenantry-tests".into()),
        tenant_id: Some(tenant.as_uuid()),
    }
}

/// The operator who causes the lifecycle commands in tests.
pub fn staff() -> Actor {
    Actor::Staff {
        id: Uuid::from_u128(7),
        email: "ops@example.com".into(),
    }
}

/// `events` encoded for the event store, with `metadata` (as the kernel's repository does).
pub fn encode(events: &[TenantEvent], metadata: &EventMetadata) -> Vec<NewEvent> {
    events
        .iter()
        .map(|event| {
            let encoded = event.encode().expect("tenant events encode");
            NewEvent::new(
                encoded.event_type,
                encoded.schema_version,
                encoded.payload,
                metadata.clone(),
            )
        })
        .collect()
}

/// Appends one decision of `tenant` as the application would (expected version checked).
pub async fn append(
    store: &dyn EventStore,
    tenant: TenantId,
    version_before: u64,
    events: &[TenantEvent],
) -> AppendResult {
    let metadata = metadata(tenant, &staff());
    store
        .append(
            &tenant.stream_id(),
            ExpectedVersion::Exact(version_before),
            encode(events, &metadata),
        )
        .await
        .expect("the append succeeds")
}

/// Appends a whole lifecycle, decision by decision; returns the last append's result.
pub async fn append_lifecycle(store: &dyn EventStore, lifecycle: &Lifecycle) -> AppendResult {
    let mut version = 0;
    let mut last = None;
    for events in &lifecycle.appends {
        last = Some(append(store, lifecycle.tenant, version, events).await);
        version += events.len() as u64;
    }
    last.expect("a lifecycle has events")
}
