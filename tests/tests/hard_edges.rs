//! The API's hard edges (issue 10 §2): input a client should never send — unknown query
//! parameters, a body that is not an object, NUL bytes and invalid UTF-8 anywhere, numbers out of
//! range, text that displays as something it is not, malformed or doubled hosts — is refused with
//! a 4xx in the error shape, naming the field, and never reaches the database (never a 500).

use std::time::{Duration, Instant};

use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tenantry_tests::{STAFF_PASSWORD, TestApp, TestDb, event_log};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A staff member's client of a fresh server, with one tenant created.
struct Edges {
    app: TestApp,
    token: String,
    tenant: String,
    /// The global position of the tenant's creation.
    position: u64,
}

impl Edges {
    async fn new() -> Self {
        let app = TestApp::spawn().await;
        let token = app.staff_token().await;
        let created: Value = app
            .post_json_auth(
                "/platform/api/tenants",
                &json!({"name": "Edge Case", "slug": "edgecase"}),
                &token,
            )
            .await
            .json()
            .await
            .expect("json");
        Self {
            tenant: created["id"].as_str().expect("an id").to_owned(),
            position: created["position"].as_u64().expect("a position"),
            app,
            token,
        }
    }

    async fn answer(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request");
        let status = response.status();
        let text = response.text().await.expect("a body");
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("a JSON body, got {status} {text:?}"));
        (status, body)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.answer(self.app.client.get(self.app.url(path))).await
    }

    /// `method path` with `body` as it is, declared JSON.
    async fn send_raw(&self, method: Method, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
        self.answer(
            self.app
                .client
                .request(method, self.app.url(path))
                .header("content-type", "application/json")
                .body(body),
        )
        .await
    }
}

