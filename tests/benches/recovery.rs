//! Recovery benchmark: `cargo bench -p tenantry-tests --bench recovery`.
//!
//! Real faults on servers of the benchmark's own (the machine's are never touched):
//! - **Redis back → tenants active.** A private Redis ([`PrivateRedis`]) is stopped for
//!   `BENCH_REDIS_OUTAGE_SECS` (default 5) while `BENCH_TENANTS` (default 20) tenants are
//!   created; printed: the time from Redis being back to each tenant's `ProvisioningCompleted`
//!   (p50 and max), and how many step failures were transient (they spend no try).
//! - **PostgreSQL back → API answering 2xx.** A private cluster ([`PrivatePg`]) is stopped for
//!   `BENCH_PG_OUTAGE_SECS` (default 10) while a client keeps listing tenants; printed: the
//!   slowest 503 during the outage and the time from the cluster being back to the first 2xx.
//!
//! Each fault is repeated `BENCH_ROUNDS` times (default 3); the summary line is over all rounds.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tenantry_application::event_store::RecordedEvent;
use tenantry_domain::EventPayload;
use tenantry_domain::events::{ProvisioningCompleted, ProvisioningStepFailed};
use tenantry_tests::{PrivatePg, PrivateRedis, TestApp, TestDb, event_log};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn summary(what: &str, mut seconds: Vec<f64>) {
    seconds.sort_by(f64::total_cmp);
    println!(
        "{what}: p50 {:.2}s, max {:.2}s (n={})",
        percentile(&seconds, 0.5),
        seconds[seconds.len() - 1],
        seconds.len()
    );
}

async fn create(app: &TestApp, token: &str, slug: &str) -> String {
    let body = json!({"name": format!("Tenant {slug}"), "slug": slug, "plan": "free"});
    let response = app
        .post_json_auth("/platform/api/tenants", &body, token)
        .await;
    assert_eq!(response.status(), 201, "creating {slug}");
    let body: Value = response.json().await.expect("json");
    body["id"].as_str().expect("id").to_owned()
}

/// The tenant's events once it has completed provisioning (polling up to 60 s).
async fn completed(app: &TestApp, id: &str) -> Vec<RecordedEvent> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let events = event_log::stream(&*app.store, &format!("tenant-{id}")).await;
        if events
            .iter()
            .any(|e| e.event_type == ProvisioningCompleted::EVENT_TYPE)
        {
            return events;
        }
        assert!(
            Instant::now() < deadline,
            "tenant {id} not active 60 s after Redis was back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn at(event: &RecordedEvent) -> DateTime<Utc> {
    event.payload["at"]
        .as_str()
        .and_then(|at| at.parse().ok())
        .expect("an `at` in the payload")
}

/// One Redis outage; returns each tenant's seconds from Redis back to active.
async fn redis_round(round: u64, tenants: u64, outage: Duration) -> Vec<f64> {
    let mut redis = PrivateRedis::start().await;
    let url = redis.url();
    let app = TestApp::spawn_with(TestDb::new().await, move |s| {
        s.run_sagas = true;
        s.redis_url = url;
    })
    .await;
    let token = app.staff_token().await;
    // The saga's Redis connection is up when Redis dies.
    let warm = create(&app, &token, "warmup").await;
    completed(&app, &warm).await;

    redis.stop().await;
    let stopped = Instant::now();
    let mut ids = Vec::new();
    for i in 0..tenants {
        ids.push(create(&app, &token, &format!("outage{i}")).await);
    }
    tokio::time::sleep(outage.saturating_sub(stopped.elapsed())).await;
    redis.start_again().await;
    let back = Utc::now();

    let (mut recovery, mut transient, mut counted) = (Vec::new(), 0, 0);
    for id in &ids {
        let events = completed(&app, id).await;
        let done = events
            .iter()
            .find(|e| e.event_type == ProvisioningCompleted::EVENT_TYPE)
            .expect("completed");
        recovery.push((at(done) - back).num_milliseconds().max(0) as f64 / 1000.0);
        for failure in events
            .iter()
            .filter(|e| e.event_type == ProvisioningStepFailed::EVENT_TYPE)
        {
            if failure.payload["transient"] == true {
                transient += 1;
            } else {
                counted += 1;
            }
        }
    }
    let mut sorted = recovery.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "redis round {round}: down {:.1}s, {tenants} tenants; back -> active p50 {:.2}s, max {:.2}s; \
         step failures: {transient} transient, {counted} counted",
        outage.as_secs_f64(),
        percentile(&sorted, 0.5),
        sorted[sorted.len() - 1],
    );
    recovery
}

/// One PostgreSQL outage; returns the seconds from the cluster back to the first 2xx.
async fn postgres_round(round: u64, outage: Duration) -> f64 {
    let pg = PrivatePg::start_new();
    let app = TestApp::spawn_with(TestDb::on_server(&pg.server_url()).await, |_| {}).await;
    let token = app.staff_token().await;
    let list = app.get_auth("/platform/api/tenants", &token).await;
    assert_eq!(list.status(), 200);

    pg.stop();
    let stopped = Instant::now();
    let (mut answers, mut slowest) = (0, Duration::ZERO);
    while stopped.elapsed() < outage {
        let started = Instant::now();
        let list = app.get_auth("/platform/api/tenants", &token).await;
        slowest = slowest.max(started.elapsed());
        assert_eq!(list.status(), 503, "during the outage");
        answers += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    pg.start();
    let back = Instant::now();
    loop {
        let list = app.get_auth("/platform/api/tenants", &token).await;
        if list.status() == 200 {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(60),
            "no 2xx 60 s after PostgreSQL was back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let recovered = back.elapsed().as_secs_f64();
    println!(
        "postgres round {round}: down {:.1}s, {answers} answers of 503 (slowest {} ms); back -> first 2xx {:.0} ms",
        outage.as_secs_f64(),
        slowest.as_millis(),
        recovered * 1000.0
    );
    recovered
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let rounds = env_or("BENCH_ROUNDS", 3);
    let tenants = env_or("BENCH_TENANTS", 20);
    let redis_outage = Duration::from_secs(env_or("BENCH_REDIS_OUTAGE_SECS", 5));
    let pg_outage = Duration::from_secs(env_or("BENCH_PG_OUTAGE_SECS", 10));

    let mut redis = Vec::new();
    for round in 1..=rounds {
        redis.extend(redis_round(round, tenants, redis_outage).await);
    }
    let mut postgres = Vec::new();
    for round in 1..=rounds {
        postgres.push(postgres_round(round, pg_outage).await);
    }
    summary(
        &format!("Redis back -> tenant active, {rounds} rounds x {tenants} tenants"),
        redis,
    );
    summary(
        &format!("PostgreSQL back -> first 2xx, {rounds} rounds"),
        postgres,
    );
}
