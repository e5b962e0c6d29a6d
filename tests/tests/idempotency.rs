//! `Idempotency-Key` over HTTP: a retry by the same staff member is replayed and appends nothing;
//! the key is the caller's, checked after authentication (another staff member's command runs,
//! a 401 is never kept); another body is 422, a key whose first request still runs is 409; only
//! what the command decided is kept, and nothing secret (a login's token, an invitation's token).
//! Expired keys are swept in the background.

use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tenantry_api::http::auth::TokenKeys;
use tenantry_tests::{STAFF_PASSWORD, TestApp, TestDb};
use uuid::Uuid;

const TENANTS: &str = "/platform/api/tenants";
const SECRET: &str = "a-test-signing-secret-of-more-than-32-bytes";

/// An answer as the client sees it.
struct Answer {
    status: StatusCode,
    replayed: bool,
    body: Value,
}

/// `POST path` with `body` as its exact bytes, `Idempotency-Key: key` and, if given, a token.
async fn post(app: &TestApp, path: &str, key: &str, body: &str, token: Option<&str>) -> Answer {
    let mut request = app
        .client
        .post(app.url(path))
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the request failed");
    Answer {
        status: response.status(),
        replayed: response
            .headers()
            .get("idempotent-replayed")
            .is_some_and(|v| v == "true"),
        body: response.json().await.unwrap_or(Value::Null),
    }
}

async fn event_count(app: &TestApp) -> i64 {
    tenantry_tests::event_log::event_count(&*app.store).await as i64
}

async fn key_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM idempotency_keys")
        .fetch_one(&app.db.pool)
        .await
        .expect("count keys")
}

/// How many kept rows hold `text` anywhere: in a response body or header, or as a key.
async fn rows_holding(app: &TestApp, text: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM idempotency_keys \
          WHERE position(convert_to($1, 'UTF8') IN coalesce(response_body, ''::bytea)) > 0 \
             OR coalesce(response_headers::text, '') LIKE '%' || $1 || '%' \
             OR key LIKE '%' || $1 || '%' OR caller LIKE '%' || $1 || '%'",
    )
    .bind(text)
    .fetch_one(&app.db.pool)
    .await
    .expect("search keys")
}

/// A staff account: its id and a token.
async fn staff(app: &TestApp) -> (Uuid, String) {
    let email = format!("staff-{}@example.com", Uuid::new_v4().simple());
    let id = app.create_staff(&email, STAFF_PASSWORD).await;
    (id, app.login(&email, STAFF_PASSWORD).await)
}

#[tokio::test]
async fn a_retry_by_the_same_caller_is_replayed_and_appends_nothing() {
    let app = TestApp::spawn().await;
    let (id, token) = staff(&app).await;
    let body = r#"{"name": "Once Only"}"#;
    let first = post(&app, TENANTS, "retry-1", body, Some(&token)).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert!(!first.replayed);
    let events = event_count(&app).await;

    for _ in 0..2 {
        let again = post(&app, TENANTS, "retry-1", body, Some(&token)).await;
        assert_eq!(again.status, StatusCode::CREATED);
        assert!(again.replayed, "the retry is a replay");
        assert_eq!(again.body, first.body, "the same answer");
    }
    assert_eq!(
        event_count(&app).await,
        events,
        "the retries appended nothing"
    );

    // Whose, for which method and path; and only a hash of the request, not its body.
    let (caller, scope, hash): (String, String, Vec<u8>) =
        sqlx::query_as("SELECT caller, scope, request_hash FROM idempotency_keys")
            .fetch_one(&app.db.pool)
            .await
            .expect("one key");
    assert_eq!(caller, format!("staff:{id}"));
    assert_eq!(scope, "POST /platform/api/tenants");
    assert_eq!(hash, Sha256::digest(body.as_bytes()).to_vec());
}

