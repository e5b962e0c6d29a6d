//! Provisioning benchmark: `cargo bench -p tenantry-tests --bench provisioning`.
//!
//! Runs the real service (API, projectors, provisioning saga) on a fresh database against the
//! local PostgreSQL and Redis. For each isolation model, `BENCH_CLIENTS` (default 8) concurrent
//! clients provision `BENCH_TENANTS` (default 500) tenants in all through
//! `POST /platform/api/tenants`, each client waiting until its tenant is active before it creates
//! the next (bounded concurrency: the load is what the clients keep in flight, not a queue that
//! grows without end); then every tenant is deleted the same way. Prints, per model and per
//! phase, p50/p99 of the time from `TenantCreated` to `ProvisioningCompleted` (and from
//! `TenantDeletionRequested` to `TenantDeleted`), taken from the events' `recorded_at`, and
//! tenants/s, and where the time goes: per event type, the time since the stream's previous event
//! (the streams read through the event store port).
//! Ends with the drift report. `TENANTRY_PROVISIONING_CONCURRENCY` (default 8) bounds the saga;
//! `BENCH_MODELS` (e.g. `shared_schema,schema_per_tenant`) runs only those models.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tenantry_application::doctor::Doctor;
use tenantry_application::event_store::RecordedEvent;
use tenantry_application::provisioning::Faults;
use tenantry_projections::ReadModelWork;
use tenantry_tests::{TestApp, TestDb, event_log};
use tokio::sync::oneshot;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The events of each tenant's stream, read through the port.
async fn streams(app: &TestApp, ids: &[String]) -> Vec<Vec<RecordedEvent>> {
    let mut streams = Vec::with_capacity(ids.len());
    for id in ids {
        streams.push(event_log::stream(&*app.store, &format!("tenant-{id}")).await);
    }
    streams
}

fn millis(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0
}

/// Milliseconds from each stream's `from` event to its `to` event, and the span of the phase.
async fn latencies(app: &TestApp, ids: &[String], from: &str, to: &str) -> (Vec<f64>, f64) {
    let mut pairs = Vec::new();
    for stream in streams(app, ids).await {
        for f in stream.iter().filter(|e| e.event_type == from) {
            for t in stream.iter().filter(|e| e.event_type == to) {
                pairs.push((f.recorded_at, t.recorded_at));
            }
        }
    }
    let first = pairs.iter().map(|p| p.0).min();
    let last = pairs.iter().map(|p| p.1).max();
    let span = match (first, last) {
        (Some(first), Some(last)) => millis(first, last) / 1000.0,
        _ => f64::NAN,
    };
    let mut ms: Vec<f64> = pairs.into_iter().map(|(f, t)| millis(f, t)).collect();
    ms.sort_by(f64::total_cmp);
    (ms, span)
}

/// Where the time of a phase goes: per event type, p50 and mean of the time since the stream's
/// previous event, in stream order (for the events after the stream's last `from` event up to its
/// last `to` event).
async fn breakdown(app: &TestApp, ids: &[String], from: &str, to: &str) {
    // Per event type: the gaps, and the lowest stream version it was seen at (the print order).
    let mut gaps: HashMap<String, (Vec<f64>, u64)> = HashMap::new();
    for stream in streams(app, ids).await {
        let last_of = |t: &str| {
            stream
                .iter()
                .filter(|e| e.event_type == t)
                .map(|e| e.stream_version)
                .max()
        };
        let (Some(first), Some(last)) = (last_of(from), last_of(to)) else {
            continue;
        };
        for pair in stream.windows(2) {
            let (previous, e) = (&pair[0], &pair[1]);
            if e.stream_version > first && e.stream_version <= last {
                let entry = gaps
                    .entry(e.event_type.clone())
                    .or_insert_with(|| (Vec::new(), u64::MAX));
                entry.0.push(millis(previous.recorded_at, e.recorded_at));
                entry.1 = entry.1.min(e.stream_version);
            }
        }
    }
    let mut rows: Vec<(String, Vec<f64>, u64)> =
        gaps.into_iter().map(|(t, (g, v))| (t, g, v)).collect();
    rows.sort_by(|a, b| (a.2, &a.0).cmp(&(b.2, &b.0)));
    for (event_type, mut gaps, _) in rows {
        gaps.sort_by(f64::total_cmp);
        let count = gaps.len();
        let mean = gaps.iter().sum::<f64>() / count as f64;
        // Interpolated, as PostgreSQL's percentile_cont.
        let rank = (count as f64 - 1.0) * 0.5;
        let (low, high) = (gaps[rank.floor() as usize], gaps[rank.ceil() as usize]);
        let p50 = low + (high - low) * rank.fract();
        println!(
            "    {event_type:<36} {count:>6} events  gap p50 {p50:>7.1} ms  mean {mean:>7.1} ms"
        );
    }
}

