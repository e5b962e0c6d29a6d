//! Rebuild benchmark: `cargo bench -p tenantry-tests --bench projections_rebuild`.
//!
//! Seeds a fresh database with `BENCH_EVENTS` (default 1,000,000) real lifecycle events of about
//! 50,000 tenants (made with the domain's commands, bulk-inserted with valid envelopes: per-stream
//! versions, transaction ids, event ids), then rebuilds the tenant panel and the audit log from
//! them (`BENCH_PROJECTORS=all` adds the provisioning steps and the directory) and prints, per
//! projector, events/s, the batch size (`BENCH_BATCH`, default 5000) and the process's peak memory
//! (VmHWM, reset before each phase). First it reads the whole log once, for the reading rate alone.

use std::time::Instant;

use sqlx::PgPool;
use tenantry_application::event_store::{Checkpoint, EventStore, Upcasters};
use tenantry_infrastructure::event_store::PgEventStore;
use tenantry_infrastructure::event_store::postgres::bulk::{self, BulkEvent};
use tenantry_projections::{RebuildOptions, default_projectors, rebuild};
use tenantry_tests::TestDb;
use tenantry_tests::lifecycle::{Lifecycle, encode, lifecycle, metadata};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Resets the peak resident memory, so the next [`peak_rss`] covers only what follows.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident memory of this process, from /proc/self/status.
fn peak_rss() -> String {
    rss("VmHWM:")
}

fn rss(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .map(|l| l[field.len()..].trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The events of `lives`, tenants interleaved (each tenant's decisions in order, the tenants of a
/// group taking turns), as the log of a busy control plane looks.
fn rows_of(lives: &[Lifecycle]) -> Vec<BulkEvent> {
    let mut rows = Vec::new();
    for group in lives.chunks(500) {
        let rounds = group.iter().map(|l| l.appends.len()).max().unwrap_or(0);
        let mut versions = vec![0u64; group.len()];
        for round in 0..rounds {
            for (i, life) in group.iter().enumerate() {
                let Some(decision) = life.appends.get(round) else {
                    continue;
                };
                let meta = metadata(life.tenant, &decision.actor);
                for event in encode(&decision.events, &meta) {
                    versions[i] += 1;
                    rows.push(BulkEvent {
                        stream_id: life.tenant.stream_id(),
                        stream_version: versions[i],
                        event,
                    });
                }
            }
        }
    }
    rows
}

/// Loads `rows` in chunks, each chunk one transaction (its own commit), in log order.
async fn insert(pool: &PgPool, rows: &[BulkEvent]) {
    for chunk in rows.chunks(10_000) {
        bulk::load(pool, chunk).await.expect("bulk load");
    }
}

async fn seed(pool: &PgPool, target: usize) -> usize {
    let started = Instant::now();
    let mut total = 0;
    let mut n = 0u64;
    while total < target {
        // Small chunks keep the seeding's memory out of the rebuild's figures.
        let lives: Vec<Lifecycle> = (n..n + 500).map(lifecycle).collect();
        n += 500;
        let mut rows = rows_of(&lives);
        rows.truncate(target - total);
        insert(pool, &rows).await;
        total += rows.len();
    }
    bulk::analyze(pool).await.expect("vacuum");
    println!(
        "seeded {total} events of {n} tenants in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    total
}

#[tokio::main]
async fn main() {
    let target = env("BENCH_EVENTS", 1_000_000);
    let batch_size = env("BENCH_BATCH", 5_000);
    let all = std::env::var("BENCH_PROJECTORS").as_deref() == Ok("all");
    let db = TestDb::new().await;
    let events = seed(&db.pool, target).await;
    let store = PgEventStore::new(db.pool.clone(), Upcasters::new());

    println!("resident memory before reading: {}", rss("VmRSS:"));
    reset_peak_rss();
    let started = Instant::now();
    let mut after = Checkpoint::START;
    let mut read = 0;
    loop {
        let batch = store.read_all(after, batch_size).await.expect("read");
        let Some(last) = batch.last() else { break };
        after = last.checkpoint();
        read += batch.len();
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "read the whole log: {read} events in {seconds:.1} s = {:.0} events/s (batch {batch_size}); peak RSS {}",
        read as f64 / seconds,
        peak_rss()
    );

    for projector in default_projectors() {
        let name = projector.name();
        if !all && !["tenant_panel", "audit_log"].contains(&name) {
            continue;
        }
        let options = RebuildOptions {
            batch_size,
            ..RebuildOptions::default()
        };
        reset_peak_rss();
        let report = rebuild(&db.pool, &store, &*projector, &options, |_| {})
            .await
            .expect("rebuild");
        let seconds = report.elapsed.as_secs_f64();
        let rows: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM read.{}",
            projector.tables()[0]
        ))
        .fetch_one(&db.pool)
        .await
        .expect("count");
        println!(
            "rebuild {name:<18}: {} events in {seconds:.1} s = {:.0} events/s; batch {}; {rows} rows; peak RSS {}",
            report.events,
            report.events as f64 / seconds,
            report.batch_size,
            peak_rss()
        );
        assert_eq!(report.events as usize, events);
    }
}
