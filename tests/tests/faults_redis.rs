//! Redis faults, for real: the service provisions against a Redis of the test's own
//! ([`PrivateRedis`]), which the test stops and starts, or replaces with a server that accepts
//! connections and never answers. The machine's Redis is never touched.
//!
//! `cargo test -p tenantry-tests --test faults_redis -- --nocapture` prints the recovery times
//! (Redis back → each tenant active: p50 and max).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tenantry_application::event_store::RecordedEvent;
use tenantry_application::provisioning::Faults;
use tenantry_domain::events::{
    ProvisioningCompleted, ProvisioningRollbackStarted, ProvisioningStepFailed, TenantDeleted,
};
use tenantry_domain::{EventPayload, TenantId};
use tenantry_infrastructure::provisioning::{ProvisioningOptions, build_with};
use tenantry_infrastructure::redis_config::RedisConfig;
use tenantry_tests::{PrivateRedis, TestApp, TestDb, event_log};

/// Tenants provisioned through the outage.
const TENANTS: usize = 20;
const OUTAGE: Duration = Duration::from_secs(5);
/// What the issue asks: every tenant active this soon after Redis is back.
const RECOVERY_BOUND: Duration = Duration::from_secs(10);

async fn create(app: &TestApp, token: &str, slug: &str) -> TenantId {
    let body = json!({"name": format!("Tenant {slug}"), "slug": slug, "plan": "free"});
    let response = app
        .post_json_auth("/platform/api/tenants", &body, token)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.expect("json");
    TenantId::from_uuid(body["id"].as_str().expect("id").parse().expect("uuid"))
}

async fn events(app: &TestApp, tenant: TenantId) -> Vec<RecordedEvent> {
    event_log::stream(&*app.store, &tenant.stream_id()).await
}

fn at(event: &RecordedEvent) -> DateTime<Utc> {
    event.payload["at"]
        .as_str()
        .and_then(|at| at.parse().ok())
        .expect("an `at` in the payload")
}

fn of_type<'a>(
    events: &'a [RecordedEvent],
    event_type: &'a str,
) -> impl Iterator<Item = &'a RecordedEvent> + 'a {
    events.iter().filter(move |e| e.event_type == event_type)
}

