//! Real tenant histories for the read-side tests and benchmarks: each tenant's life is driven
//! through the domain's own commands (`TenantState::decide`), so the events and payloads are
//! exactly what the application appends, one append per decision, by whoever makes it in
//! production: the API appends `TenantCreated` alone (an operator's), the provisioning saga then
//! appends `ProvisioningRequested` and every step's outcome (as `saga:provisioning`), operators
//! the rest. Events that have no command yet (domains, TLS, workers) are built from their payload
//! types and appended as an operator's. Which path a tenant takes (a step failing and retried, a
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
    CreateTenant, DomainEvent, PlanCatalog, ProvisionedResource, ProvisioningStep,
    ReservedSubdomains, SecretRef, Slug, TenantCommand, TenantEvent, TenantId, TenantName,
    TenantNames, TenantState, TenantStatus,
};
use uuid::Uuid;

/// One append: the events of one decision, and who made it.
#[derive(Debug, Clone)]
pub struct Append {
    pub actor: Actor,
    pub events: Vec<TenantEvent>,
}

impl Append {
    /// `events` decided by an operator.
    pub fn by_staff(events: Vec<TenantEvent>) -> Self {
        Self {
            actor: staff(),
            events,
        }
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

/// One tenant's history: its appends in order.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    pub tenant: TenantId,
    pub appends: Vec<Append>,
}

impl Lifecycle {
    pub fn events(&self) -> impl Iterator<Item = &TenantEvent> {
        self.appends.iter().flat_map(|a| &a.events)
    }

    pub fn len(&self) -> usize {
        self.appends.iter().map(Append::len).sum()
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
    appends: Vec<Append>,
}

impl TenantScript {
    /// A new tenant `tenant-{n}` on `plan`, created (`TenantCreated` alone, as the API appends it)
    /// and with its provisioning requested by the saga (its own append, after the creation).
    pub fn create(n: u64, plan: &str) -> Self {
        let mut script = Self::created(n, plan);
        let at = script.tick();
        script.decide(TenantCommand::RequestProvisioning { at });
        script
    }

    /// A new tenant `tenant-{n}` on `plan`, created by an operator and still `pending`: what the
    /// API appends, before the saga picks the tenant up.
    pub fn created(n: u64, plan: &str) -> Self {
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
        script.decide(create);
        script
    }

    pub fn state(&self) -> &TenantState {
        &self.state
    }

    /// The decisions recorded so far, each one append.
    pub fn appends(&self) -> &[Append] {
        &self.appends
    }

    /// Decides `command` and records its events as one append (none if it decided nothing), by
    /// whoever sends that command in production ([`actor_of`]).
    pub fn decide(&mut self, command: TenantCommand) -> &mut Self {
        self.decide_all([command])
    }

    /// Decides `commands` one after another and records their events as one append: one actor's
    /// decision, so the commands must all be that actor's.
    pub fn decide_all(&mut self, commands: impl IntoIterator<Item = TenantCommand>) -> &mut Self {
        let mut state = self.state.clone();
        let mut actor = None;
        let mut events = Vec::new();
        for command in commands {
            let by = actor_of(&state, &command);
            assert!(
                actor.as_ref().is_none_or(|a| *a == by),
                "one append is one actor's decision: {} is {by}'s",
                command.name()
            );
            let decided = state
                .decide(command)
                .unwrap_or_else(|e| panic!("the script's command was refused: {e}"));
            for event in &decided {
                state.apply_mut(event);
            }
            events.extend(decided);
            actor = Some(by);
        }
        match actor {
            Some(actor) => self.record_as(actor, events),
            None => self,
        }
    }

    /// Records events built directly (those no command decides yet), as an operator's.
    pub fn record(&mut self, events: Vec<TenantEvent>) -> &mut Self {
        self.record_as(staff(), events)
    }

    fn record_as(&mut self, actor: Actor, events: Vec<TenantEvent>) -> &mut Self {
        for event in &events {
            self.state.apply_mut(event);
        }
        if !events.is_empty() {
            self.appends.push(Append { actor, events });
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
                certificate_secret: SecretRef::parse(&format!(
                    "{}tls",
                    TenantNames::of(tenant_id).secret_prefix()
                ))
                .expect("a valid reference"),
                at,
            }
            .into(),
        ])
    }

