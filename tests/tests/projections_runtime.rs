//! The projector runtime against a real PostgreSQL: a projector killed between batches or inside
//! one ends, after a restart, exactly where a rebuild from scratch ends; two runtimes on one
//! database run each projector once and hand over when one stops; a failing event is retried and
//! then stalls its projector alone; a holder whose projectors another instance claimed since (a
//! newer owner epoch) has its batches refused and stops leading; `wait_for_position` answers as soon as a position is projected,
//! and not before.

mod projections_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use sqlx::{Postgres, Transaction};
use tenantry_application::event_store::{EventStore, ExpectedVersion, NewEvent, RecordedEvent};
use tenantry_projections::{
    EventTypes, Projector, ProjectorState, default_projectors, projectors, wait_for_position,
};
use tenantry_tests::TestDb;
use tenantry_tests::lifecycle::{metadata, staff};
use tokio::sync::Notify;

use projections_support::{
    assert_equal_to_rebuild, caught_up, event_count, seed, start, start_with, test_config,
};

#[tokio::test]
async fn killed_between_batches_resumes_exactly_where_it_stopped() {
    let db = TestDb::new().await;
    let store: Arc<dyn EventStore> = Arc::new(db.event_store_polling(Duration::from_millis(50)));
    let (_, last) = seed(&*store, 0, 12).await;
    let runtime = start(&db.pool, store.clone());
    caught_up(&db.pool, &*store, last.position).await;
    runtime.abort().await;

    // More history while nothing projects, then a new runtime takes it from the checkpoints.
    let (_, last) = seed(&*store, 12, 20).await;
    let runtime = start(&db.pool, store.clone());
    caught_up(&db.pool, &*store, last.position).await;
    runtime.shutdown().await;

    assert_audited_once(&db.pool, &*store).await;
    assert_equal_to_rebuild(&db.pool, &*store).await;
}

/// Wraps a projector: its `hold_at`-th batch is applied, then never committed (the task hangs
/// inside the transaction until it is killed).
struct Hang {
    inner: Arc<dyn Projector>,
    calls: AtomicUsize,
    hold_at: usize,
    holding: Arc<Notify>,
}

#[async_trait]
impl Projector for Hang {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn event_types(&self) -> EventTypes {
        self.inner.event_types()
    }
    fn tables(&self) -> &'static [&'static str] {
        self.inner.tables()
    }
    async fn apply(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        events: &[RecordedEvent],
    ) -> anyhow::Result<()> {
        self.inner.apply(tx, events).await?;
        if self.calls.fetch_add(1, Ordering::SeqCst) + 1 == self.hold_at {
            self.holding.notify_one();
            std::future::pending::<()>().await;
        }
        Ok(())
    }
}

#[tokio::test]
async fn killed_inside_a_batch_leaves_no_trace_of_it() {
    let db = TestDb::new().await;
    let store: Arc<dyn EventStore> = Arc::new(db.event_store_polling(Duration::from_millis(50)));
    let (_, _) = seed(&*store, 0, 15).await;
    let holding = Arc::new(Notify::new());
    let hanging: Vec<Arc<dyn Projector>> = default_projectors()
        .into_iter()
        .map(|inner| {
            Arc::new(Hang {
                inner,
                calls: AtomicUsize::new(0),
                hold_at: 3,
                holding: holding.clone(),
            }) as Arc<dyn Projector>
        })
        .collect();
    let runtime = start_with(&db.pool, store.clone(), hanging);
    tokio::time::timeout(Duration::from_secs(30), holding.notified())
        .await
        .expect("a projector reached its third batch");
    runtime.abort().await;

    let (_, last) = seed(&*store, 15, 20).await;
    let runtime = start(&db.pool, store.clone());
    caught_up(&db.pool, &*store, last.position).await;
    runtime.shutdown().await;
    assert_equal_to_rebuild(&db.pool, &*store).await;
}

