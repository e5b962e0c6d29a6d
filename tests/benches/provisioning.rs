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
//! tenants/s. Ends with the drift report. `TENANTRY_PROVISIONING_CONCURRENCY` (default 8) bounds
//! the saga.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tenantry_application::doctor::Doctor;
use tenantry_application::provisioning::Faults;
use tenantry_projections::ReadModelWork;
use tenantry_tests::{TestApp, TestDb};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Milliseconds from each stream's `from` event to its `to` event, and the span of the phase.
async fn latencies(app: &TestApp, ids: &[String], from: &str, to: &str) -> (Vec<f64>, f64) {
    let streams: Vec<String> = ids.iter().map(|id| format!("tenant-{id}")).collect();
    let rows: Vec<(f64, f64, f64)> = sqlx::query_as(
        "SELECT (extract(epoch FROM (t.recorded_at - f.recorded_at)) * 1000)::float8, \
                extract(epoch FROM f.recorded_at)::float8, extract(epoch FROM t.recorded_at)::float8 \
         FROM events f JOIN events t ON t.stream_id = f.stream_id \
         WHERE f.stream_id = ANY($1) AND f.event_type = $2 AND t.event_type = $3",
    )
    .bind(&streams)
    .bind(from)
    .bind(to)
    .fetch_all(&app.db.pool)
    .await
    .expect("latencies");
    let first = rows.iter().map(|r| r.1).fold(f64::MAX, f64::min);
    let last = rows.iter().map(|r| r.2).fold(f64::MIN, f64::max);
    let mut ms: Vec<f64> = rows.into_iter().map(|r| r.0).collect();
    ms.sort_by(f64::total_cmp);
    (ms, last - first)
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
    clients: usize,
    n: usize,
    op: impl Fn(usize) -> Op + Send + Sync + 'static,
) -> Vec<String> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let op = Arc::new(op);
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (app, token, next, op) = (app.clone(), token.clone(), next.clone(), op.clone());
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
                    wait_all(&app, std::slice::from_ref(&id), settled).await;
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

async fn wait_all(app: &TestApp, ids: &[String], status: &str) {
    let uuids: Vec<uuid::Uuid> = ids.iter().map(|i| i.parse().expect("uuid")).collect();
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        let (done, stuck): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE status = $2), count(*) FILTER (WHERE status = 'failed') \
             FROM read.tenant_panel WHERE tenant_id = ANY($1)",
        )
        .bind(&uuids)
        .bind(status)
        .fetch_one(&app.db.pool)
        .await
        .expect("progress");
        if done as usize == ids.len() {
            return;
        }
        assert!(stuck == 0 || status == "deleted", "{stuck} tenants failed");
        assert!(Instant::now() < deadline, "not all {status} in 30 min");
        tokio::time::sleep(Duration::from_millis(5)).await;
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
    println!(
        "provisioning benchmark: {n} tenants per isolation model, {clients} clients (closed loop), saga concurrency {concurrency}"
    );
    let mut results = Vec::new();
    for (model, plan) in [
        ("shared_schema", "free"),
        ("schema_per_tenant", "pro"),
        ("database_per_tenant", "enterprise"),
    ] {
        let started = Instant::now();
        let ids = closed_loop(&app, &token, clients, n, move |i| {
            Op::Create(json!({"name": format!("{model} {i}"), "plan": plan}))
        })
        .await;
        let provisioned = latencies(&app, &ids, "TenantCreated", "ProvisioningCompleted").await;
        let wall = started.elapsed();
        let targets = Arc::new(ids.clone());
        closed_loop(&app, &token, clients, n, move |i| {
            Op::Delete(targets[i].clone())
        })
        .await;
        let deleted = latencies(&app, &ids, "TenantDeletionRequested", "TenantDeleted").await;
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
