//! Event store benchmark: `cargo bench -p tenantry-tests --bench event_store`.
//!
//! In one run, against one fresh database on the local PostgreSQL, measures
//! (a) single-event appends by 16 concurrent writers to distinct streams,
//! (b) appends of 100 events per call by 16 concurrent writers,
//! (c) reading the whole log from the start through `read_all`,
//! and beside (a) and (b) a baseline of plain INSERTs of rows of the same shape (same columns,
//! same payloads, same batch sizes, same concurrency) into a table with no constraints but its
//! primary key. Prints each rate and the ratio to its baseline. `BENCH_SECONDS` (default 5) sets
//! how long each side of a write phase runs; the two sides alternate in 5 rounds, so that the
//! noise of a shared machine falls on both.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::PgPool;
use tenantry_application::event_store::{
    Actor, Checkpoint, EventMetadata, EventStore, ExpectedVersion, NewEvent,
};
use tenantry_tests::TestDb;
use uuid::Uuid;

const WRITERS: usize = 16;
const BATCH: usize = 100;
/// How many alternating rounds of baseline and event store make a write phase.
const ROUNDS: u32 = 5;

fn sample_event() -> NewEvent {
    let tenant = Uuid::now_v7();
    let mut metadata = EventMetadata::system();
    metadata.actor = Actor::Staff {
        id: Uuid::now_v7(),
        email: "ops@example.com".into(),
    };
    metadata.tenant_id = Some(tenant);
    metadata.ip = Some("203.0.113.7".into());
    NewEvent::new(
        "TenantCreated",
        1,
        json!({"tenant_id": tenant, "name": "Clínica São José", "slug": "clinica-sao-jose",
               "plan": "pro", "isolation": "schema_per_tenant"}),
        metadata,
    )
}

/// Runs the baseline and the event store in alternating rounds, `ROUNDS` each and `seconds` in
/// all per side, so that a noisy neighbour on a shared machine slows both alike; returns their
/// mean events/s.
async fn compare<B, BF, O, OF>(seconds: u64, per_call: usize, base: B, ours: O) -> (f64, f64)
where
    B: Fn(usize, usize) -> BF + Send + Sync + 'static,
    BF: std::future::Future<Output = ()> + Send,
    O: Fn(usize, usize) -> OF + Send + Sync + 'static,
    OF: std::future::Future<Output = ()> + Send,
{
    let (base, ours) = (Arc::new(base), Arc::new(ours));
    let round = Duration::from_secs(seconds) / ROUNDS;
    let (mut base_rate, mut ours_rate) = (0.0, 0.0);
    for _ in 0..ROUNDS {
        base_rate += run(round, per_call, base.clone()).await;
        ours_rate += run(round, per_call, ours.clone()).await;
    }
    (base_rate / ROUNDS as f64, ours_rate / ROUNDS as f64)
}

/// Runs `WRITERS` tasks calling `op(writer, call)` for `length`; returns events/s given
/// `per_call` events per call.
async fn run<F, Fut>(length: Duration, per_call: usize, op: Arc<F>) -> f64
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let start = Instant::now();
    let until = start + length;
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut calls = 0;
                while Instant::now() < until {
                    op(w, calls).await;
                    calls += 1;
                }
                calls
            })
        })
        .collect();
    let mut calls = 0;
    for t in tasks {
        calls += t.await.expect("writer panicked");
    }
    (calls * per_call) as f64 / start.elapsed().as_secs_f64()
}

async fn plain_insert(pool: &PgPool, stream: &str, version: i64, events: &[NewEvent]) {
    let (mut ids, mut types, mut svs, mut payloads, mut metas, mut versions) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for (i, e) in events.iter().enumerate() {
        ids.push(e.event_id);
        types.push(e.event_type.as_str());
        svs.push(e.schema_version as i32);
        payloads.push(e.payload.to_string());
        metas.push(serde_json::to_string(&e.metadata).expect("metadata"));
        versions.push(version + i as i64);
    }
    sqlx::query(
        "INSERT INTO bench_plain (tx_id, stream_id, stream_version, event_id, event_type, \
         schema_version, payload, metadata) \
         SELECT 0, $1, v, id, t, sv, p::json, m::json FROM unnest($2::bigint[], $3::uuid[], $4::text[], \
         $5::int[], $6::text[], $7::text[]) AS e(v, id, t, sv, p, m)",
    )
    .bind(stream)
    .bind(versions)
    .bind(ids)
    .bind(types)
    .bind(svs)
    .bind(payloads)
    .bind(metas)
    .execute(pool)
    .await
    .expect("plain insert");
}