enum Op {
    Create(Value),
    Delete(String),
}

/// `clients` clients run `n` operations in all, each waiting for its tenant to settle (`active`
/// after a create, `deleted` after a delete) before its next one. Returns the tenant ids.
async fn closed_loop(
    app: &Arc<TestApp>,
    token: &Arc<String>,
    watcher: &Arc<Settled>,
    clients: usize,
    n: usize,
    op: impl Fn(usize) -> Op + Send + Sync + 'static,
) -> Vec<String> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let op = Arc::new(op);
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (app, token, next, op) = (app.clone(), token.clone(), next.clone(), op.clone());
            let watcher = watcher.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        return ids;
                    }
                    let (id, settled) = match op(i) {
                        Op::Create(body) => {
                            let r = app
                                .post_json_auth("/platform/api/tenants", &body, &token)
                                .await;
                            assert_eq!(r.status(), 201);
                            let created: Value = r.json().await.expect("json");
                            (created["id"].as_str().expect("id").to_owned(), "active")
                        }
                        Op::Delete(id) => {
                            let r = app
                                .delete_auth(&format!("/platform/api/tenants/{id}"), &token)
                                .await;
                            assert_eq!(r.status(), 202);
                            (id, "deleted")
                        }
                    };
                    watcher.wait(&id, settled).await;
                    ids.push(id);
                }
            })
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await.expect("client"));
    }
    ids
}

/// Tells the clients when their tenants settle, with one query every 5 ms for all of them: a poll
/// per client would make the load generator compete with the service for the CPU.
struct Settled {
    waiting: Mutex<HashMap<uuid::Uuid, (&'static str, oneshot::Sender<String>)>>,
}

impl Settled {
    fn start(app: Arc<TestApp>) -> Arc<Self> {
        let settled = Arc::new(Self {
            waiting: Mutex::new(HashMap::new()),
        });
        let watcher = settled.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(5)).await;
                let ids: Vec<uuid::Uuid> =
                    watcher.waiting.lock().unwrap().keys().copied().collect();
                if ids.is_empty() {
                    continue;
                }
                let rows: Vec<(uuid::Uuid, String)> = sqlx::query_as(
                    "SELECT tenant_id, status FROM read.tenant_panel WHERE tenant_id = ANY($1)",
                )
                .bind(&ids)
                .fetch_all(&app.db.pool)
                .await
                .expect("progress");
                let mut waiting = watcher.waiting.lock().unwrap();
                for (id, status) in rows {
                    let settled = waiting.get(&id).is_some_and(|(wanted, _)| {
                        status == *wanted || (status == "failed" && *wanted == "active")
                    });
                    if let Some((_, tell)) = settled.then(|| waiting.remove(&id)).flatten() {
                        let _ = tell.send(status);
                    }
                }
            }
        });
        settled
    }

    /// Waits until tenant `id` has `status` (or, waiting for `active`, has `failed`: a panic).
    async fn wait(&self, id: &str, status: &'static str) {
        let (tell, told) = oneshot::channel();
        let id: uuid::Uuid = id.parse().expect("uuid");
        self.waiting.lock().unwrap().insert(id, (status, tell));
        let got = tokio::time::timeout(Duration::from_secs(1800), told)
            .await
            .unwrap_or_else(|_| panic!("tenant {id} not {status} in 30 min"))
            .expect("the watcher runs");
        assert_eq!(got, status, "tenant {id} ended {got}");
    }
}