#[tokio::test]
async fn another_staff_members_key_is_not_replayed_their_command_runs() {
    let app = TestApp::spawn().await;
    let (_, ana) = staff(&app).await;
    let (_, bia) = staff(&app).await;
    let body = r#"{"name": "Shared Key"}"#;
    let first = post(&app, TENANTS, "same-key", body, Some(&ana)).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);

    // Bia's request with Ana's key runs as Bia's own: the slug is Ana's tenant's by now.
    let theirs = post(&app, TENANTS, "same-key", body, Some(&bia)).await;
    assert!(!theirs.replayed, "{}", theirs.body);
    assert_eq!(theirs.status, StatusCode::CONFLICT, "{}", theirs.body);
    assert_eq!(theirs.body["error"]["code"], "slug_taken");

    // …and with another name, under the same key, it creates Bia's tenant.
    let other = r#"{"name": "Bia's Own"}"#;
    let own = post(&app, TENANTS, "bia-key", other, Some(&bia)).await;
    assert_eq!(own.status, StatusCode::CREATED);
    let ana_again = post(&app, TENANTS, "bia-key", other, Some(&ana)).await;
    assert!(!ana_again.replayed, "Bia's key is not Ana's");
    assert_eq!(ana_again.status, StatusCode::CONFLICT, "{}", ana_again.body);

    // What the domain decided for Bia is kept for Bia's retry.
    let retry = post(&app, TENANTS, "same-key", body, Some(&bia)).await;
    assert!(retry.replayed);
    assert_eq!(retry.status, StatusCode::CONFLICT);
    assert_eq!(retry.body, theirs.body);
}