    pub fn worker_started(&mut self, worker_id: Uuid) -> &mut Self {
        let (tenant_id, at) = (self.tenant, self.tick());
        let queue = TenantNames::of(self.tenant).queue();
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
    let names = TenantNames::of(tenant);
    match step {
        ProvisioningStep::RegisterSharedTenant => ProvisionedResource::SharedTenant,
        ProvisioningStep::Schema => ProvisionedResource::Schema {
            schema: names.schema().to_owned(),
            role: names.role().to_owned(),
        },
        ProvisioningStep::Database => ProvisionedResource::Database {
            database: names.database().to_owned(),
            role: names.role().to_owned(),
            password_secret: names.postgres_secret(),
        },
        ProvisioningStep::TenantMigrations => ProvisionedResource::TenantMigrations {
            target: names.resource().to_owned(),
            latest_version: 3,
        },
        ProvisioningStep::RedisNamespace => ProvisionedResource::RedisNamespace {
            namespace: names.redis_namespace().to_owned(),
            acl_user: names.redis_user().to_owned(),
            password_secret: names.redis_secret(),
        },
        ProvisioningStep::Queue => ProvisionedResource::Queue {
            queue: names.queue(),
        },
        ProvisioningStep::Hook(hook) => ProvisionedResource::Hook {
            hook,
            outputs: serde_json::json!({"hook": hook.as_str()}),
        },
    }
}

/// Who sends `command` to a tenant in `state` in production: the provisioning saga starts a
/// `pending` tenant's provisioning and records every step's outcome, every release and the end of
/// a rollback or a deletion; operators send the rest, a `failed` tenant's retry included.
pub fn actor_of(state: &TenantState, command: &TenantCommand) -> Actor {
    use TenantCommand as C;
    match command {
        C::RequestProvisioning { .. } | C::RequestProvisioningWithHooks { .. }
            if state
                .tenant()
                .is_some_and(|t| t.status == TenantStatus::Pending) =>
        {
            saga()
        }
        C::Create(_)
        | C::Rename { .. }
        | C::ChangePlan { .. }
        | C::RequestProvisioning { .. }
        | C::RequestProvisioningWithHooks { .. }
        | C::Suspend { .. }
        | C::Reactivate { .. }
        | C::RequestDeletion { .. }
        | C::RecordCredentialsRevealed { .. }
        | C::RotateCredentials { .. } => staff(),
        C::RecordStepSucceeded { .. }
        | C::RecordStepFailed { .. }
        | C::RecordTransientStepFailure { .. }
        | C::ScheduleRetry { .. }
        | C::CompleteProvisioning { .. }
        | C::StartRollback { .. }
        | C::RecordResourceReleased { .. }
        | C::CompleteRollback { .. }
        | C::MarkDeleted { .. }
        | C::RecordResourceRepaired { .. }
        | C::RecordAccessSuspended { .. }
        | C::RecordAccessRestored { .. }
        | C::RecordAccessChangeFailed { .. }
        | C::RecordCredentialsApplied { .. }
        | C::RecordCredentialsRetired { .. }
        | C::RecordCredentialsChangeFailed { .. } => saga(),
        C::RecordMigrated { .. } | C::RecordMigrationFailed { .. } => saga(),
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

/// The metadata an event of `tenant` gets when `actor` causes it: an operator's comes through
/// the API (an address, a user agent); the saga's starts a correlation of its own, as its
/// `CommandContext::new` does.
pub fn metadata(tenant: TenantId, actor: &Actor) -> EventMetadata {
    let correlation_id = Uuid::now_v7();
    let from_api = matches!(actor, Actor::Staff { .. });
    EventMetadata {
        actor: actor.clone(),
        correlation_id,
        causation_id: (!from_api).then_some(correlation_id),
        ip: from_api.then(|| "203.0.113.7".into()),
        user_agent: from_api.then(|| "tenantry-tests".into()),
        tenant_id: Some(tenant.as_uuid()),
    }
}

/// The provisioning saga, as its appends name it (`saga:provisioning`).
pub fn saga() -> Actor {
    Actor::Saga {
        name: "provisioning".into(),
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

/// Appends one decision of `tenant` as the application would (expected version checked), with
/// the metadata of its actor.
pub async fn append(
    store: &dyn EventStore,
    tenant: TenantId,
    version_before: u64,
    decision: &Append,
) -> AppendResult {
    let metadata = metadata(tenant, &decision.actor);
    store
        .append(
            &tenant.stream_id(),
            ExpectedVersion::Exact(version_before),
            encode(&decision.events, &metadata),
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