#[tokio::test]
async fn two_runtimes_run_each_projector_once_and_hand_over() {
    let db = TestDb::new().await;
    // Two "processes": each its own pool and event store.
    let other_pool = tenantry_infrastructure::postgres::connect(&db.url, 8)
        .await
        .unwrap();
    let store_a: Arc<dyn EventStore> = Arc::new(db.event_store_polling(Duration::from_millis(50)));
    let store_b: Arc<dyn EventStore> = Arc::new(
        tenantry_infrastructure::event_store::PgEventStore::with_poll_interval(
            other_pool.clone(),
            Default::default(),
            Duration::from_millis(50),
        ),
    );
    let a = start(&db.pool, store_a.clone());
    let b = start(&other_pool, store_b.clone());
    let (_, last) = seed(&*store_a, 0, 10).await;
    caught_up(&db.pool, &*store_a, last.position).await;

    let (led_a, led_b) = (a.leading(), b.leading());
    for name in projectors::ALL {
        let runs = led_a.iter().chain(&led_b).filter(|n| n == name).count();
        assert_eq!(
            runs, 1,
            "{name} runs in exactly one runtime ({led_a:?} / {led_b:?})"
        );
    }
    let locks: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        locks,
        projectors::ALL.len() as i64,
        "one lock per projector"
    );

    // Stopping one hands its projectors over to the other.
    a.shutdown().await;
    let (_, last) = seed(&*store_b, 10, 16).await;
    caught_up(&other_pool, &*store_b, last.position).await;
    let mut led = b.leading();
    led.sort();
    let mut all: Vec<String> = projectors::ALL.iter().map(|n| (*n).to_owned()).collect();
    all.sort();
    assert_eq!(led, all, "the remaining runtime leads every projector");
    b.shutdown().await;

    assert_audited_once(&db.pool, &*store_a).await;
    assert_equal_to_rebuild(&db.pool, &*store_a).await;
}

/// A stale leader: its lock's session outlived a takeover (as one frozen past its liveness bound
/// would find), so the checkpoints' owner epoch is newer than the one it claimed. Its next batch
/// is refused, rows and checkpoint rolled back together, and it stops leading.
#[tokio::test]
async fn a_stale_owner_epoch_refuses_the_batch_and_ends_the_lead() {
    let db = TestDb::new().await;
    let store: Arc<dyn EventStore> = Arc::new(db.event_store_polling(Duration::from_millis(50)));
    let (_, last) = seed(&*store, 0, 3).await;
    // Once fenced, it does not try the locks again during the test.
    let config = tenantry_projections::RuntimeConfig {
        lock_retry: Duration::from_secs(600),
        ..test_config()
    };
    let runtime = tenantry_projections::ProjectionRuntime::start(
        db.pool.clone(),
        store.clone(),
        default_projectors(),
        config,
    );
    caught_up(&db.pool, &*store, last.position).await;
    assert_eq!(runtime.leading().len(), projectors::ALL.len());

    // Another instance took every projector over meanwhile.
    let claimed = "UPDATE read.projector_checkpoints SET owner_epoch = owner_epoch + 1";
    sqlx::query(claimed).execute(&db.pool).await.unwrap();
    let before = checkpoints(&db.pool).await;
    let panel_rows = tenant_panel_rows(&db.pool).await;
    seed(&*store, 3, 6).await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !runtime.leading().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still leading {:?}",
            runtime.leading()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(checkpoints(&db.pool).await, before, "no checkpoint moved");
    assert_eq!(
        tenant_panel_rows(&db.pool).await,
        panel_rows,
        "no row of the refused batches stayed"
    );
    runtime.shutdown().await;
}