#[track_caller]
fn assert_refused(
    (status, body): &(StatusCode, Value),
    expected: (u16, &str, Option<&str>),
    what: &str,
) {
    let (want_status, code, field) = expected;
    assert_eq!(status.as_u16(), want_status, "{what}: {body}");
    assert_eq!(body["error"]["code"], code, "{what}: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
    assert_eq!(body["error"]["field"].as_str(), field, "{what}: {body}");
}

#[tokio::test]
async fn unknown_and_repeated_query_parameters_are_refused_naming_them() {
    let e = Edges::new().await;
    let id = &e.tenant;
    for path in [
        "/platform/api/tenants?colour=red".to_owned(),
        "/platform/api/tenants?q=edge&colour=red".to_owned(),
        format!("/platform/api/tenants/{id}?colour=red"),
        format!("/platform/api/tenants/{id}/events?colour=red"),
        "/platform/api/audit?colour=red".to_owned(),
    ] {
        let answer = e.get(&path).await;
        assert_refused(&answer, (400, "invalid_query", Some("colour")), &path);
        let message = answer.1["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("unknown field `colour`"), "{message}");
    }
    let answer = e.get("/platform/api/tenants?limit=1&limit=2").await;
    assert_refused(
        &answer,
        (400, "invalid_query", Some("limit")),
        "limit twice",
    );
    // The known ones still work.
    let (status, body) = e
        .get(&format!(
            "/platform/api/tenants?q=edge&limit=5&min_position={}",
            e.position
        ))
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_refused() {
    let e = Edges::new().await;
    let before = event_log::event_count(&*e.app.store).await;
    let suspend = format!("/platform/api/tenants/{}/suspend", e.tenant);
    for (method, path) in [
        (Method::POST, "/platform/api/tenants"),
        (Method::POST, "/platform/api/auth/login"),
        (Method::POST, suspend.as_str()),
        (Method::POST, "/api/tenants/provision"),
    ] {
        for (body, kind) in [
            ("[{\"name\": \"Acme\"}]", "an array"),
            ("\"Acme\"", "a string"),
            ("42", "a number"),
            ("null", "null"),
        ] {
            // The suspension's body is optional: `null` is no body, as the document says
            // (tests/tests/openapi.rs).
            if path == suspend && body == "null" {
                continue;
            }
            let what = format!("{method} {path} {body}");
            let answer = e.send_raw(method.clone(), path, body.into()).await;
            assert_refused(&answer, (400, "invalid_body", None), &what);
            assert_eq!(
                answer.1["error"]["message"],
                format!("the body must be a JSON object, not {kind}"),
                "{what}"
            );
        }
    }
    assert_eq!(event_log::event_count(&*e.app.store).await, before);
}

#[tokio::test]
async fn nul_bytes_and_invalid_utf8_in_bodies_are_refused_naming_the_field() {
    let e = Edges::new().await;
    let before = event_log::event_count(&*e.app.store).await;
    let login = |body: Value| {
        e.send_raw(
            Method::POST,
            "/platform/api/auth/login",
            body.to_string().into_bytes(),
        )
    };
    let answer = login(json!({"email": "a\u{0}@example.com", "password": STAFF_PASSWORD})).await;
    assert_refused(
        &answer,
        (400, "invalid_body", Some("email")),
        "NUL in email",
    );
    let answer = login(json!({"email": "a@example.com", "password": "hunter\u{0}2"})).await;
    assert_refused(
        &answer,
        (400, "invalid_body", Some("password")),
        "NUL in password",
    );
    assert!(!answer.1.to_string().contains("hunter"), "{}", answer.1);

    let create = |body: Vec<u8>| e.send_raw(Method::POST, "/platform/api/tenants", body);
    let answer = create(json!({"name": "Acme\u{0}"}).to_string().into_bytes()).await;
    assert_refused(&answer, (400, "invalid_body", Some("name")), "NUL in name");
    let answer = create(
        json!({"name": "Acme", "admin_email": "\u{0}"})
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_refused(
        &answer,
        (400, "invalid_body", Some("admin_email")),
        "NUL in admin_email",
    );
    let answer = create(b"{\"name\": \"Ac\xFFme\"}".to_vec()).await;
    assert_refused(
        &answer,
        (400, "invalid_body", Some("name")),
        "invalid UTF-8 in name",
    );
    let answer = create(b"{\"name\": \"\\ud800\"}".to_vec()).await;
    assert_refused(&answer, (400, "malformed_json", None), "a lone surrogate");

    let suspend = format!("/platform/api/tenants/{}/suspend", e.tenant);
    let answer = e
        .send_raw(
            Method::POST,
            &suspend,
            json!({"reason": "a\u{0}b"}).to_string().into_bytes(),
        )
        .await;
    assert_refused(
        &answer,
        (400, "invalid_body", Some("reason")),
        "NUL in reason",
    );
    assert_eq!(event_log::event_count(&*e.app.store).await, before);
}

#[tokio::test]
async fn nul_bytes_and_invalid_utf8_in_query_parameters_are_refused_naming_them() {
    let e = Edges::new().await;
    let id = &e.tenant;
    for bad in ["%00", "%FF", "a%00b", "%E2%80%AE"] {
        for (path, param) in [
            ("/platform/api/tenants", "q"),
            ("/platform/api/tenants", "plan"),
            ("/platform/api/tenants", "status"),
            ("/platform/api/tenants", "isolation"),
            ("/platform/api/tenants", "cursor"),
            ("/platform/api/audit", "actor"),
            ("/platform/api/audit", "event_type"),
            ("/platform/api/audit", "after"),
            (&format!("/platform/api/tenants/{id}/events"), "limit"),
        ] {
            let what = format!("{path}?{param}={bad}");
            let answer = e.get(&what).await;
            assert_refused(&answer, (400, "invalid_query", Some(param)), &what);
        }
    }
    // A parameter name that is not UTF-8 is named as far as it can be.
    let answer = e.get("/platform/api/tenants?q%FF=1").await;
    assert_refused(
        &answer,
        (400, "invalid_query", Some("q\u{FFFD}")),
        "a bad name",
    );
}

#[tokio::test]
async fn nul_bytes_and_invalid_utf8_in_path_segments_are_refused() {
    let e = Edges::new().await;
    for path in [
        "/platform/api/tenants/%00",
        "/platform/api/tenants/%FF",
        "/platform/api/tenants/edge%00case",
        "/platform/api/tenants/edge%00case/events",
    ] {
        let answer = e.get(path).await;
        assert_refused(&answer, (400, "invalid_path", Some("id")), path);
    }
    for path in [
        "/platform/api/tenants/edge%00case/suspend",
        "/platform/api/tenants/%FF/provision",
    ] {
        let answer = e.send_raw(Method::POST, path, b"{}".to_vec()).await;
        assert_refused(&answer, (400, "invalid_path", Some("id")), path);
    }
}

#[tokio::test]
async fn bad_bytes_in_the_headers_we_read_are_refused_naming_them() {
    let e = Edges::new().await;
    let before = event_log::event_count(&*e.app.store).await;
    let not_utf8 = HeaderValue::from_bytes(b"k\xFFey").expect("obs-text is a valid header value");
    let create = |name: &'static str, value: HeaderValue| {
        e.answer(
            e.app
                .client
                .post(e.app.url("/platform/api/tenants"))
                .header(name, value)
                .json(&json!({"name": "Header Co"})),
        )
    };
    for value in [not_utf8.clone(), HeaderValue::from_static("a\tb")] {
        let answer = create("idempotency-key", value).await;
        assert_refused(
            &answer,
            (400, "invalid_idempotency_key", Some("Idempotency-Key")),
            "Idempotency-Key",
        );
    }
    for value in [not_utf8.clone(), HeaderValue::from_static("not-a-uuid")] {
        let answer = create("x-correlation-id", value).await;
        assert_refused(
            &answer,
            (400, "invalid_correlation_id", Some("X-Correlation-Id")),
            "X-Correlation-Id",
        );
    }
    let answer = e
        .answer(
            e.app
                .client
                .patch(e.app.url(&format!("/platform/api/tenants/{}", e.tenant)))
                .header("if-match", not_utf8)
                .json(&json!({"name": "Renamed"})),
        )
        .await;
    assert_refused(
        &answer,
        (400, "invalid_if_match", Some("If-Match")),
        "If-Match",
    );
    // A NUL in a header never gets as far as a handler: HTTP refuses the request.
    let address = e.app.address.trim_start_matches("http://");
    let (status, _) = raw_http(
        &e.app,
        &format!(
            "POST /platform/api/tenants HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
             Idempotency-Key: a\0b\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\
             Connection: close\r\n\r\n{{}}",
            e.token
        ),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(event_log::event_count(&*e.app.store).await, before);
}

#[tokio::test]
async fn positions_and_versions_out_of_range_are_refused_at_once() {
    let e = Edges::new().await;
    let id = &e.tenant;
    let events = format!("/platform/api/tenants/{id}/events");
    for after in [
        "9223372036854775808",
        "18446744073709551615",
        "18446744073709551616",
        "2",
        "1000",
    ] {
        let what = format!("{events}?after={after}");
        let answer = e.get(&what).await;
        assert_refused(&answer, (400, "invalid_query", Some("after")), &what);
    }
    // The audit log's `after` is a cursor: one it did not hand out is refused as such.
    for after in ["bm9wZQ", "OTIyMzM3MjAzNjg1NDc3NTgwODox"] {
        let what = format!("/platform/api/audit?after={after}");
        let answer = e.get(&what).await;
        assert_refused(&answer, (400, "invalid_cursor", Some("after")), &what);
    }
    // At the last event: an empty page, not an error.
    let (status, page) = e.get(&format!("{events}?after=1")).await;
    assert_eq!(
        (status.as_u16(), &page["items"]),
        (200, &json!([])),
        "{page}"
    );

    let started = Instant::now();
    for (path, position) in [
        (format!("/platform/api/tenants/{id}"), "9223372036854775808"),
        ("/platform/api/tenants".to_owned(), "18446744073709551615"),
        ("/platform/api/audit".to_owned(), "9223372036854775807"),
        (
            "/platform/api/tenants".to_owned(),
            &*(e.position + 1_000).to_string(),
        ),
    ] {
        let what = format!("{path}?min_position={position}");
        let answer = e.get(&what).await;
        assert_refused(&answer, (400, "invalid_query", Some("min_position")), &what);
    }
    // Refused without waiting (a wait would take TENANTRY_READ_MODEL_WAIT_MS each).
    assert!(started.elapsed() < Duration::from_secs(10));
    for position in [e.position, 0] {
        let (status, body) = e
            .get(&format!(
                "/platform/api/tenants/{id}?min_position={position}"
            ))
            .await;
        assert_eq!(status, 200, "min_position={position}: {body}");
    }

    for path in [
        "/platform/api/tenants".to_owned(),
        events.clone(),
        "/platform/api/audit".to_owned(),
    ] {
        for limit in ["0", "501"] {
            let what = format!("{path}?limit={limit}");
            let answer = e.get(&what).await;
            assert_refused(&answer, (400, "invalid_query", Some("limit")), &what);
            let message = answer.1["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains("between 1 and 500"), "{message}");
        }
        let (status, body) = e.get(&format!("{path}?limit=500")).await;
        assert_eq!(status, 200, "{path}?limit=500: {body}");
    }
}

#[tokio::test]
async fn every_text_field_follows_the_same_character_rules() {
    let e = Edges::new().await;
    let before = event_log::event_count(&*e.app.store).await;
    let create = |body: Value| {
        e.send_raw(
            Method::POST,
            "/platform/api/tenants",
            body.to_string().into_bytes(),
        )
    };
    for (name, what) in [
        ("Acme\u{202E}lpmaxe", "a bidi override"),
        ("Acme\u{2066}x", "a bidi isolate"),
        ("\u{200B}\u{200B}", "zero-width only"),
        ("Acme\u{7}", "a control character"),
    ] {
        let answer = create(json!({ "name": name })).await;
        assert_refused(&answer, (422, "invalid_name", Some("name")), what);
    }
    let answer = create(json!({"name": "Acme", "admin_email": "ana\u{202E}@example.com"})).await;
    assert_refused(
        &answer,
        (422, "invalid_email", Some("admin_email")),
        "bidi in an email",
    );
    let answer = e
        .send_raw(
            Method::POST,
            "/api/tenants/provision",
            json!({"name": "Acme", "admin_email": "ana\u{202E}@example.com"})
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_refused(
        &answer,
        (422, "invalid_email", Some("admin_email")),
        "bidi in the one-shot's email",
    );

    let suspend = format!("/platform/api/tenants/{}/suspend", e.tenant);
    for (reason, what) in [
        ("x".repeat(501), "a reason too long"),
        ("unpaid\ninvoice".to_owned(), "a newline"),
        ("unpaid\u{202E}".to_owned(), "a bidi override"),
        ("\u{FEFF}".to_owned(), "zero-width only"),
        (" ".to_owned(), "blank"),
    ] {
        let answer = e
            .send_raw(
                Method::POST,
                &suspend,
                json!({ "reason": reason }).to_string().into_bytes(),
            )
            .await;
        assert_refused(&answer, (422, "invalid_reason", Some("reason")), what);
    }
    let message = e
        .send_raw(
            Method::POST,
            &suspend,
            json!({"reason": "x".repeat(501)}).to_string().into_bytes(),
        )
        .await
        .1["error"]["message"]
        .clone();
    assert_eq!(
        message,
        "reason must be at most 500 characters long, got 501"
    );
    // A reason within the rules passes them: the pending tenant cannot be suspended, which is
    // the domain's answer, not the reason's.
    let answer = e
        .send_raw(
            Method::POST,
            &suspend,
            json!({"reason": "x".repeat(500)}).to_string().into_bytes(),
        )
        .await;
    assert_eq!(answer.0, 409, "{}", answer.1);
    assert_eq!(event_log::event_count(&*e.app.store).await, before);
}

/// Sends `request` (the raw bytes of an HTTP/1.1 request) to the server and answers its status
/// and JSON body: for what reqwest would normalise (absolute-form URIs, doubled headers).
async fn raw_http(app: &TestApp, request: &str) -> (u16, Value) {
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write the request");
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .expect("read the answer");
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {head}"));
    let body = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn hosts_are_well_formed_said_once_and_checked_where_the_request_says() {
    let db = TestDb::new().await;
    let app = TestApp::spawn_with(db, |s| {
        s.control_plane_hosts = vec!["admin.example.com".into()];
    })
    .await;
    let get = |target: &str, hosts: &[&str]| {
        let mut request = format!("GET {target} HTTP/1.1\r\n");
        for host in hosts {
            request.push_str(&format!("Host: {host}\r\n"));
        }
        request.push_str("Connection: close\r\n\r\n");
        request
    };
    let me = "/platform/api/auth/me";
    // On the control-plane host, without a token: past the host check.
    assert_eq!(
        raw_http(&app, &get(me, &["admin.example.com"])).await.0,
        401
    );

    for (request, what) in [
        (
            get(me, &["admin.example.com", "admin.example.com"]),
            "Host twice",
        ),
        (get(me, &["admin.example.com", "evil.example"]), "two hosts"),
        (get(me, &["admin example com"]), "a malformed Host"),
        (get(me, &["admin.example.com:http"]), "a bad port"),
        (get(me, &["ops@admin.example.com"]), "user info"),
        (
            get("/healthz", &["a.example", "b.example"]),
            "on every route",
        ),
        (
            get(&format!("http://evil.example{me}"), &["admin.example.com"]),
            "an absolute URI and a Host that disagree",
        ),
    ] {
        let (status, body) = raw_http(&app, &request).await;
        assert_eq!(status, 400, "{what}: {body}");
        assert_eq!(body["error"]["code"], "invalid_host", "{what}: {body}");
        assert_eq!(body["error"]["field"], "Host", "{what}: {body}");
    }

    // In absolute form, the URI's authority is the host checked.
    let (status, body) = raw_http(
        &app,
        &get(&format!("http://evil.example{me}"), &["evil.example"]),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = raw_http(
        &app,
        &get(
            &format!("http://admin.example.com{me}"),
            &["admin.example.com"],
        ),
    )
    .await;
    assert_eq!(status, 401);
    for (target, status) in [
        ("http://admin.example.com", 401),
        ("http://evil.example", 403),
    ] {
        let (got, body) = raw_http(&app, &get(&format!("{target}{me}"), &[])).await;
        assert_eq!(got, status, "{target} without Host: {body}");
    }
}

#[tokio::test]
async fn the_one_shot_provisioning_is_served_on_the_control_plane_hosts_only() {
    let db = TestDb::new().await;
    let app = TestApp::spawn_with(db, |s| {
        s.control_plane_hosts = vec!["admin.example.com".into()];
    })
    .await;
    app.create_staff("ivo@example.com", STAFF_PASSWORD).await;
    let token: Value = app
        .client
        .post(app.url("/platform/api/auth/login"))
        .header("host", "admin.example.com")
        .json(&json!({"email": "ivo@example.com", "password": STAFF_PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let token = token["access_token"].as_str().expect("a token");
    let body = json!({"name": "Host Co", "admin_email": "ana@example.com"});
    let provision = |host: &'static str| {
        app.client
            .post(app.url("/api/tenants/provision"))
            .header("host", host)
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let before = event_log::event_count(&*app.store).await;
    let refused = provision("tenant.example.com").await.expect("request");
    assert_eq!(refused.status(), 403);
    let refused: Value = refused.json().await.expect("json");
    assert_eq!(refused["error"]["code"], "forbidden", "{refused}");
    assert_eq!(event_log::event_count(&*app.store).await, before);

    let served = provision("admin.example.com").await.expect("request");
    assert_eq!(served.status(), 201);
}
