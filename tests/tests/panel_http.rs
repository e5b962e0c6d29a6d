//! The admin panel over plain HTTP (no browser): the session cookie's flags, CSRF refusals, the
//! Content-Security-Policy, and the way back to the login page (with `?next=`) when there is no
//! session or it is over.

use std::time::Duration;

use chrono::Utc;
use reqwest::header::{CONTENT_SECURITY_POLICY, COOKIE, HOST, LOCATION, SET_COOKIE};
use reqwest::{Response, StatusCode};
use tenantry_api::http::auth::TokenKeys;
use tenantry_tests::{STAFF_PASSWORD, TestApp, TestDb};

const SECRET: &str = "a-test-signing-secret-of-more-than-32-bytes";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

/// The `Set-Cookie` values of a response.
fn set_cookies(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ASCII").to_owned())
        .collect()
}

/// The `Set-Cookie` value that sets cookie `name`.
fn set_cookie(response: &Response, name: &str) -> String {
    set_cookies(response)
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no Set-Cookie for {name}: {:?}", set_cookies(response)))
}

fn value_of(set_cookie: &str) -> String {
    let first = set_cookie.split(';').next().expect("a cookie");
    first.split_once('=').expect("name=value").1.to_owned()
}

/// The hidden `csrf` field of a page's first form.
fn csrf_field(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').expect("the end of the value")].to_owned()
}

