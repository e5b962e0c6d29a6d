//! PostgreSQL faults, for real: the service over a private cluster ([`PrivatePg`]) that the test
//! stops and starts. While the database is down every route answers 503 `unavailable` with
//! `Retry-After` (authentication included) within the pool's acquire timeout, and once it is
//! back the service recovers by itself. Also `/readyz`'s pool and Redis fields, and the tenant
//! gauges reading 0.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use tenantry_tests::{PrivatePg, PrivatePgOptions, STAFF_PASSWORD, TestApp, TestDb};

/// Every answer during the outage comes within this (the acquire timeout is 1.5 s).
const QUICK: Duration = Duration::from_millis(3_000);

/// Asserts an answer is 503 `unavailable` with `Retry-After`, and returns its message.
async fn assert_unavailable(response: reqwest::Response, what: &str) -> String {
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: Value = response.json().await.expect("a JSON error body");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{what}: {body}");
    assert_eq!(body["error"]["code"], "unavailable", "{what}: {body}");
    let seconds: u64 = retry_after
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{what}: Retry-After in seconds, got {retry_after:?}"));
    assert!(seconds >= 1, "{what}: Retry-After {seconds}");
    body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_down_answers_503_then_the_api_recovers_by_itself() {
    let pg = PrivatePg::start_new();
    let db = TestDb::on_server(&pg.server_url()).await;
    // Logins below use fresh emails; the per-IP limit must not be what answers.
    let app = TestApp::spawn_with(db, |s| s.login_rate_per_ip = 1_000).await;
    let token = app.staff_token().await;
    let email = format!("outage-{}@example.com", uuid::Uuid::new_v4().simple());
    app.create_staff(&email, STAFF_PASSWORD).await;
    let list = app.get_auth("/platform/api/tenants", &token).await;
    assert_eq!(list.status(), 200);
    let created = app
        .post_json_auth(
            "/platform/api/tenants",
            &json!({"name": "Outage Test"}),
            &token,
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("an id")
        .to_owned();

    pg.stop();
    let outage = Instant::now();
    // Every route that needs the database, at once (each waits out the acquire timeout).
    let tenant = format!("/platform/api/tenants/{id}");
    let routes: Vec<(reqwest::Method, String, Option<Value>)> = vec![
        (reqwest::Method::GET, "/platform/api/auth/me".into(), None),
        (
            reqwest::Method::POST,
            "/platform/api/auth/logout".into(),
            None,
        ),
        (reqwest::Method::GET, "/platform/api/tenants".into(), None),
        (
            reqwest::Method::POST,
            "/platform/api/tenants".into(),
            Some(json!({"name": "During The Outage"})),
        ),
        (reqwest::Method::GET, tenant.clone(), None),
        (
            reqwest::Method::PATCH,
            tenant.clone(),
            Some(json!({"name": "Renamed"})),
        ),
        (reqwest::Method::DELETE, tenant.clone(), None),
        (reqwest::Method::GET, format!("{tenant}/events"), None),
        (reqwest::Method::POST, format!("{tenant}/provision"), None),
        (
            reqwest::Method::POST,
            format!("{tenant}/suspend"),
            Some(json!({})),
        ),
        (reqwest::Method::POST, format!("{tenant}/reactivate"), None),
        (reqwest::Method::GET, "/platform/api/audit".into(), None),
        (
            reqwest::Method::POST,
            "/api/tenants/provision".into(),
            Some(json!({"name": "One Shot", "admin_email": "admin@example.com"})),
        ),
    ];
    let sweep = routes.into_iter().map(|(method, path, body)| {
        let mut request = app
            .client
            .request(method.clone(), app.url(&path))
            .bearer_auth(&token)
            .header("idempotency-key", uuid::Uuid::new_v4().to_string());
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await.expect("the request failed");
            assert_unavailable(response, &format!("{method} {path}")).await;
        }
    });
    futures::future::join_all(sweep).await;
    let mut answers = 0;
    let mut slowest = Duration::ZERO;
    while outage.elapsed() < Duration::from_secs(10) {
        let started = Instant::now();
        let list = app.get_auth("/platform/api/tenants", &token).await;
        slowest = slowest.max(started.elapsed());
        let message = assert_unavailable(list, "GET /platform/api/tenants").await;
        assert!(!message.contains("127.0.0.1"), "{message}");

        let started = Instant::now();
        // A fresh email each time: the per-email login limit must not be what answers.
        let someone = format!("outage-{}@example.com", uuid::Uuid::new_v4().simple());
        let body = json!({"email": someone, "password": STAFF_PASSWORD});
        let login = app.post_json("/platform/api/auth/login", &body).await;
        slowest = slowest.max(started.elapsed());
        assert_unavailable(login, "POST /platform/api/auth/login").await;
        answers += 2;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(answers >= 4, "{answers} answers in 10 s");
    assert!(slowest < QUICK, "the slowest 503 took {slowest:?}");

    pg.start();
    let back = Instant::now();
    let recovered = loop {
        let list = app.get_auth("/platform/api/tenants", &token).await;
        if list.status() == 200 {
            break back.elapsed();
        }
        assert_eq!(list.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            back.elapsed() < Duration::from_secs(30),
            "no 2xx within 30 s of PostgreSQL being back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    println!(
        "recovery: PostgreSQL back -> first 2xx in {} ms ({answers} answers during the 10 s outage, slowest {} ms)",
        recovered.as_millis(),
        slowest.as_millis()
    );
    // The login works again too, without restarting the service.
    app.login(&email, STAFF_PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_connection_slot_left_is_503_and_readyz_says_why() {
    let pg = PrivatePg::start_with(PrivatePgOptions {
        max_connections: 20,
    });
    let db = TestDb::on_server(&pg.server_url()).await;
    let app = TestApp::spawn_with(db, |s| s.database_max_connections = 4).await;
    let token = app.staff_token().await;
    assert_eq!(
        app.get_auth("/platform/api/tenants", &token).await.status(),
        200
    );

    // Take every connection slot of the server: whatever frees, until the service holds none.
    let hog: PgConnectOptions = app
        .db
        .url
        .parse::<PgConnectOptions>()
        .expect("a URL")
        .application_name("hog");
    let others = "FROM pg_stat_activity WHERE backend_type = 'client backend' \
                  AND application_name <> 'hog'";
    let mut hogs: Vec<PgConnection> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // The service reconnects too: keep trying for a while, to win the slots that free.
        let grabbing = Instant::now();
        while grabbing.elapsed() < Duration::from_millis(500) {
            match PgConnection::connect_with(&hog).await {
                Ok(conn) => hogs.push(conn),
                Err(_) => tokio::time::sleep(Duration::from_millis(2)).await,
            }
        }
        // A backend still authenticating holds a slot before `pg_stat_activity` shows it: look
        // a little later.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let first = hogs.first_mut().expect("a free slot at the start");
        let left: i64 = sqlx::query_scalar(&format!("SELECT count(*) {others}"))
            .fetch_one(&mut *first)
            .await
            .expect("count");
        if left == 0 {
            break;
        }
        sqlx::query(&format!("SELECT pg_terminate_backend(pid) {others}"))
            .execute(&mut *first)
            .await
            .expect("terminate");
        assert!(
            Instant::now() < deadline,
            "the service kept {left} connections"
        );
    }
    let refused = PgConnection::connect_with(&hog).await.expect_err("no slot");
    assert!(
        refused.to_string().contains("too many clients"),
        "{refused}"
    );

    let started = Instant::now();
    let list = app.get_auth("/platform/api/tenants", &token).await;
    assert!(started.elapsed() < QUICK, "{:?}", started.elapsed());
    assert_unavailable(list, "GET with no connection slot left").await;
    let body = json!({"email": "someone@example.com", "password": STAFF_PASSWORD});
    let login = app.post_json("/platform/api/auth/login", &body).await;
    assert_unavailable(login, "POST login with no connection slot left").await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let ready: Value = ready.json().await.expect("json");
    assert_eq!(ready["database"]["status"], "unreachable", "{ready}");
    assert!(
        ready["database"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("too many clients")),
        "{ready}"
    );

    drop(hogs);
    let freed = Instant::now();
    loop {
        if app.get_auth("/platform/api/tenants", &token).await.status() == 200 {
            break;
        }
        assert!(freed.elapsed() < Duration::from_secs(30), "no recovery");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "recovery: connection slots free -> first 2xx in {} ms",
        freed.elapsed().as_millis()
    );
}

#[tokio::test]
async fn tenant_gauges_read_zero_when_no_tenant_has_the_status_and_pool_gauges_show() {
    let app = TestApp::spawn().await;
    let token = app.staff_token().await;
    let slug = format!("gauge-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let created = app
        .post_json_auth(
            "/platform/api/tenants",
            &json!({"name": "Gauge Test", "slug": slug}),
            &token,
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.expect("json");
    let id = created["id"].as_str().expect("an id").to_owned();
    let read = app
        .get_auth(
            &format!(
                "/platform/api/tenants/{id}?min_position={}",
                created["position"]
            ),
            &token,
        )
        .await;
    assert_eq!(read.status(), 200);
    let metrics = app.get("/metrics").await.text().await.expect("text");
    assert_eq!(gauge(&metrics, "pending"), Some(1.0), "{metrics}");
    assert_eq!(gauge(&metrics, "active"), Some(0.0), "{metrics}");
    // The pool's gauges (TestApp's pool has at most 8 connections).
    assert!(
        metrics.contains("tenantry_db_pool_max_connections 8"),
        "{metrics}"
    );
    for state in ["in_use", "idle"] {
        let line = format!("tenantry_db_pool_connections{{state=\"{state}\"}} ");
        assert!(metrics.contains(&line), "{metrics}");
    }

    // The only pending tenant moves on (no saga runs here: it stays provisioning).
    let provisioning = app
        .post_auth(&format!("/platform/api/tenants/{id}/provision"), &token)
        .await;
    assert!(provisioning.status().is_success(), "{provisioning:?}");
    let provisioning: Value = provisioning.json().await.expect("json");
    let read = app
        .get_auth(
            &format!(
                "/platform/api/tenants/{id}?min_position={}",
                provisioning["position"]
            ),
            &token,
        )
        .await;
    assert_eq!(read.status(), 200);
    let metrics = app.get("/metrics").await.text().await.expect("text");
    assert_eq!(gauge(&metrics, "pending"), Some(0.0), "{metrics}");
    assert_eq!(gauge(&metrics, "provisioning"), Some(1.0), "{metrics}");
}

/// The value of `tenantry_tenants{status="…"}` in Prometheus text.
fn gauge(metrics: &str, status: &str) -> Option<f64> {
    let prefix = format!("tenantry_tenants{{status=\"{status}\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readyz_reports_the_pool_and_redis() {
    let app = TestApp::spawn_with(TestDb::new().await, |s| {
        s.database_max_connections = 4;
    })
    .await;
    // Right after the start the projectors and the saga try their locks on pooled connections
    // (taken out of the pool when won): for a moment all 4 may be in use, `saturated`, and the
    // answer `degraded`. Once they lead, the pool is free again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let body = loop {
        let ready = app.get("/readyz").await;
        assert_eq!(ready.status(), 200);
        let body: Value = ready.json().await.expect("json");
        if body["status"] == "ready" || std::time::Instant::now() > deadline {
            break body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["database"]["status"], "ok", "{body}");
    assert_eq!(body["redis"]["status"], "ok", "{body}");
    assert_eq!(body["pool"]["max"], 4, "{body}");
    assert_eq!(body["pool"]["saturated"], false, "{body}");
    let (in_use, idle, size) = (
        body["pool"]["in_use"].as_u64().expect("in_use"),
        body["pool"]["idle"].as_u64().expect("idle"),
        body["pool"]["size"].as_u64().expect("size"),
    );
    assert_eq!(in_use + idle, size, "{body}");
    assert!(size <= 4, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_exhausted_pool_answers_503_and_readyz_says_saturated_then_degraded() {
    let app = TestApp::spawn_with(TestDb::new().await, |s| {
        s.database_max_connections = 3;
    })
    .await;
    let token = app.staff_token().await;
    // Every token check waits for this lock: the requests below hold every pooled connection.
    let mut locker = app.db.pool.begin().await.expect("a transaction");
    sqlx::query("LOCK TABLE revoked_tokens IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *locker)
        .await
        .expect("lock");
    let block = || {
        let (client, url, token) = (
            app.client.clone(),
            app.url("/platform/api/tenants"),
            token.clone(),
        );
        tokio::spawn(async move { client.get(url).bearer_auth(token).send().await })
    };
    let mut blocked: Vec<_> = (0..3).map(|_| block()).collect();
    // Until they hold the pool's three connections (with the projectors' comings and goings).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body: Value = app.get("/readyz").await.json().await.expect("json");
        if body["pool"]["saturated"] == true {
            break;
        }
        assert!(Instant::now() < deadline, "never saturated: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // More requests queue for a connection ahead of the probe, so that one a projector gives
    // back does not go to the probe.
    blocked.extend((0..3).map(|_| block()));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let saturated: Value = app.get("/readyz").await.json().await.expect("json");
    assert_eq!(saturated["pool"]["in_use"], 3, "{saturated}");
    assert_eq!(saturated["status"], "not_ready", "{saturated}");
    assert_eq!(saturated["database"]["status"], "busy", "{saturated}");
    assert_eq!(saturated["error"]["code"], "not_ready", "{saturated}");

    // Another request finds no free connection: 503, quickly.
    let started = Instant::now();
    let exhausted = app.get_auth("/platform/api/tenants", &token).await;
    assert!(started.elapsed() < QUICK, "{:?}", started.elapsed());
    assert_unavailable(exhausted, "GET with an exhausted pool").await;

    // A probe that arrives while the pool is saturated but gets a connection soon after: 200
    // `degraded`.
    let probe = {
        let (client, url) = (app.client.clone(), app.url("/readyz"));
        tokio::spawn(async move { client.get(url).send().await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    locker.rollback().await.expect("unlock");
    let probe = probe.await.expect("joined").expect("answered");
    assert_eq!(probe.status(), 200);
    let probe: Value = probe.json().await.expect("json");
    assert_eq!(probe["status"], "degraded", "{probe}");
    assert_eq!(probe["pool"]["saturated"], true, "{probe}");
    assert_eq!(probe["database"]["status"], "ok", "{probe}");
    // Those that got a connection answer once the lock is gone; any that waited for one longer
    // than the acquire timeout answered 503. None answers 500.
    for request in blocked {
        let answer = request.await.expect("joined").expect("answered");
        if answer.status() != 200 {
            assert_unavailable(answer, "a request that waited for the pool").await;
        }
    }
    // Ready again once the queue has drained (the projectors still come and go for the pool's
    // three connections, so a single probe may find it saturated for a moment).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body: Value = app.get("/readyz").await.json().await.expect("json");
        if body["status"] == "ready" {
            break;
        }
        assert!(Instant::now() < deadline, "never ready again: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn a_private_cluster_is_stopped_and_removed_when_its_test_panics() {
    let seen = std::sync::Mutex::new(None);
    let panicked = std::panic::catch_unwind(|| {
        let pg = PrivatePg::start_new();
        *seen.lock().unwrap() = Some((pg.port(), pg.data_dir().to_owned()));
        assert!(std::net::TcpStream::connect(("127.0.0.1", pg.port())).is_ok());
        panic!("a deliberate panic: the cluster must go with it");
    });
    assert!(panicked.is_err());
    let (port, data) = seen.lock().unwrap().take().expect("the cluster started");
    assert!(!data.exists(), "{} is left behind", data.display());
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "something still listens on {port}"
    );
}
