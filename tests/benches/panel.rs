//! Admin panel benchmark: `cargo bench -p tenantry-tests --bench panel`.
//!
//! Starts the real server on a fresh database, creates `BENCH_TENANTS` (default 10,000) tenants
//! through the API (32 concurrent clients; the sagas off, so nothing is provisioned), waits for
//! the read models, then prints:
//! 1. the tenants page (`GET /`, 50 rows): `BENCH_PAGES` (default 200) requests one after another,
//!    with a session cookie; p50 and p99 of the time to the whole page (server time plus loopback);
//! 2. first paint in headless Chromium: the same page opened `BENCH_PAINTS` (default 20) times,
//!    `first-contentful-paint` from the Paint Timing API; p50 and p99;
//! 3. from a command committed to the browser showing it: on a tenant's page, `BENCH_TOGGLES`
//!    (default 30) suspends and reactivates through the API; for each, the time from the
//!    command's answer (its events are committed by then) to the page's status badge changing
//!    (a `MutationObserver` stamps it with the wall clock, which client and browser share); p50
//!    and p99.
//!
//! Client, browser and server share the machine's two cores: the figures include that.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fantoccini::Locator;
use serde_json::{Value, json};
use tenantry_tests::browser::{browser, start_driver};
use tenantry_tests::{STAFF_PASSWORD, TestApp};

const CREATORS: usize = 32;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(label: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    println!(
        "{label:<48} {:>5} samples   p50 {:>8.2} ms   p99 {:>8.2} ms",
        ms.len(),
        percentile(&ms, 0.50),
        percentile(&ms, 0.99)
    );
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

#[tokio::main]
async fn main() {
    let tenants = env("BENCH_TENANTS", 10_000) as usize;
    let app = Arc::new(TestApp::spawn().await);
    app.create_staff("bench@example.com", STAFF_PASSWORD).await;
    let token = Arc::new(app.login("bench@example.com", STAFF_PASSWORD).await);
    println!("panel benchmark: {tenants} tenants");

    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let creators: Vec<_> = (0..CREATORS)
        .map(|_| {
            let (app, token, next) = (app.clone(), token.clone(), next.clone());
            tokio::spawn(async move {
                let (mut last, mut made) = (0u64, 0usize);
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= tenants {
                        return (last, made);
                    }
                    let plan = ["free", "basic", "pro", "enterprise"][n % 4];
                    let body = json!({"name": format!("Bench Tenant {n}"), "plan": plan});
                    let response = app
                        .post_json_auth("/platform/api/tenants", &body, &token)
                        .await;
                    if response.status() == 201 {
                        let created: Value = response.json().await.expect("json");
                        last = last.max(created["position"].as_u64().unwrap_or(0));
                        made += 1;
                    }
                }
            })
        })
        .collect();
    let (mut last, mut made) = (0, 0);
    let started = Instant::now();
    for c in creators {
        let (position, count) = c.await.expect("creator");
        last = last.max(position);
        made += count;
    }
    println!(
        "created {made} tenants in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let r = app
            .get_auth(
                &format!("/platform/api/tenants?limit=1&min_position={last}"),
                &token,
            )
            .await;
        if r.status() == 200 || Instant::now() > deadline {
            break;
        }
    }

    // 1. The tenants page over HTTP, with the session cookie of a panel login.
    let session = app.login("bench@example.com", STAFF_PASSWORD).await;
    let cookie = format!("tenantry_session={session}");
    let mut page_ms = Vec::new();
    for _ in 0..env("BENCH_PAGES", 200) {
        let t = Instant::now();
        let response = app
            .client
            .get(app.url("/"))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("the page");
        assert_eq!(response.status(), 200);
        let body = response.text().await.expect("the body");
        assert!(body.contains("Bench Tenant"));
        page_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    report("tenants page (GET /, 50 of 10,000+ rows)", page_ms);

    // 2. First paint in Chromium.
    let driver = start_driver().await;
    let client = browser(&driver).await;
    client.goto(&app.url("/login")).await.expect("login page");
    client
        .find(Locator::Css("#email"))
        .await
        .expect("email")
        .send_keys("bench@example.com")
        .await
        .expect("type");
    client
        .find(Locator::Css("#password"))
        .await
        .expect("password")
        .send_keys(STAFF_PASSWORD)
        .await
        .expect("type");
    client
        .find(Locator::Css("#login-form button[type=submit]"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("click");
    client
        .wait()
        .for_element(Locator::Css("#tenants"))
        .await
        .expect("the table");
    let mut paint_ms = Vec::new();
    for _ in 0..env("BENCH_PAINTS", 20) {
        client.goto(&app.url("/")).await.expect("the page");
        // The paint entry is recorded a moment after the load event.
        for _ in 0..40 {
            let fcp = client
                .execute(
                    "const e = performance.getEntriesByName('first-contentful-paint')[0]; \
                     return e ? e.startTime : null;",
                    vec![],
                )
                .await
                .expect("paint timing");
            if let Some(ms) = fcp.as_f64() {
                paint_ms.push(ms);
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    report("tenants page first contentful paint (Chromium)", paint_ms);

    // 3. Command → shown on the tenant's page. The sagas are off (10,000 tenants are not
    // provisioned), so the command is a rename (PATCH), which any tenant takes; the clock starts
    // when it is sent, so the figure bounds commit → shown from above.
    let tenant: Value = app
        .get_auth("/platform/api/tenants?limit=1", &token)
        .await
        .json()
        .await
        .expect("a tenant");
    let id = tenant["items"][0]["id"].as_str().expect("an id").to_owned();
    client
        .goto(&app.url(&format!("/tenants/{id}")))
        .await
        .expect("the tenant page");
    client
        .execute(
            "window.__seen = {}; \
             const live = document.getElementById('tenant-live'); \
             new MutationObserver(function () { \
               const h = live.querySelector('h1'); \
               const name = h && h.firstChild ? h.firstChild.textContent.trim() : ''; \
               if (name && !(name in window.__seen)) window.__seen[name] = Date.now(); \
             }).observe(live, {childList: true, subtree: true, characterData: true});",
            vec![],
        )
        .await
        .expect("the observer");
    let mut live_ms = Vec::new();
    for i in 0..env("BENCH_TOGGLES", 30) {
        let name = format!("Bench Live {i}");
        let sent = now_ms();
        let response = app
            .patch_json_auth(
                &format!("/platform/api/tenants/{id}"),
                &json!({"name": name}),
                &token,
            )
            .await;
        assert_eq!(response.status(), 200);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let seen = client
                .execute(
                    "return window.__seen[arguments[0]] || null;",
                    vec![json!(name)],
                )
                .await
                .expect("read the observer");
            if let Some(at) = seen.as_f64() {
                live_ms.push(at - sent);
                break;
            }
            if Instant::now() > deadline {
                println!("rename {i}: not shown within 10 s");
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    report("command sent → shown on the tenant page (SSE)", live_ms);
    let _ = client.close().await;
}