/// When `tenant` completed provisioning, once it has (polling its stream up to `within`).
async fn completed_at(app: &TestApp, tenant: TenantId, within: Duration) -> Option<DateTime<Utc>> {
    let deadline = Instant::now() + within;
    loop {
        let events = events(app, tenant).await;
        if let Some(done) = of_type(&events, ProvisioningCompleted::EVENT_TYPE).next() {
            return Some(at(done));
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_outage_of_five_seconds_spends_no_tries_and_every_tenant_goes_on() {
    let mut redis = PrivateRedis::start().await;
    let url = redis.url();
    // Two tries: had the outage's failures counted, every tenant would be rolled back.
    let app = TestApp::spawn_with(TestDb::new().await, move |s| {
        s.run_sagas = true;
        s.redis_url = url;
        s.provisioning_max_tries = 2;
    })
    .await;
    let token = app.staff_token().await;

    // One tenant before the outage, so that the saga's Redis connection is up when Redis dies.
    let warm = create(&app, &token, "warmup").await;
    assert!(
        completed_at(&app, warm, Duration::from_secs(30))
            .await
            .is_some(),
        "the first tenant was never provisioned"
    );

    redis.stop().await;
    let stopped = Instant::now();
    let mut tenants = Vec::new();
    for i in 0..TENANTS {
        tenants.push(create(&app, &token, &format!("outage{i}")).await);
    }
    tokio::time::sleep(OUTAGE.saturating_sub(stopped.elapsed())).await;
    redis.start_again().await;
    let back = Utc::now();
    println!(
        "redis down {:.1}s while {TENANTS} tenants provisioned",
        stopped.elapsed().as_secs_f64()
    );

    let mut recovery = Vec::new();
    for &tenant in &tenants {
        let done = completed_at(&app, tenant, RECOVERY_BOUND + Duration::from_secs(20))
            .await
            .unwrap_or_else(|| panic!("tenant {tenant} never became active"));
        recovery.push((done - back).to_std().unwrap_or_default());
    }
    recovery.sort();
    let (p50, max) = (percentile(&recovery, 0.5), recovery[recovery.len() - 1]);
    println!(
        "recovery (redis back -> tenant active) over {TENANTS} tenants: p50 {:.2}s, max {:.2}s",
        p50.as_secs_f64(),
        max.as_secs_f64()
    );
    assert!(
        max <= RECOVERY_BOUND,
        "the last tenant was active {max:?} after Redis was back (p50 {p50:?})"
    );

    let mut transient_failures = 0;
    for &tenant in &tenants {
        let events = events(&app, tenant).await;
        let failures: Vec<&RecordedEvent> =
            of_type(&events, ProvisioningStepFailed::EVENT_TYPE).collect();
        assert!(
            !failures.is_empty(),
            "tenant {tenant} provisioned during the outage without failing"
        );
        for failure in &failures {
            let payload = &failure.payload;
            assert_eq!(payload["transient"], true, "counted: {payload}");
            assert_eq!(payload["step_attempt"], 1, "a try was spent: {payload}");
            assert_eq!(payload["step"], "redis_namespace", "{payload}");
        }
        transient_failures += failures.len();
        assert_eq!(
            of_type(&events, ProvisioningRollbackStarted::EVENT_TYPE).count(),
            0,
            "tenant {tenant} was rolled back"
        );
    }
    println!("{transient_failures} transient failures recorded, none counted");

    // And the API says so.
    for &tenant in &tenants {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let response = app
                .get_auth(&format!("/platform/api/tenants/{tenant}"), &token)
                .await;
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if body["status"] == "active" {
                break;
            }
            assert!(Instant::now() < deadline, "tenant {tenant}: {body}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A listener that accepts connections and never answers: a hung Redis.
async fn mute_server() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("redis://{}", listener.local_addr().expect("address"));
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (url, task)
}

/// The first failure of `tenant`'s step, and how long after the step before it succeeded.
async fn first_failure(app: &TestApp, tenant: TenantId) -> (Value, Duration) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let events = events(app, tenant).await;
        if let Some(failed) = of_type(&events, ProvisioningStepFailed::EVENT_TYPE).next() {
            // The step before (register_shared_tenant) ended with the event before the failure.
            let before = events
                .iter()
                .rev()
                .find(|e| e.stream_version < failed.stream_version)
                .expect("an event before the failure");
            let took = (at(failed) - at(before)).to_std().unwrap_or_default();
            return (failed.payload.clone(), took);
        }
        assert!(Instant::now() < deadline, "no step of {tenant} ever failed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_hung_step_fails_at_its_time_limit_and_is_retried_without_counting() {
    let (url, server) = mute_server().await;
    // Redis timeouts longer than the step's limit: the step's own limit must end it.
    let app = TestApp::spawn_with(TestDb::new().await, move |s| {
        s.run_sagas = true;
        s.redis_url = url;
        s.provisioning_max_tries = 1;
        s.redis_connect_timeout_ms = 120_000;
        s.redis_response_timeout_ms = 120_000;
        s.step_timeout_secs = 60;
        s.step_timeouts = "redis_namespace=2".into();
    })
    .await;
    let token = app.staff_token().await;
    let tenant = create(&app, &token, "hung").await;
    let (failure, took) = first_failure(&app, tenant).await;
    println!("hung redis_namespace step failed after {took:?}: {failure}");
    assert_eq!(failure["step"], "redis_namespace", "{failure}");
    assert_eq!(failure["transient"], true, "{failure}");
    let error = failure["error"].as_str().expect("error");
    assert!(
        error.contains("apply of step redis_namespace did not finish within 2s"),
        "{error}"
    );
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(6),
        "failed {took:?} after it started"
    );
    // One try allowed, yet no rollback: the time-outs did not count.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let events = events(&app, tenant).await;
    assert_eq!(
        of_type(&events, ProvisioningRollbackStarted::EVENT_TYPE).count(),
        0
    );
    assert!(of_type(&events, ProvisioningStepFailed::EVENT_TYPE).count() >= 2);
    server.abort();
}

#[tokio::test]
async fn a_redis_that_never_answers_fails_the_step_within_the_redis_timeouts() {
    let (url, server) = mute_server().await;
    // The step's limit is the default minute: the connect timeout must end it first.
    let app = TestApp::spawn_with(TestDb::new().await, move |s| {
        s.run_sagas = true;
        s.redis_url = url;
        s.redis_connect_timeout_ms = 500;
        s.redis_reconnect_retries = 0;
    })
    .await;
    let token = app.staff_token().await;
    let tenant = create(&app, &token, "mute").await;
    let (failure, took) = first_failure(&app, tenant).await;
    println!("redis_namespace step against a mute Redis failed after {took:?}: {failure}");
    assert_eq!(failure["step"], "redis_namespace", "{failure}");
    assert_eq!(failure["transient"], true, "{failure}");
    let error = failure["error"].as_str().expect("error");
    assert!(error.contains("failed to reach Redis"), "{error}");
    assert!(
        took < Duration::from_secs(4),
        "failed {took:?} after it started"
    );
    server.abort();
}

#[tokio::test]
async fn the_sagas_redis_probe_follows_redis_down_and_back() {
    let mut redis = PrivateRedis::start().await;
    let db = TestDb::new().await;
    let options = ProvisioningOptions {
        redis: RedisConfig {
            connect_timeout: Duration::from_millis(500),
            ..RedisConfig::default()
        },
        ..ProvisioningOptions::default()
    };
    let adapters = build_with(
        db.pool.clone(),
        redis.client(),
        None,
        Faults::none(),
        &options,
    )
    .await
    .expect("adapters");
    let probe = &adapters.redis;
    probe.ping().await.expect("redis is up");
    redis.stop().await;
    let started = Instant::now();
    let error = probe.ping().await.expect_err("redis is down");
    assert!(
        tenantry_infrastructure::outage::of_redis(&error).is_some(),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    redis.start_again().await;
    // The first use after Redis is back reconnects: no second try needed.
    probe.ping().await.expect("redis is back");
}

/// The issue saw an unrelated DELETE wait 72 s after a Redis blip.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deletion_held_up_by_a_redis_outage_goes_on_soon_after_redis_is_back() {
    let mut redis = PrivateRedis::start().await;
    let url = redis.url();
    let app = TestApp::spawn_with(TestDb::new().await, move |s| {
        s.run_sagas = true;
        s.redis_url = url;
    })
    .await;
    let token = app.staff_token().await;
    let tenant = create(&app, &token, "leaving").await;
    assert!(
        completed_at(&app, tenant, Duration::from_secs(30))
            .await
            .is_some(),
        "never provisioned"
    );

    redis.stop().await;
    let response = app
        .delete_auth(&format!("/platform/api/tenants/{tenant}"), &token)
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    tokio::time::sleep(Duration::from_secs(3)).await;
    redis.start_again().await;
    let back = Utc::now();

    let deadline = Instant::now() + Duration::from_secs(30);
    let deleted_at = loop {
        let events = events(&app, tenant).await;
        if let Some(deleted) = of_type(&events, TenantDeleted::EVENT_TYPE).next() {
            break at(deleted);
        }
        assert!(Instant::now() < deadline, "never deleted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let took = (deleted_at - back).to_std().unwrap_or_default();
    println!(
        "deletion: redis back -> tenant deleted {:.2}s",
        took.as_secs_f64()
    );
    assert!(
        took < Duration::from_secs(4),
        "deleted {took:?} after Redis was back"
    );
}
