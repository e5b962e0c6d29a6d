//! API benchmark: `cargo bench -p tenantry-tests --bench api`.
//!
//! Starts the real server (HTTP API and projectors) on a fresh database, then:
//! 1. creates `BENCH_TENANTS` (default 10,000) tenants through `POST /platform/api/tenants` with 32
//!    concurrent clients: commands/s, p50 and p99 latency;
//! 2. waits until the read models hold them all;
//! 3. `GET /platform/api/tenants/{id}` (random ids) at a fixed 1,000 requests/s for
//!    `BENCH_SECONDS` (default 20): p50 and p99 latency;
//! 4. a filtered list page (`?status=pending&plan=pro&limit=50`) at 1,000 requests/s likewise.
//!
//! The load is open-loop (requests start on schedule whether or not earlier ones finished), so
//! queueing shows in the latencies. Client and server share the machine's two cores.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tenantry_tests::TestApp;
use tokio::sync::Mutex;

const CREATORS: usize = 32;
const RATE: u64 = 1000;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

fn report(label: &str, mut latencies: Vec<Duration>, elapsed: Duration, failures: usize) {
    latencies.sort();
    println!(
        "{label:<44} {:>8} ok {:>5} failed {:>9.0}/s   p50 {:>7.2} ms   p99 {:>7.2} ms",
        latencies.len(),
        failures,
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
    );
}

/// Sends `RATE` requests per second for `seconds`, each built by `request(i)`.
async fn open_loop<F>(seconds: u64, request: F) -> (Vec<Duration>, usize, Duration)
where
    F: Fn(u64) -> reqwest::RequestBuilder,
{
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..seconds * RATE {
        ticker.tick().await;
        let send = request(i).send();
        let (latencies, failures) = (latencies.clone(), failures.clone());
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            match send.await {
                Ok(r) if r.status().is_success() => {
                    let _ = r.bytes().await;
                    latencies.lock().await.push(t.elapsed());
                }
                _ => {
                    failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed();
    let latencies = std::mem::take(&mut *latencies.lock().await);
    (
        latencies,
        failures.load(std::sync::atomic::Ordering::Relaxed),
        elapsed,
    )
}

#[tokio::main]
async fn main() {
    let tenants = env("BENCH_TENANTS", 10_000) as usize;
    let seconds = env("BENCH_SECONDS", 20);
    let app = Arc::new(TestApp::spawn().await);
    let token = Arc::new(app.staff_token().await);
    println!(
        "api benchmark: {tenants} tenants, {CREATORS} creators, {RATE} req/s for {seconds} s per read phase"
    );

    // 1. create
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let creators: Vec<_> = (0..CREATORS)
        .map(|_| {
            let (app, token, next) = (app.clone(), token.clone(), next.clone());
            tokio::spawn(async move {
                let (mut latencies, mut ids, mut failures, mut last) = (vec![], vec![], 0, 0u64);
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= tenants {
                        break;
                    }
                    let plan = ["free", "basic", "pro", "enterprise"][n % 4];
                    let body = json!({"name": format!("Bench Tenant {n}"), "plan": plan});
                    let t = Instant::now();
                    let response = app
                        .post_json_auth("/platform/api/tenants", &body, &token)
                        .await;
                    if response.status() == 201 {
                        latencies.push(t.elapsed());
                        let created: Value = response.json().await.expect("json");
                        ids.push(created["id"].as_str().expect("id").to_owned());
                        last = last.max(created["position"].as_u64().unwrap_or(0));
                    } else {
                        failures += 1;
                    }
                }
                (latencies, ids, failures, last)
            })
        })
        .collect();
    let (mut latencies, mut ids, mut failures, mut last) = (vec![], vec![], 0, 0);
    for c in creators {
        let (l, i, f, p) = c.await.expect("creator");
        latencies.extend(l);
        ids.extend(i);
        failures += f;
        last = last.max(p);
    }
    let create_elapsed = started.elapsed();

    // 2. the read models catch up
    let caught_up = Instant::now();
    let response = app
        .get_auth(
            &format!("/platform/api/tenants?limit=1&min_position={last}"),
            &token,
        )
        .await;
    assert_eq!(
        response.status(),
        200,
        "the read models caught up within 5 s"
    );
    let catch_up = caught_up.elapsed();

    // The service time of one list page, one request at a time.
    let mut serial = Vec::new();
    let mut bytes = 0;
    for _ in 0..200 {
        let t = Instant::now();
        let body = app
            .get_auth(
                "/platform/api/tenants?status=pending&plan=pro&limit=50",
                &token,
            )
            .await
            .bytes()
            .await
            .expect("body");
        serial.push(t.elapsed());
        bytes = body.len();
    }

    // 3. and 4. reads at a fixed rate
    let ids = Arc::new(ids);
    let (get_latencies, get_failures, get_elapsed) = open_loop(seconds, |i| {
        let id = &ids[(i as usize * 7919) % ids.len()];
        app.client
            .get(app.url(&format!("/platform/api/tenants/{id}")))
            .bearer_auth(token.as_str())
    })
    .await;
    let (list_latencies, list_failures, list_elapsed) = open_loop(seconds, |_| {
        app.client
            .get(app.url("/platform/api/tenants?status=pending&plan=pro&limit=50"))
            .bearer_auth(token.as_str())
    })
    .await;

    println!();
    report(
        "POST /platform/api/tenants (32 clients)",
        latencies,
        create_elapsed,
        failures,
    );
    println!(
        "{:<44} {:>8.0} ms after the last create",
        "read models caught up",
        catch_up.as_secs_f64() * 1000.0
    );
    let serial_elapsed = serial.iter().sum();
    report(
        &format!("list page, one request at a time ({bytes} B)"),
        serial,
        serial_elapsed,
        0,
    );
    report(
        "GET /platform/api/tenants/{id} @1000/s",
        get_latencies,
        get_elapsed,
        get_failures,
    );
    report(
        "GET /platform/api/tenants?status&plan @1000/s",
        list_latencies,
        list_elapsed,
        list_failures,
    );
    println!("target: reads p99 < 20 ms");
}
