//! Staff authentication over HTTP: login, the bearer token on a protected endpoint, what a bad
//! token gets, logout, the control-plane host check and the login rate limit; and the
//! `tenantry staff` CLI that creates the accounts.

use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tenantry_api::Settings;
use tenantry_api::cli::staff::StaffCommand;
use tenantry_api::http::auth::TokenKeys;
use tenantry_application::event_store::{Actor, EventStore};
use tenantry_tests::{STAFF_PASSWORD, TestApp, TestDb};
use uuid::Uuid;

const LOGIN: &str = "/platform/api/auth/login";
const LOGOUT: &str = "/platform/api/auth/logout";
const ME: &str = "/platform/api/auth/me";
const SECRET: &str = "a-test-signing-secret-of-more-than-32-bytes";

fn credentials(email: &str, password: &str) -> Value {
    json!({"email": email, "password": password})
}

async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The status and error message of `GET /auth/me` with `authorization` as the header.
async fn me_with_header(app: &TestApp, authorization: &str) -> (StatusCode, String) {
    let response = app
        .client
        .get(app.url(ME))
        .header("authorization", authorization)
        .send()
        .await
        .expect("the request failed");
    let (status, body) = json_of(response).await;
    (
        status,
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test]
async fn a_login_token_opens_protected_endpoints() {
    let app = TestApp::spawn().await;
    let id = app.create_staff("Ana@Example.com", STAFF_PASSWORD).await;

    // The email is one identity whatever its case.
    let response = app
        .post_json(LOGIN, &credentials(" ANA@example.COM", STAFF_PASSWORD))
        .await;
    let (status, body) = json_of(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    let expires_at: chrono::DateTime<Utc> = body["expires_at"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("expires_at is an RFC 3339 time");
    assert!(expires_at > Utc::now());
    let token = body["access_token"].as_str().expect("an access token");

    let (status, me) = json_of(app.get_auth(ME, token).await).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me, json!({"id": id, "email": "ana@example.com"}));

    // No TENANTRY_JWT_SECRET: the key was generated and kept in the database.
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM platform_secrets")
        .fetch_one(&app.db.pool)
        .await
        .expect("count platform secrets");
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_401() {
    let app = TestApp::spawn().await;
    app.create_staff("bea@example.com", STAFF_PASSWORD).await;

    let wrong_password = app
        .post_json(LOGIN, &credentials("bea@example.com", "not the password"))
        .await;
    let unknown_email = app
        .post_json(LOGIN, &credentials("nobody@example.com", STAFF_PASSWORD))
        .await;
    let (status_a, body_a) = json_of(wrong_password).await;
    let (status_b, body_b) = json_of(unknown_email).await;
    assert_eq!(status_a, 401);
    assert_eq!(status_b, 401);
    assert_eq!(body_a, body_b);
    assert_eq!(body_a["error"]["code"], "unauthorized");
}

#[tokio::test]
async fn malformed_login_bodies_get_400() {
    let app = TestApp::spawn().await;
    let not_json = app
        .client
        .post(app.url(LOGIN))
        .header("content-type", "application/json")
        .body("{\"email\":")
        .send()
        .await
        .expect("the request failed");
    assert_eq!(not_json.status(), 400);
    let extra = json!({"email": "a@example.com", "password": STAFF_PASSWORD, "admin": true});
    let (status, body) = json_of(app.post_json(LOGIN, &extra).await).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].is_string());
}

#[tokio::test]
async fn missing_malformed_expired_forged_and_foreign_tokens_get_401() {
    let db = TestDb::new().await;
    let app = TestApp::spawn_with(db, |s| s.jwt_secret = Some(SECRET.into())).await;
    let id = app.create_staff("cid@example.com", STAFF_PASSWORD).await;
    let keys = TokenKeys::from_secret(SECRET.as_bytes());
    let ttl = Duration::from_secs(900);

    // A token minted with the configured secret is accepted: the tokens below differ only in
    // what is wrong with them.
    let good = keys
        .issue(id, "cid@example.com", Utc::now(), ttl)
        .expect("issue a token");
    assert_eq!(app.get_auth(ME, &good.token).await.status(), 200);

    let no_header = app.get(ME).await;
    let (status, body) = json_of(no_header).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["message"], "missing bearer token");

    let expired = keys
        .issue(
            id,
            "cid@example.com",
            Utc::now() - chrono::Duration::hours(2),
            ttl,
        )
        .expect("issue a token");
    let forged = TokenKeys::from_secret(b"another-secret-that-is-long-enough-to-use")
        .issue(id, "cid@example.com", Utc::now(), ttl)
        .expect("issue a token");
    let now = Utc::now().timestamp();
    let foreign = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": id, "email": "cid@example.com", "iat": now, "exp": now + 900,
                "jti": Uuid::new_v4(), "iss": "tenantry", "aud": "tenant-portal"}),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("encode a token");

    let cases = [
        ("Bearer ".to_owned(), "missing bearer token"),
        ("Bearer not-a-jwt".to_owned(), "malformed token"),
        (
            format!("Basic {}", good.token),
            "authorization must be `Bearer <access_token>`",
        ),
        (format!("Bearer {}", expired.token), "token expired"),
        (
            format!("Bearer {}", forged.token),
            "token signature is invalid",
        ),
        (
            format!("Bearer {foreign}"),
            "token was not issued for the platform API",
        ),
    ];
    for (authorization, message) in cases {
        let (status, got) = me_with_header(&app, &authorization).await;
        assert_eq!(status, 401, "{authorization}");
        assert_eq!(got, message, "{authorization}");
    }
}