fn print(label: &str, ms: &[f64], span: f64) {
    println!(
        "{label:<40} {:>5} tenants  p50 {:>8.1} ms  p99 {:>8.1} ms  {:>7.1} tenants/s",
        ms.len(),
        percentile(ms, 0.5),
        percentile(ms, 0.99),
        ms.len() as f64 / span.max(1e-9)
    );
}

#[tokio::main]
async fn main() {
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let n = env("BENCH_TENANTS", 500);
    let concurrency = env("TENANTRY_PROVISIONING_CONCURRENCY", 8);
    let clients = env("BENCH_CLIENTS", 8);
    let db = TestDb::new().await;
    let app = Arc::new(
        TestApp::spawn_with(db, |s| {
            s.run_sagas = true;
            s.database_max_connections = 48;
            s.provisioning_concurrency = concurrency;
        })
        .await,
    );
    let token = Arc::new(app.staff_token().await);
    let watcher = Settled::start(app.clone());
    println!(
        "provisioning benchmark: {n} tenants per isolation model, {clients} clients (closed loop), saga concurrency {concurrency}"
    );
    let only = std::env::var("BENCH_MODELS").unwrap_or_default();
    let mut results = Vec::new();
    for (model, plan) in [
        ("shared_schema", "free"),
        ("schema_per_tenant", "pro"),
        ("database_per_tenant", "enterprise"),
    ] {
        if !only.is_empty() && !only.split(',').any(|m| m.trim() == model) {
            continue;
        }
        let started = Instant::now();
        let ids = closed_loop(&app, &token, &watcher, clients, n, move |i| {
            Op::Create(json!({"name": format!("{model} {i}"), "plan": plan}))
        })
        .await;
        let provisioned = latencies(&app, &ids, "TenantCreated", "ProvisioningCompleted").await;
        let wall = started.elapsed();
        let targets = Arc::new(ids.clone());
        closed_loop(&app, &token, &watcher, clients, n, move |i| {
            Op::Delete(targets[i].clone())
        })
        .await;
        let deleted = latencies(&app, &ids, "TenantDeletionRequested", "TenantDeleted").await;
        println!("{model}: where the time goes (time since the stream's previous event)");
        breakdown(&app, &ids, "TenantCreated", "ProvisioningCompleted").await;
        breakdown(&app, &ids, "TenantDeletionRequested", "TenantDeleted").await;
        results.push((model, provisioned, deleted, wall));
    }

    println!();
    for (model, (p_ms, p_span), (d_ms, d_span), wall) in &results {
        print(&format!("{model}: created → active"), p_ms, *p_span);
        print(&format!("{model}: deletion → deleted"), d_ms, *d_span);
        println!(
            "{:<40} {:.1} s wall for the provisioning phase",
            "",
            wall.as_secs_f64()
        );
    }
    println!(
        "targets (p50): shared_schema < 50 ms, schema_per_tenant < 250 ms, database_per_tenant < 1 s"
    );

    let redis = redis::Client::open("redis://127.0.0.1:6379").expect("redis url");
    let adapters = tenantry_infrastructure::provisioning::build(
        app.db.pool.clone(),
        redis,
        None,
        Faults::none(),
    )
    .await
    .expect("adapters");
    let tenants = ReadModelWork::new(app.db.pool.clone())
        .tenants()
        .await
        .expect("tenants");
    let report = Doctor::new(adapters.inventory, adapters.provisioner)
        .examine(&tenants)
        .await
        .expect("doctor");
    println!(
        "tenantry doctor: {} orphan(s), {} missing ({})",
        report.orphans.len(),
        report.missing.len(),
        if report.has_drift() { "DRIFT" } else { "clean" }
    );
}
