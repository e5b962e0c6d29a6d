//! Rebuilding read models while the service runs: events keep being appended and queries keep
//! being answered throughout, none fails or sees an empty table, and the rebuilt read models end
//! equal to ones rebuilt from scratch. Also: one rebuild per projector at a time, and a rebuild
//! resets a stalled projector.

mod projections_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tenantry_application::event_store::EventStore;
use tenantry_projections::queries::audit::{self, AuditFilter};
use tenantry_projections::queries::{directory, tenants};
use tenantry_projections::{
    ProjectionError, ProjectorState, RebuildOptions, default_projectors, rebuild,
};
use tenantry_tests::TestDb;

use projections_support::{assert_equal_to_rebuild, caught_up, readable, seed, start};

#[tokio::test]
async fn a_rebuild_while_appending_and_querying_ends_equal_to_a_rebuild_from_scratch() {
    let db = TestDb::new().await;
    let store: Arc<dyn EventStore> = Arc::new(db.event_store_polling(Duration::from_millis(50)));
    let (lives, last) = seed(&*store, 0, 25).await;
    let runtime = start(&db.pool, store.clone());
    caught_up(&db.pool, &*store, last.position).await;

    let stop = Arc::new(AtomicBool::new(false));
    // Writers keep appending whole tenant lives.
    let appender = tokio::spawn({
        let (store, stop) = (store.clone(), stop.clone());
        async move {
            let mut n = 100;
            let mut last = tenantry_application::event_store::Checkpoint::START;
            while !stop.load(Ordering::SeqCst) {
                let (_, l) = seed(&*store, n, n + 1).await;
                last = last.max(l);
                n += 1;
            }
            last
        }
    });
    // Readers keep asking what the admin panel and the router ask.
    let known = lives[1].tenant.as_uuid();
    let slug = tenantry_domain::TenantState::fold(lives[1].events())
        .tenant()
        .unwrap()
        .slug
        .to_string();
    let reader = tokio::spawn({
        let (pool, stop) = (db.pool.clone(), stop.clone());
        async move {
            let mut queries = 0;
            while !stop.load(Ordering::SeqCst) {
                let page = tenants::list(&pool, &Default::default())
                    .await
                    .expect("list");
                assert!(!page.items.is_empty(), "the tenant list is never empty");
                let tenant = tenants::get(&pool, known).await.expect("get");
                let tenant = tenant.expect("a known tenant is always there");
                assert!(
                    !tenant.provisioning.steps.is_empty(),
                    "its steps are always there"
                );
                let log = audit::list(&pool, &AuditFilter::default())
                    .await
                    .expect("audit");
                assert!(!log.items.is_empty(), "the audit log is never empty");
                let entry =
                    directory::resolve(&pool, "tenantry.test", &format!("{slug}.tenantry.test"))
                        .await
                        .expect("resolve");
                assert!(entry.is_some(), "a known host always resolves");
                queries += 1;
            }
            queries
        }
    });

    for projector in default_projectors() {
        let options = RebuildOptions {
            batch_size: 60,
            ..RebuildOptions::default()
        };
        let report = rebuild(&db.pool, &*store, &*projector, &options, |_| {})
            .await
            .unwrap_or_else(|e| panic!("rebuilding {} failed: {e}", projector.name()));
        assert!(report.events > 0);
    }

    stop.store(true, Ordering::SeqCst);
    let last = appender.await.expect("the appender panicked");
    let queries = reader.await.expect("a query failed or saw an empty table");
    assert!(queries > 0);
    caught_up(&db.pool, &*store, last.position).await;
    runtime.shutdown().await;
    assert_equal_to_rebuild(&db.pool, &*store).await;
}

#[tokio::test]
async fn a_rebuild_keeps_the_index_names_and_resets_the_checkpoint() {
    let db = TestDb::new().await;
    let store: Arc<dyn EventStore> = Arc::new(db.event_store_polling(Duration::from_millis(50)));
    let (_, last) = seed(&*store, 0, 3).await;
    // The rebuild replays what a reader sees; here, everything appended.
    readable(&*store, last).await;
    let indexes = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'read' ORDER BY indexname",
        )
        .fetch_all(&db.pool)
        .await
        .unwrap()
    };
    let before = indexes().await;
    // A stalled projector, as an earlier failure would leave it.
    sqlx::query(
        "INSERT INTO read.projector_checkpoints (name, state, stalled_at, last_error) \
         VALUES ('audit_log', 'stalled', 1, 'boom')",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let audit = default_projectors()
        .into_iter()
        .find(|p| p.name() == "audit_log")
        .unwrap();
    let mut reported = 0;
    let report = rebuild(
        &db.pool,
        &*store,
        &*audit,
        &RebuildOptions::default(),
        |p| reported = p.done,
    )
    .await
    .unwrap();
    assert_eq!(report.checkpoint, last);
    assert_eq!(reported, report.events);
    assert_eq!(
        indexes().await,
        before,
        "the rebuilt tables have the same indexes"
    );
    let status = tenantry_projections::status(&db.pool, &*store, &["audit_log"])
        .await
        .unwrap()
        .remove(0);
    assert_eq!(status.state, ProjectorState::Running);
    assert_eq!(status.checkpoint, last);
    assert_eq!(status.lag_events, 0);
    let leftovers: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'read_rebuild_%'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(leftovers, 0, "the rebuild's schema is gone");
}

#[tokio::test]
async fn one_rebuild_of_a_projector_at_a_time() {
    let db = TestDb::new().await;
    let store: Arc<dyn EventStore> = Arc::new(db.event_store_polling(Duration::from_millis(50)));
    seed(&*store, 0, 10).await;
    let panel = default_projectors().remove(0);
    // One event per batch: the first rebuild is still replaying when the second starts.
    let slow = RebuildOptions {
        batch_size: 1,
        ..RebuildOptions::default()
    };
    let (a, b) = tokio::join!(
        rebuild(&db.pool, &*store, &*panel, &slow, |_| {}),
        rebuild(&db.pool, &*store, &*panel, &slow, |_| {}),
    );
    let refused = [&a, &b]
        .iter()
        .filter(|r| matches!(r, Err(ProjectionError::RebuildInProgress(_))))
        .count();
    assert_eq!(refused, 1, "{a:?} / {b:?}");
    assert!(a.is_ok() || b.is_ok());
    rebuild(
        &db.pool,
        &*store,
        &*panel,
        &RebuildOptions::default(),
        |_| {},
    )
    .await
    .expect("free again once the first is done");
}