#[tokio::test]
async fn logout_revokes_only_the_presented_token() {
    let app = TestApp::spawn().await;
    app.create_staff("dan@example.com", STAFF_PASSWORD).await;
    let first = app.login("dan@example.com", STAFF_PASSWORD).await;
    let second = app.login("dan@example.com", STAFF_PASSWORD).await;

    let logout = app.post_auth(LOGOUT, &first).await;
    assert_eq!(logout.status(), 204);

    let (status, message) = me_with_header(&app, &format!("Bearer {first}")).await;
    assert_eq!(status, 401);
    assert_eq!(message, "token revoked");
    assert_eq!(app.post_auth(LOGOUT, &first).await.status(), 401);
    assert_eq!(app.get_auth(ME, &second).await.status(), 200);
}

#[tokio::test]
async fn the_control_plane_answers_only_on_its_hosts() {
    let db = TestDb::new().await;
    let app = TestApp::spawn_with(db, |s| {
        s.control_plane_hosts = vec!["admin.example.com".into(), " ops.example.com ".into()];
    })
    .await;
    app.create_staff("eva@example.com", STAFF_PASSWORD).await;
    let login_on = |host: &'static str| {
        app.client
            .post(app.url(LOGIN))
            .header("host", host)
            .json(&credentials("eva@example.com", STAFF_PASSWORD))
            .send()
    };

    // Requests addressed to 127.0.0.1 (reqwest's default Host) are not on the list.
    let (status, body) = json_of(
        app.post_json(LOGIN, &credentials("eva@example.com", STAFF_PASSWORD))
            .await,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    let (status, _) = json_of(login_on("tenant.example.com").await.expect("request")).await;
    assert_eq!(status, 403);

    let (status, body) = json_of(login_on("Admin.Example.COM:8443").await.expect("request")).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().expect("a token");

    // A valid token does not open the control plane on another host.
    assert_eq!(app.get_auth(ME, token).await.status(), 403);
    let on_ops = app
        .client
        .get(app.url(ME))
        .header("host", "ops.example.com")
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert_eq!(on_ops.status(), 200);
    // Outside /platform/api the host does not matter.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn the_sixth_login_attempt_a_minute_for_one_email_gets_429() {
    let app = TestApp::spawn().await;
    app.create_staff("fay@example.com", STAFF_PASSWORD).await;
    for attempt in 1..=5 {
        let response = app
            .post_json(LOGIN, &credentials("fay@example.com", "a wrong password"))
            .await;
        assert_eq!(response.status(), 401, "attempt {attempt}");
    }

    // Even the right password is refused now, with a time to come back.
    let response = app
        .post_json(LOGIN, &credentials("FAY@example.com", STAFF_PASSWORD))
        .await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let (_, body) = json_of(response).await;
    assert_eq!(body["error"]["code"], "rate_limited");

    // Other accounts are not affected.
    let other = app
        .post_json(LOGIN, &credentials("gus@example.com", "a wrong password"))
        .await;
    assert_eq!(other.status(), 401);
}

#[tokio::test]
async fn creating_a_staff_account_is_in_the_event_log_without_the_password() {
    let app = TestApp::spawn().await;
    let id = app.create_staff("Hal@Example.com", STAFF_PASSWORD).await;

    let events = app
        .db
        .event_store()
        .read_stream(&format!("staff-{id}"), 1, 10)
        .await
        .expect("read the staff stream");
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.event_type, "StaffAccountCreated");
    assert_eq!(
        event.payload,
        json!({"staff_id": id, "email": "hal@example.com"})
    );
    assert_eq!(event.metadata.actor, Actor::System);
}

#[tokio::test]
async fn the_staff_cli_creates_lists_and_refuses_duplicates_and_short_passwords() {
    let app = TestApp::spawn().await;
    let mut settings = Settings::from_env();
    settings.database_url = app.db.url.clone();
    let run = |command: StaffCommand| {
        let settings = settings.clone();
        async move {
            let mut out = Vec::new();
            command
                .run(&settings, &mut out)
                .await
                .map(|()| String::from_utf8(out).expect("UTF-8 output"))
        }
    };
    let create = |email: &str, password: &str| StaffCommand::Create {
        email: email.into(),
        password: Some(password.into()),
    };

    let printed = run(create("ivy@example.com", STAFF_PASSWORD))
        .await
        .expect("staff create succeeds");
    let id: Uuid = printed
        .trim()
        .parse()
        .expect("staff create prints the new id");

    let duplicate = run(create("IVY@example.com", "another long password"))
        .await
        .expect_err("a duplicate email is refused");
    assert_eq!(
        duplicate.to_string(),
        "a staff account with email ivy@example.com already exists"
    );
    let short = run(create("jo@example.com", "short"))
        .await
        .expect_err("a short password is refused");
    assert!(
        short.to_string().contains("at least 12 characters"),
        "{short}"
    );
    let invalid = run(create("not-an-email", STAFF_PASSWORD))
        .await
        .expect_err("an invalid email is refused");
    assert!(invalid.to_string().contains('@'), "{invalid}");

    let listed = run(StaffCommand::List).await.expect("staff list succeeds");
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(
        listed.starts_with(&format!("{id}\tivy@example.com\t")),
        "{listed}"
    );

    // The account works on the API.
    let token = app.login("ivy@example.com", STAFF_PASSWORD).await;
    assert_eq!(app.get_auth(ME, &token).await.status(), 200);
}
