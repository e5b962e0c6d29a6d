//! Live lag benchmark: `cargo bench -p tenantry-tests --bench projections_lag`.
//!
//! Runs the projector runtime (all four read models, default settings) over a fresh database
//! while writers append real tenant decisions at `BENCH_RATE` events/s (default 1,000) for
//! `BENCH_SECONDS` (default 60). The writers and the runtime use separate pools and event stores,
//! as separate processes would (the runtime learns of appends through NOTIFY). For every append
//! it measures the time from the append's commit (its call returning) until each projector's
//! checkpoint covers it (polled every 2 ms), and prints p50, p99 and max per projector and for
//! all four together.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tenantry_application::event_store::{Checkpoint, EventStore, Upcasters};
use tenantry_infrastructure::event_store::PgEventStore;
use tenantry_projections::{ProjectionRuntime, RuntimeConfig, default_projectors, projectors};
use tenantry_tests::TestDb;
use tenantry_tests::lifecycle::{Lifecycle, append, lifecycle};
use tokio::sync::mpsc;

const WRITERS: u64 = 8;
/// Tenants a writer has in flight at once, taking turns.
const IN_FLIGHT: usize = 16;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Appends tenant decisions at `rate` events/s until `until`; sends each append's checkpoint
/// and commit time.
async fn writer(
    store: Arc<dyn EventStore>,
    w: u64,
    rate: f64,
    until: Instant,
    tx: mpsc::UnboundedSender<(Checkpoint, Instant)>,
) -> u64 {
    let start = Instant::now();
    let mut next_tenant = w;
    let mut lives: VecDeque<(Lifecycle, usize, u64)> = VecDeque::new();
    let mut sent = 0u64;
    while Instant::now() < until {
        while lives.len() < IN_FLIGHT {
            lives.push_back((lifecycle(next_tenant), 0, 0));
            next_tenant += WRITERS;
        }
        let Some((life, index, version)) = lives.pop_front() else {
            break;
        };
        let decision = &life.appends[index];
        let result = append(&*store, life.tenant, version, decision).await;
        let _ = tx.send((result.last, Instant::now()));
        sent += decision.len() as u64;
        let (index, version) = (index + 1, version + decision.len() as u64);
        if index < life.appends.len() {
            lives.push_back((life, index, version));
        }
        let due = start + Duration::from_secs_f64(sent as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
    }
    sent
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn report(name: &str, mut latencies: Vec<Duration>) {
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<20} n={:<7} p50 {:>7.1} ms   p99 {:>7.1} ms   max {:>7.1} ms",
        latencies.len(),
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default()),
    );
}

#[tokio::main]
async fn main() {
    let rate = env("BENCH_RATE", 1000) as f64;
    let seconds = env("BENCH_SECONDS", 60);
    let db = TestDb::new().await;
    let writer_store: Arc<dyn EventStore> =
        Arc::new(PgEventStore::new(db.pool.clone(), Upcasters::new()));
    let runtime_pool = tenantry_infrastructure::postgres::connect(&db.url, 8)
        .await
        .expect("connect");
    let runtime_store: Arc<dyn EventStore> =
        Arc::new(PgEventStore::new(runtime_pool.clone(), Upcasters::new()));
    let runtime = ProjectionRuntime::start(
        runtime_pool,
        runtime_store,
        default_projectors(),
        RuntimeConfig::default(),
    );

    let (tx, mut rx) = mpsc::unbounded_channel();
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            tokio::spawn(writer(
                writer_store.clone(),
                w,
                rate / WRITERS as f64,
                until,
                tx.clone(),
            ))
        })
        .collect();
    drop(tx);

    // The watcher: which appends each projector's checkpoint covers, every 2 ms.
    let names = projectors::ALL;
    let mut pending: Vec<(Checkpoint, Instant, [Option<Duration>; 4])> = Vec::new();
    let mut per_projector: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
    let mut all = Vec::new();
    let mut open = true;
    let deadline = until + Duration::from_secs(60);
    while (open || !pending.is_empty()) && Instant::now() < deadline {
        loop {
            match rx.try_recv() {
                Ok((checkpoint, at)) => pending.push((checkpoint, at, [None; 4])),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT name, commit, position FROM read.projector_checkpoints WHERE name = ANY($1)",
        )
        .bind(names)
        .fetch_all(&db.pool)
        .await
        .expect("checkpoints");
        let now = Instant::now();
        for (name, commit, position) in rows {
            let Some(p) = names.iter().position(|n| *n == name) else {
                continue;
            };
            let projected = Checkpoint {
                commit: commit as u64,
                position: position as u64,
            };
            for (checkpoint, at, seen) in &mut pending {
                if seen[p].is_none() && *checkpoint <= projected {
                    seen[p] = Some(now - *at);
                }
            }
        }
        pending.retain(|(_, _, seen)| {
            if seen.iter().all(Option::is_some) {
                let seen: Vec<Duration> = seen.iter().flatten().copied().collect();
                for (p, d) in seen.iter().enumerate() {
                    per_projector[p].push(*d);
                }
                all.push(seen.into_iter().max().unwrap_or_default());
                false
            } else {
                true
            }
        });
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut sent = 0;
    for w in writers {
        sent += w.await.expect("writer");
    }
    let elapsed = started.elapsed().as_secs_f64().min(seconds as f64);
    println!(
        "appended {sent} events in {} appends over {seconds} s ({:.0} events/s); {} never seen projected",
        all.len() + pending.len(),
        sent as f64 / elapsed,
        pending.len()
    );
    println!("commit-to-visibility (read-model checkpoint covers the append; polled every 2 ms):");
    for (name, latencies) in names.iter().zip(per_projector) {
        report(name, latencies);
    }
    report("all four", all);
    runtime.shutdown().await;
}