fn fresh(template: &NewEvent, n: usize) -> Vec<NewEvent> {
    (0..n)
        .map(|_| NewEvent {
            event_id: Uuid::now_v7(),
            ..template.clone()
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let db = TestDb::new().await;
    sqlx::query(
        "CREATE TABLE bench_plain (position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
         tx_id bigint NOT NULL, stream_id text NOT NULL, stream_version bigint NOT NULL, \
         event_id uuid NOT NULL, event_type text NOT NULL, schema_version integer NOT NULL, \
         payload json NOT NULL, metadata json NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now())",
    )
    .execute(&db.pool)
    .await
    .expect("baseline table");
    let store = Arc::new(db.event_store());
    let template = Arc::new(sample_event());
    let run_id = Uuid::new_v4().simple().to_string();
    println!(
        "event store benchmark: {WRITERS} writers, {seconds} s per phase, PostgreSQL at {}",
        db.url
    );

    // (a) single-event appends
    let pool = db.pool.clone();
    let t = template.clone();
    let base = move |w, call| {
        let (pool, t) = (pool.clone(), t.clone());
        async move {
            plain_insert(
                &pool,
                &format!("plain-a-{w}"),
                call as i64 + 1,
                &fresh(&t, 1),
            )
            .await
        }
    };
    let (s, t, r) = (store.clone(), template.clone(), run_id.clone());
    let ours = move |w, _| {
        let (s, t, r) = (s.clone(), t.clone(), r.clone());
        async move {
            s.append(
                &format!("bench-a-{r}-{w}"),
                ExpectedVersion::Any,
                fresh(&t, 1),
            )
            .await
            .expect("append");
        }
    };
    let (base_a, ours_a) = compare(seconds, 1, base, ours).await;

    // (b) appends of 100 events per call
    let pool = db.pool.clone();
    let t = template.clone();
    let base = move |w, call| {
        let (pool, t) = (pool.clone(), t.clone());
        async move {
            let version = (call * BATCH) as i64 + 1;
            plain_insert(&pool, &format!("plain-b-{w}"), version, &fresh(&t, BATCH)).await
        }
    };
    let (s, t, r) = (store.clone(), template.clone(), run_id.clone());
    let ours = move |w, _| {
        let (s, t, r) = (s.clone(), t.clone(), r.clone());
        async move {
            s.append(
                &format!("bench-b-{r}-{w}"),
                ExpectedVersion::Any,
                fresh(&t, BATCH),
            )
            .await
            .expect("append");
        }
    };
    let (base_b, ours_b) = compare(seconds, BATCH, base, ours).await;

    // (c) read everything from the start
    let start = Instant::now();
    let mut after = Checkpoint::START;
    let mut read = 0usize;
    loop {
        let batch = store.read_all(after, 5000).await.expect("read_all");
        let Some(last) = batch.last() else { break };
        after = last.checkpoint();
        read += batch.len();
    }
    let rate_c = read as f64 / start.elapsed().as_secs_f64();

    println!();
    println!("(a) single-event appends, {WRITERS} writers:");
    println!("    baseline plain INSERT   {base_a:>12.0} events/s");
    println!(
        "    event store append      {ours_a:>12.0} events/s   ratio {:.2} (target >= 0.60)",
        ours_a / base_a
    );
    println!("(b) appends of {BATCH} events per call, {WRITERS} writers:");
    println!("    baseline plain INSERT   {base_b:>12.0} events/s");
    println!(
        "    event store append      {ours_b:>12.0} events/s   ratio {:.2} (target >= 0.60)",
        ours_b / base_b
    );
    println!("(c) read_all from position 0 in batches of 5000:");
    println!("    {read} events            {rate_c:>12.0} events/s   (target >= 200000)");
}