#[tokio::test]
async fn a_key_reused_with_another_body_is_422() {
    let app = TestApp::spawn().await;
    let (_, token) = staff(&app).await;
    let first = post(
        &app,
        TENANTS,
        "k",
        r#"{"name": "First Body"}"#,
        Some(&token),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let events = event_count(&app).await;

    let other = post(
        &app,
        TENANTS,
        "k",
        r#"{"name": "Other Body"}"#,
        Some(&token),
    )
    .await;
    assert_eq!(
        other.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        other.body
    );
    assert_eq!(other.body["error"]["code"], "idempotency_key_reused");
    assert_eq!(other.body["error"]["field"], "Idempotency-Key");
    assert!(!other.replayed);
    assert_eq!(event_count(&app).await, events);
}

#[tokio::test]
async fn a_key_whose_first_request_still_runs_is_409_until_its_lease_runs_out() {
    let app = TestApp::spawn().await;
    let (id, token) = staff(&app).await;
    let body = r#"{"name": "In Flight"}"#;
    // The first request with the key is running: it holds the key, with no answer yet.
    sqlx::query(
        "INSERT INTO idempotency_keys \
           (caller, scope, key, request_hash, claim, locked_until, expires_at) \
         VALUES ($1, $2, 'busy', $3, $4, now() + interval '1 minute', now() + interval '1 day')",
    )
    .bind(format!("staff:{id}"))
    .bind(format!("POST {TENANTS}"))
    .bind(Sha256::digest(body.as_bytes()).to_vec())
    .bind(Uuid::now_v7())
    .execute(&app.db.pool)
    .await
    .expect("hold the key");
    let events = event_count(&app).await;

    let second = post(&app, TENANTS, "busy", body, Some(&token)).await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{}", second.body);
    assert_eq!(second.body["error"]["code"], "idempotency_key_in_progress");
    let other = post(&app, TENANTS, "busy", r#"{"name": "Else"}"#, Some(&token)).await;
    assert_eq!(
        other.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        other.body
    );
    assert_eq!(event_count(&app).await, events, "neither ran");

    // The first request crashed: once its lease has run out, a retry runs.
    sqlx::query("UPDATE idempotency_keys SET locked_until = now() - interval '1 second'")
        .execute(&app.db.pool)
        .await
        .expect("end the lease");
    let retry = post(&app, TENANTS, "busy", body, Some(&token)).await;
    assert_eq!(retry.status, StatusCode::CREATED, "{}", retry.body);
    assert!(!retry.replayed);
    let replay = post(&app, TENANTS, "busy", body, Some(&token)).await;
    assert!(replay.replayed);
    assert_eq!(replay.body, retry.body);
}

#[tokio::test]
async fn a_login_with_a_key_stores_nothing() {
    let app = TestApp::spawn().await;
    let email = "login-key@example.com";
    let (_, other_token) = staff(&app).await;
    app.create_staff(email, STAFF_PASSWORD).await;
    let credentials = json!({"email": email, "password": STAFF_PASSWORD}).to_string();

    // Without a token, and with one (a caller a key could be scoped to): neither is kept.
    for token in [None, Some(other_token.as_str())] {
        for _ in 0..2 {
            let login = post(
                &app,
                "/platform/api/auth/login",
                "login",
                &credentials,
                token,
            )
            .await;
            assert_eq!(login.status, StatusCode::OK, "{}", login.body);
            assert!(!login.replayed, "every login is its own");
            let jwt = login.body["access_token"].as_str().expect("a token");
            assert_eq!(rows_holding(&app, jwt).await, 0, "the token is nowhere");
        }
    }
    assert_eq!(key_rows(&app).await, 0, "no key was kept");
    let refused = json!({"email": email, "password": "wrong password"}).to_string();
    let refused = post(&app, "/platform/api/auth/login", "l2", &refused, None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(key_rows(&app).await, 0);
}

#[tokio::test]
async fn a_401_is_not_kept_the_key_works_once_logged_in_again() {
    let db = TestDb::new().await;
    let app = TestApp::spawn_with(db, |s| s.jwt_secret = Some(SECRET.into())).await;
    let email = "relogin@example.com";
    let id = app.create_staff(email, STAFF_PASSWORD).await;
    let expired = TokenKeys::from_secret(SECRET.as_bytes())
        .issue(
            id,
            email,
            Utc::now() - chrono::Duration::hours(2),
            Duration::from_secs(900),
        )
        .expect("issue a token");
    let body = r#"{"name": "After Relogin"}"#;

    for token in [Some(expired.token.as_str()), Some("not-a-jwt"), None] {
        let refused = post(&app, TENANTS, "relogin", body, token).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    }
    assert_eq!(key_rows(&app).await, 0, "a 401 takes no key");

    let token = app.login(email, STAFF_PASSWORD).await;
    let created = post(&app, TENANTS, "relogin", body, Some(&token)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert!(!created.replayed, "not the 401 again");
}

#[tokio::test]
async fn malformed_input_is_not_kept_a_corrected_retry_runs() {
    let app = TestApp::spawn().await;
    let (_, token) = staff(&app).await;
    let broken = post(&app, TENANTS, "fix-me", r#"{"name": "#, Some(&token)).await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST, "{}", broken.body);
    let unknown = post(&app, TENANTS, "fix-me", r#"{"nome": "X"}"#, Some(&token)).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.body);
    assert_eq!(key_rows(&app).await, 0);

    let fixed = post(
        &app,
        TENANTS,
        "fix-me",
        r#"{"name": "Fixed"}"#,
        Some(&token),
    )
    .await;
    assert_eq!(fixed.status, StatusCode::CREATED, "{}", fixed.body);
    assert!(!fixed.replayed);
}

#[tokio::test]
async fn a_one_shot_replay_does_not_keep_the_invitation_token() {
    let app = TestApp::spawn().await;
    let (_, token) = staff(&app).await;
    let body = r#"{"name": "Token Once", "admin_email": "ana@example.com"}"#;
    let first = post(
        &app,
        "/api/tenants/provision",
        "one-shot",
        body,
        Some(&token),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let invitation = first.body["admin_invitation"]["token"]
        .as_str()
        .expect("the token, shown once");
    assert_eq!(
        rows_holding(&app, invitation).await,
        0,
        "the token is not kept"
    );

    let again = post(
        &app,
        "/api/tenants/provision",
        "one-shot",
        body,
        Some(&token),
    )
    .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert!(again.replayed);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.body["admin_invitation"]["email"], "ana@example.com");
    assert!(again.body["admin_invitation"].get("token").is_none());
    let mut without_token = first.body.clone();
    without_token["admin_invitation"]
        .as_object_mut()
        .expect("an object")
        .remove("token");
    assert_eq!(
        again.body, without_token,
        "the rest of the answer is the same"
    );
}

#[tokio::test]
async fn expired_keys_are_swept_in_the_background() {
    let db = TestDb::new().await;
    for (key, expires) in [("old", "-1 minute"), ("young", "1 day")] {
        sqlx::query(
            "INSERT INTO idempotency_keys \
               (caller, scope, key, request_hash, claim, locked_until, status, response_body, \
                expires_at) \
             VALUES ('staff:x', 'POST /x', $1, '', $2, now(), 201, '', now() + $3::interval)",
        )
        .bind(key)
        .bind(Uuid::now_v7())
        .bind(expires)
        .execute(&db.pool)
        .await
        .expect("a kept key");
    }
    let app = TestApp::spawn_with(db, |_| {}).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let keys: Vec<String> = sqlx::query_scalar("SELECT key FROM idempotency_keys")
            .fetch_all(&app.db.pool)
            .await
            .expect("keys");
        if keys == ["young"] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never swept: {keys:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