async fn checkpoints(pool: &sqlx::PgPool) -> Vec<(String, i64, i64)> {
    sqlx::query_as("SELECT name, commit, position FROM read.projector_checkpoints ORDER BY name")
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn tenant_panel_rows(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM read.tenant_panel")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Fails on its first `failures` batches, then works.
struct Flaky {
    failures: usize,
    calls: AtomicUsize,
}

#[async_trait]
impl Projector for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }
    fn event_types(&self) -> EventTypes {
        EventTypes::All
    }
    fn tables(&self) -> &'static [&'static str] {
        &[]
    }
    async fn apply(
        &self,
        _tx: &mut Transaction<'_, Postgres>,
        _events: &[RecordedEvent],
    ) -> anyhow::Result<()> {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.failures {
            anyhow::bail!("the disk is full (for a moment)");
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_failing_event_is_retried_then_stalls_its_projector_alone() {
    let db = TestDb::new().await;
    let store: Arc<dyn EventStore> = Arc::new(db.event_store_polling(Duration::from_millis(50)));
    let (lives, _) = seed(&*store, 0, 3).await;
    // A tenant event whose payload no build can read.
    let poison = lives[0].tenant;
    let poisoned = store
        .append(
            &poison.stream_id(),
            ExpectedVersion::Any,
            vec![NewEvent::new(
                "TenantRenamed",
                1,
                json!({"tenant_id": poison, "name": 42}),
                metadata(poison, &staff()),
            )],
        )
        .await
        .unwrap();
    let (_, last) = seed(&*store, 3, 5).await;

    let mut projectors = default_projectors();
    projectors.push(Arc::new(Flaky {
        failures: 2,
        calls: AtomicUsize::new(0),
    }));
    let runtime = start_with(&db.pool, store.clone(), projectors);
    // The projectors that never read TenantRenamed payloads get past it.
    for name in ["audit_log", "provisioning_steps", "flaky"] {
        let done = wait_for_position(
            &db.pool,
            &*store,
            last.position,
            &[name],
            Duration::from_secs(60),
        )
        .await
        .unwrap();
        assert!(done, "{name} carried on past the poisoned event");
    }
    // The tenant panel stops at it.
    let stalled = loop {
        let status = tenantry_projections::status(&db.pool, &*store, &["tenant_panel"])
            .await
            .unwrap()
            .remove(0);
        if status.state == ProjectorState::Stalled {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(stalled.stalled_at, Some(poisoned.last.position));
    assert!(
        stalled
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("TenantRenamed"),
        "the error names the event: {:?}",
        stalled.last_error
    );
    assert!(stalled.lag_events > 0, "the panel reports its lag");
    assert!(
        stalled.checkpoint < poisoned.last,
        "the panel's checkpoint stays before the poisoned event"
    );
    // Waiting on a stalled projector gives up rather than hang.
    let done = wait_for_position(
        &db.pool,
        &*store,
        last.position,
        &["tenant_panel"],
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert!(!done, "a stalled projector never reaches the position");
    runtime.shutdown().await;
}

#[tokio::test]
async fn wait_for_position_answers_when_projected_and_not_before() {
    let db = TestDb::new().await;
    let store: Arc<dyn EventStore> = Arc::new(db.event_store_polling(Duration::from_millis(50)));
    let (_, last) = seed(&*store, 0, 2).await;

    // Nothing projects yet: the bound runs out.
    let done = wait_for_position(
        &db.pool,
        &*store,
        last.position,
        projectors::ALL,
        Duration::from_millis(200),
    )
    .await
    .unwrap();
    assert!(!done, "not projected, so the wait times out");

    let runtime = start(&db.pool, store.clone());
    let done = wait_for_position(
        &db.pool,
        &*store,
        last.position,
        projectors::ALL,
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert!(done, "projected");
    // Once projected, the read model shows the write.
    let tenant = tenantry_projections::queries::audit::list(
        &db.pool,
        &tenantry_projections::queries::audit::AuditFilter::default(),
    )
    .await
    .unwrap();
    assert!(!tenant.items.is_empty());

    // A position that no event has: never projected.
    let done = wait_for_position(
        &db.pool,
        &*store,
        last.position + 1_000_000,
        projectors::ALL,
        Duration::from_millis(200),
    )
    .await
    .unwrap();
    assert!(!done, "an unknown position is not projected");
    runtime.shutdown().await;
}

/// The audit log holds each event of the log exactly once.
async fn assert_audited_once(pool: &sqlx::PgPool, store: &dyn EventStore) {
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM read.audit_log")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(
        audited,
        event_count(store).await,
        "every event audited once"
    );
}