/// Logs in through the panel's form as `email` (addressed to `host`, when given); returns the
/// login response.
async fn log_in(app: &TestApp, email: &str, host: Option<&str>, next: &str) -> Response {
    let client = client();
    let with_host = |r: reqwest::RequestBuilder| match host {
        Some(h) => r.header(HOST, h),
        None => r,
    };
    let page = with_host(client.get(app.url("/login")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let name = if host.is_some() {
        "__Host-tenantry_login"
    } else {
        "tenantry_login"
    };
    let login_cookie = value_of(&set_cookie(&page, name));
    let csrf = csrf_field(&page.text().await.unwrap());
    with_host(client.post(app.url("/login")))
        .header(COOKIE, format!("{name}={login_cookie}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", email),
            ("password", STAFF_PASSWORD),
            ("next", next),
        ])
        .send()
        .await
        .unwrap()
}

async fn session_of(app: &TestApp) -> String {
    let email = format!("panel-{}@example.com", uuid::Uuid::new_v4().simple());
    app.create_staff(&email, STAFF_PASSWORD).await;
    let response = log_in(app, &email, None, "/").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    value_of(&set_cookie(&response, "tenantry_session"))
}

async fn get_with(app: &TestApp, path: &str, session: &str) -> Response {
    client()
        .get(app.url(path))
        .header(COOKIE, format!("tenantry_session={session}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_session_cookie_is_http_only_strict_and_secure_outside_localhost() {
    let app = TestApp::spawn().await;
    app.create_staff("ops@example.com", STAFF_PASSWORD).await;

    let local = log_in(&app, "ops@example.com", None, "/tenants/new").await;
    assert_eq!(local.status(), StatusCode::SEE_OTHER);
    assert_eq!(local.headers()[LOCATION], "/tenants/new", "back to `next`");
    let cookie = set_cookie(&local, "tenantry_session");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "no Secure on localhost: {cookie}"
    );

    let remote = log_in(&app, "ops@example.com", Some("admin.example.com"), "/").await;
    assert_eq!(remote.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookie(&remote, "__Host-tenantry_session");
    for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} missing: {cookie}");
    }

    // The session works, and a wrong password is refused with the API's message.
    let session = value_of(&set_cookie(&local, "tenantry_session"));
    let page = get_with(&app, "/", &session).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("ops@example.com"));
    let client = client();
    let login_page = client.get(app.url("/login")).send().await.unwrap();
    let login_cookie = value_of(&set_cookie(&login_page, "tenantry_login"));
    let csrf = csrf_field(&login_page.text().await.unwrap());
    let wrong = client
        .post(app.url("/login"))
        .header(COOKIE, format!("tenantry_login={login_cookie}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "ops@example.com"),
            ("password", "not the password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(
        set_cookies(&wrong)
            .iter()
            .all(|c| !c.starts_with("tenantry_session"))
    );
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("invalid email or password")
    );
}

#[tokio::test]
async fn forms_without_their_csrf_token_are_refused() {
    let app = TestApp::spawn().await;
    app.create_staff("ops@example.com", STAFF_PASSWORD).await;
    let client = client();

    // The login form: a token that is not the cookie's.
    let page = client.get(app.url("/login")).send().await.unwrap();
    let login_cookie = value_of(&set_cookie(&page, "tenantry_login"));
    let forged = client
        .post(app.url("/login"))
        .header(COOKIE, format!("tenantry_login={login_cookie}"))
        .form(&[
            ("csrf", "not-the-token"),
            ("email", "ops@example.com"),
            ("password", STAFF_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(
        set_cookies(&forged)
            .iter()
            .all(|c| !c.starts_with("tenantry_session"))
    );

    // Nova Empresa with a session but a wrong token: refused, and no tenant made.
    let session = session_of(&app).await;
    let create = client
        .post(app.url("/tenants/new"))
        .header(COOKIE, format!("tenantry_session={session}"))
        .form(&[
            ("csrf", "wrong"),
            ("name", "Forged Corp"),
            ("admin_email", "admin@forged.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(create.status(), 403);
    let token = app.staff_token().await;
    let list: serde_json::Value = app
        .get_auth("/platform/api/tenants", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");

    // Logout without the token: refused, and the session still works.
    let logout = client
        .post(app.url("/logout"))
        .header(COOKIE, format!("tenantry_session={session}"))
        .form(&[("csrf", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 403);
    assert_eq!(get_with(&app, "/", &session).await.status(), 200);

    // With the page's token, both work.
    let form = get_with(&app, "/tenants/new", &session)
        .await
        .text()
        .await
        .unwrap();
    let csrf = csrf_field(&form);
    let create = client
        .post(app.url("/tenants/new"))
        .header(COOKIE, format!("tenantry_session={session}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Real Corp"),
            ("plan", "basic"),
            ("admin_email", "admin@real.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(create.status(), StatusCode::SEE_OTHER);
    assert!(
        create.headers()[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/tenants/")
    );
    let logout = client
        .post(app.url("/logout"))
        .header(COOKIE, format!("tenantry_session={session}"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    // The logged-out session is revoked: back to the login page.
    let after = get_with(&app, "/", &session).await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert_eq!(after.headers()[LOCATION], "/login?next=%2F&expired=1");
}

#[tokio::test]
async fn every_page_has_a_csp_without_inline_script() {
    let app = TestApp::spawn().await;
    let session = session_of(&app).await;
    for path in ["/login", "/", "/tenants/new", "/static/panel.js"] {
        let response = get_with(&app, path, &session).await;
        assert_eq!(response.status(), 200, "{path}");
        let csp = response.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-eval"), "{path}: {csp}");
        let body = response.text().await.unwrap();
        if path.starts_with("/static") {
            continue;
        }
        // The one script is external; no handler attributes.
        assert_eq!(body.matches("<script").count(), 1, "{path}");
        assert!(body.contains("<script src=\"/static/panel.js\" defer></script>"));
        for handler in [
            " onclick=",
            " onload=",
            " onsubmit=",
            " onchange=",
            " oninput=",
        ] {
            assert!(!body.contains(handler), "{path} has {handler}");
        }
    }
    // The API keeps its own answers (no panel headers on JSON).
    let health = app.get("/healthz").await;
    assert!(health.headers().get(CONTENT_SECURITY_POLICY).is_none());
}

#[tokio::test]
async fn no_or_expired_session_sends_to_the_login_page_with_next() {
    let db = TestDb::new().await;
    let app = TestApp::spawn_with(db, |s| s.jwt_secret = Some(SECRET.into())).await;
    let none = client()
        .get(app.url("/tenants/new?x=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        none.headers()[LOCATION],
        "/login?next=%2Ftenants%2Fnew%3Fx%3D1"
    );

    let id = app.create_staff("ops@example.com", STAFF_PASSWORD).await;
    let expired = TokenKeys::from_secret(SECRET.as_bytes())
        .issue(
            id,
            "ops@example.com",
            Utc::now() - chrono::Duration::hours(2),
            Duration::from_secs(900),
        )
        .expect("a token");
    let over = get_with(&app, "/tenants/new", &expired.token).await;
    assert_eq!(over.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        over.headers()[LOCATION],
        "/login?next=%2Ftenants%2Fnew&expired=1"
    );
    // The login page says why, and carries `next` into its form.
    let login = client()
        .get(app.url("/login?next=%2Ftenants%2Fnew&expired=1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login.contains("Your session has expired"), "{login}");
    assert!(login.contains("name=\"next\" value=\"/tenants/new\""));
    // A `next` to another site is not followed.
    let evil = log_in(&app, "ops@example.com", None, "//evil.example/").await;
    assert_eq!(evil.headers()[LOCATION], "/");
    // The live streams answer 401 (their page reloads to the login page).
    let live = get_with(&app, "/tenants/live", &expired.token).await;
    assert_eq!(live.status(), 401);
}

#[tokio::test]
async fn the_language_follows_accept_language_and_the_switch() {
    let app = TestApp::spawn().await;
    let pt = client()
        .get(app.url("/login"))
        .header("accept-language", "pt-BR,pt;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        pt.contains("<html lang=\"pt-BR\">") && pt.contains("Senha"),
        "{pt}"
    );
    let switch = client()
        .get(app.url("/lang/en?next=%2Flogin"))
        .send()
        .await
        .unwrap();
    assert_eq!(switch.headers()[LOCATION], "/login");
    let lang = value_of(&set_cookie(&switch, "tenantry_lang"));
    let en = client()
        .get(app.url("/login"))
        .header("accept-language", "pt-BR")
        .header(COOKIE, format!("tenantry_lang={lang}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("<html lang=\"en\">") && en.contains("Password"));
}

#[tokio::test]
async fn a_live_stream_ends_by_itself_and_tells_the_browser_to_reconnect() {
    // Open pages must not hold a stopping server's graceful shutdown for ever: each stream ends
    // after 25 s, and the browser reconnects (EventSource) half a second later.
    let app = TestApp::spawn().await;
    let session = session_of(&app).await;
    let started = std::time::Instant::now();
    let response = get_with(&app, "/tenants/live", &session).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let body = tokio::time::timeout(Duration::from_secs(60), response.text())
        .await
        .expect("the stream did not end within a minute")
        .expect("the stream's body");
    assert!(body.starts_with("retry: 500"), "{body:?}");
    assert!(started.elapsed() >= Duration::from_secs(20), "ended early");
}
