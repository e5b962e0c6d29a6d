//! The admin panel over plain HTTP (no browser): the session cookie's flags, CSRF refusals, the
//! Content-Security-Policy, and the way back to the login page (with `?next=`) when there is no
//! session or it is over.

use std::time::Duration;

use chrono::Utc;
use reqwest::header::{CONTENT_SECURITY_POLICY, COOKIE, HOST, LOCATION, SET_COOKIE};
use reqwest::{Response, StatusCode};
use tenantry_api::http::auth::TokenKeys;
use tenantry_domain::TenantStatus;
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
    for path in [
        "/login",
        "/",
        "/tenants/new",
        "/overview",
        "/audit",
        "/static/panel.js",
    ] {
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

/// The value of attribute `name` in the HTML tag `tag` (the tag's text, up to its `>`).
fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    let rest = &tag[at..];
    Some(rest[..rest.find('"')?].replace("&amp;", "&"))
}

/// One row of the audit page's entries, from its attributes.
#[derive(Debug, Clone)]
struct Entry {
    position: u64,
    event_type: String,
    correlation: String,
    actor: String,
    tenant: Option<String>,
}

/// The audit entries a page lists (`#audit-entries`), in the page's order.
fn entries(html: &str) -> Vec<Entry> {
    let Some(start) = html.find("id=\"audit-entries\"") else {
        return Vec::new();
    };
    let table = &html[start
        ..html[start..]
            .find("</table>")
            .map_or(html.len(), |e| start + e)];
    table
        .match_indices("<tr data-position=")
        .map(|(at, _)| {
            let tag = &table[at..at + table[at..].find('>').expect("the end of the tag")];
            Entry {
                position: attr(tag, "data-position").unwrap().parse().unwrap(),
                event_type: attr(tag, "data-event-type").unwrap(),
                correlation: attr(tag, "data-correlation").unwrap(),
                actor: attr(tag, "data-actor").unwrap(),
                tenant: attr(tag, "data-tenant"),
            }
        })
        .collect()
}

/// The `href` of the element with id `id`, if the page has it.
fn href_of(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let open = html[..at].rfind('<')?;
    let tag = &html[open..at + html[at..].find('>')?];
    attr(tag, "href")
}

/// The text inside the element with id `id` (tags left in), if the page has it.
fn inner_of(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let from = at + html[at..].find('>')? + 1;
    let open = html[..at].rfind('<')?;
    let name: String = html[open + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let to = from + html[from..].find(&format!("</{name}>"))?;
    Some(html[from..to].to_owned())
}

async fn text_of_page(app: &TestApp, path: &str, session: &str) -> (StatusCode, String) {
    let response = get_with(app, path, session).await;
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// Polls the page `path` until `ready` holds for its HTML (the read models catch up), or fails.
async fn page_when(
    app: &TestApp,
    path: &str,
    session: &str,
    ready: impl Fn(&str) -> bool,
) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, html) = text_of_page(app, path, session).await;
        if status == 200 && ready(&html) {
            return html;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{path} never became ready ({status}): {html}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Renames tenant `id` through the API.
async fn rename(app: &TestApp, id: tenantry_domain::TenantId, name: &str, token: &str) {
    let response = app
        .patch_json_auth(
            &format!("/platform/api/tenants/{id}"),
            &serde_json::json!({ "name": name }),
            token,
        )
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn the_audit_page_filters_pages_and_links_each_entry_to_its_tenant_and_request() {
    let app = TestApp::spawn().await;
    let session = session_of(&app).await;
    let first = format!("audit-a-{}@example.com", uuid::Uuid::new_v4().simple());
    let second = format!("audit-b-{}@example.com", uuid::Uuid::new_v4().simple());
    app.create_staff(&first, STAFF_PASSWORD).await;
    app.create_staff(&second, STAFF_PASSWORD).await;
    let token_a = app.login(&first, STAFF_PASSWORD).await;
    let token_b = app.login(&second, STAFF_PASSWORD).await;
    let alpha = app
        .create_tenant(
            &serde_json::json!({"name": "Audit Alpha", "slug": "audit-alpha"}),
            &token_a,
        )
        .await;
    rename(&app, alpha, "Audit Alpha Renamed", &token_a).await;
    rename(&app, alpha, "Audit Alpha Again", &token_a).await;
    let beta = app
        .create_tenant(
            &serde_json::json!({"name": "Audit Beta", "slug": "audit-beta"}),
            &token_b,
        )
        .await;

    // The form: a GET form with a label for each filter.
    let all = page_when(&app, "/audit", &session, |html| {
        entries(html).iter().any(|e| {
            e.tenant.as_deref() == Some(&beta.to_string()) && e.event_type == "TenantCreated"
        })
    })
    .await;
    assert!(
        all.contains("method=\"get\" action=\"/audit\""),
        "a GET form"
    );
    for (id, name) in [
        ("f-tenant", "tenant"),
        ("f-actor", "actor"),
        ("f-event-type", "event_type"),
        ("f-from", "from"),
        ("f-to", "to"),
        ("f-correlation", "correlation"),
    ] {
        assert!(all.contains(&format!("<label for=\"{id}\">")), "{id}");
        assert!(
            all.contains(&format!("id=\"{id}\" name=\"{name}\""))
                || all.contains(&format!(
                    "id=\"{id}\" type=\"datetime-local\" step=\"1\" name=\"{name}\""
                )),
            "{id} is the field {name}"
        );
    }
    // Newest first.
    let positions: Vec<u64> = entries(&all).iter().map(|e| e.position).collect();
    assert!(positions.windows(2).all(|w| w[0] > w[1]), "{positions:?}");

    // By tenant (its slug, or its id): only its events, each linking to its page.
    let by_slug = page_when(&app, "/audit?tenant=audit-alpha", &session, |html| {
        entries(html)
            .iter()
            .filter(|e| e.event_type == "TenantRenamed")
            .count()
            == 2
    })
    .await;
    let of_alpha = entries(&by_slug);
    assert!(of_alpha.iter().any(|e| e.event_type == "TenantCreated"));
    assert!(
        of_alpha
            .iter()
            .all(|e| e.tenant.as_deref() == Some(&alpha.to_string())),
        "{of_alpha:?}"
    );
    assert!(by_slug.contains(&format!("href=\"/tenants/{alpha}\"")));
    assert!(!by_slug.contains(&format!("href=\"/tenants/{beta}\"")));
    let (_, by_id) = text_of_page(&app, &format!("/audit?tenant={alpha}"), &session).await;
    assert_eq!(entries(&by_id).len(), of_alpha.len(), "by id as by slug");

    // By event type, and by actor.
    let (_, renamed) = text_of_page(
        &app,
        "/audit?tenant=audit-alpha&event_type=TenantRenamed",
        &session,
    )
    .await;
    let renamed = entries(&renamed);
    assert_eq!(renamed.len(), 2, "{renamed:?}");
    assert!(renamed.iter().all(|e| e.event_type == "TenantRenamed"));
    let (_, by_actor) = text_of_page(
        &app,
        &format!("/audit?actor=staff:{}", encode(&second)),
        &session,
    )
    .await;
    let by_actor = entries(&by_actor);
    assert!(!by_actor.is_empty());
    assert!(
        by_actor
            .iter()
            .all(|e| e.actor == format!("staff:{second}")),
        "{by_actor:?}"
    );
    assert!(
        by_actor
            .iter()
            .all(|e| e.tenant.as_deref() != Some(&alpha.to_string()))
    );

    // A time range: after now, nothing; from before the tenant, its events; until before it,
    // none of them.
    let later = (Utc::now() + chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M");
    let (status, none) = text_of_page(
        &app,
        &format!("/audit?tenant=audit-alpha&from={later}"),
        &session,
    )
    .await;
    assert_eq!(status, 200);
    assert!(entries(&none).is_empty() && none.contains("id=\"no-entries\""));
    assert!(
        none.contains(&format!("value=\"{later}:00\"")),
        "the from field keeps its value"
    );
    let earlier = (Utc::now() - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%S");
    let (_, since) = text_of_page(
        &app,
        &format!("/audit?tenant=audit-alpha&from={earlier}"),
        &session,
    )
    .await;
    assert_eq!(entries(&since).len(), of_alpha.len());
    let (_, until) = text_of_page(
        &app,
        &format!("/audit?tenant=audit-alpha&to={earlier}"),
        &session,
    )
    .await;
    assert!(entries(&until).is_empty());

    // Keyset pages: one entry a page, older each time, every entry once, the filters kept.
    let mut seen = Vec::new();
    let mut path = "/audit?tenant=audit-alpha&limit=1".to_owned();
    for page in 0.. {
        assert!(page < 50, "no end to the pages");
        let (status, html) = text_of_page(&app, &path, &session).await;
        assert_eq!(status, 200, "{path}");
        let on_page = entries(&html);
        assert_eq!(on_page.len(), 1, "{path}");
        seen.push(on_page[0].position);
        if page > 0 {
            assert!(href_of(&html, "first-page").is_some(), "a way back");
        }
        match href_of(&html, "next-page") {
            Some(next) => {
                assert!(next.contains("tenant=audit-alpha") && next.contains("limit=1"));
                path = next;
            }
            None => break,
        }
    }
    let expected: Vec<u64> = of_alpha.iter().map(|e| e.position).collect();
    assert_eq!(seen, expected, "the pages, in order, are the whole listing");

    // Each entry links its request's other events: the correlation's entries, and only those.
    let rename_entry = &renamed[0];
    let link = format!("/audit?correlation={}", rename_entry.correlation);
    assert!(by_slug.contains(&format!("href=\"{link}\"")), "{link}");
    let (_, request) = text_of_page(&app, &link, &session).await;
    let request = entries(&request);
    assert!(request.iter().any(|e| e.position == rename_entry.position));
    assert!(
        request
            .iter()
            .all(|e| e.correlation == rename_entry.correlation),
        "{request:?}"
    );
    let creation = of_alpha
        .iter()
        .find(|e| e.event_type == "TenantCreated")
        .unwrap();
    assert!(
        request.iter().all(|e| e.position != creation.position),
        "another request's event"
    );

    // Wrong filters say which field and why, and list nothing.
    for (query, field) in [
        ("from=yesterday", "from:"),
        ("to=2026-13-45T99:00", "to:"),
        ("correlation=not-a-uuid", "correlation:"),
        ("tenant=no-such-tenant-here", "tenant:"),
        ("event_type=NoSuchEvent", "event_type:"),
        ("limit=0", "limit:"),
    ] {
        let (status, html) = text_of_page(&app, &format!("/audit?{query}"), &session).await;
        assert_eq!(status, 422, "{query}");
        let error = inner_of(&html, "audit-error").unwrap_or_default();
        assert!(error.contains(field), "{query}: {error}");
        assert!(entries(&html).is_empty(), "{query} listed entries");
    }
    let (status, html) = text_of_page(&app, "/audit?after=garbage", &session).await;
    assert_eq!(status, 400);
    assert!(inner_of(&html, "audit-error").unwrap().contains("after:"));

    // The tenant page's history links each event to its request's page on the tenant, which
    // lists that request's entries.
    let tenant_page = page_when(&app, &format!("/tenants/{alpha}"), &session, |html| {
        html.contains("Audit Alpha Again")
    })
    .await;
    let request_page = format!("/tenants/{alpha}/requests/{}", rename_entry.correlation);
    assert!(
        tenant_page.contains(&format!("href=\"{request_page}\"")),
        "the history links {request_page}"
    );
    let (status, html) = text_of_page(&app, &request_page, &session).await;
    assert_eq!(status, 200);
    let listed = entries(&html);
    assert!(!listed.is_empty());
    assert!(
        listed
            .iter()
            .all(|e| e.correlation == rename_entry.correlation)
    );
    assert!(listed.iter().any(|e| e.position == rename_entry.position));
    assert_eq!(
        href_of(&html, "back-to-tenant").as_deref(),
        Some(format!("/tenants/{alpha}").as_str())
    );
    assert_eq!(href_of(&html, "request-in-audit"), Some(link));
    let (status, _) = text_of_page(
        &app,
        &format!("/tenants/{alpha}/requests/not-a-uuid"),
        &session,
    )
    .await;
    assert_eq!(status, 404);
}

fn encode(text: &str) -> String {
    text.replace('@', "%40").replace('+', "%2B")
}

#[tokio::test]
async fn state_at_this_point_shows_the_tenant_as_it_was_at_a_version() {
    let app = TestApp::spawn().await;
    let session = session_of(&app).await;
    let token = app.staff_token().await;
    let id = app
        .create_tenant(&serde_json::json!({"name": "Nome Antigo"}), &token)
        .await;
    rename(&app, id, "Nome Novo", &token).await;
    let path = format!("/tenants/{id}");
    let now = page_when(&app, &path, &session, |html| html.contains("Nome Novo")).await;
    assert!(!now.contains("id=\"state\""), "no past state without ?at=");
    // The history links each version to its state.
    for version in [1, 2] {
        assert!(
            now.contains(&format!("href=\"{path}?at={version}#state\"")),
            "version {version}"
        );
    }

    // Version 1: the old name, as the events up to it say; the overview above still says now.
    let (status, then) = text_of_page(&app, &format!("{path}?at=1"), &session).await;
    assert_eq!(status, 200);
    assert_eq!(
        inner_of(&then, "state-name").as_deref(),
        Some("Nome Antigo")
    );
    assert_eq!(inner_of(&then, "state-version").as_deref(), Some("1"));
    assert!(
        inner_of(&then, "state-event")
            .unwrap()
            .contains("TenantCreated")
    );
    assert!(
        inner_of(&then, "state-status")
            .unwrap()
            .contains("data-status=\"pending\"")
    );
    assert!(then.contains("<h1>Nome Novo"), "the page's heading is now");
    assert!(then.contains("aria-current=\"true\""), "the version marked");
    assert_eq!(href_of(&then, "back-to-now"), Some(path.clone()));
    // Its live stream keeps the version marked.
    assert!(then.contains(&format!("data-live=\"{path}/live?at=1\"")));

    // Version 2: the rename.
    let (_, renamed) = text_of_page(&app, &format!("{path}?at=2"), &session).await;
    assert_eq!(
        inner_of(&renamed, "state-name").as_deref(),
        Some("Nome Novo")
    );
    assert!(
        inner_of(&renamed, "state-event")
            .unwrap()
            .contains("TenantRenamed")
    );

    // Past the end, or not a version: said so.
    let (_, beyond) = text_of_page(&app, &format!("{path}?at=99"), &session).await;
    let error = inner_of(&beyond, "state-error").expect("an error");
    assert!(error.contains("version 2"), "{error}");
    assert!(inner_of(&beyond, "state-name").is_none());
    let (_, bad) = text_of_page(&app, &format!("{path}?at=zero"), &session).await;
    assert!(inner_of(&bad, "state-error").unwrap().contains("at:"));
}

#[tokio::test]
async fn the_overview_counts_tenants_by_status_and_lists_the_last_days_failures() {
    // Every provisioning fails at the queue step, on its only try, and is rolled back.
    let app = TestApp::spawn_with(TestDb::new().await, |s| {
        s.run_sagas = true;
        s.faults = "queue:always".into();
        s.provisioning_max_tries = 1;
    })
    .await;
    let session = session_of(&app).await;
    let token = app.staff_token().await;
    let mut failing = Vec::new();
    for name in ["Vai Falhar", "Falha Também"] {
        let id = app
            .create_tenant(&serde_json::json!({ "name": name }), &token)
            .await;
        let provision = app
            .post_auth(&format!("/platform/api/tenants/{id}/provision"), &token)
            .await;
        assert_eq!(provision.status(), 202);
        failing.push(id);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    for id in &failing {
        while app.tenant_json(*id, &token).await["status"] != "failed" {
            assert!(std::time::Instant::now() < deadline, "never failed");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    let count = |html: &str, status: &str| -> Option<i64> {
        let at = html.find(&format!("<tr data-status=\"{status}\""))?;
        let rest = &html[at..];
        let cell = rest.find("data-count=\"")? + "data-count=\"".len();
        rest[cell..cell + rest[cell..].find('"')?].parse().ok()
    };
    let html = page_when(&app, "/overview", &session, |html| {
        count(html, "failed") == Some(2)
            && failing
                .iter()
                .all(|id| html.contains(&format!("href=\"/tenants/{id}\"")))
    })
    .await;
    // Every count is the API's list of that status.
    for status in TenantStatus::ALL.map(|s| s.as_str()) {
        let listed: serde_json::Value = app
            .get_auth(
                &format!("/platform/api/tenants?status={status}&limit=500"),
                &token,
            )
            .await
            .json()
            .await
            .unwrap();
        let listed = listed["items"].as_array().unwrap().len() as i64;
        assert_eq!(count(&html, status), Some(listed), "{status}");
    }
    assert_eq!(count(&html, "active"), Some(0));
    assert_eq!(inner_of(&html, "status-total").as_deref(), Some("2"));
    assert!(
        html.contains("href=\"/?status=failed\""),
        "a count links the table"
    );
    // Each failure lists its tenant, the failed step and its error, and its request.
    let failures = inner_of(&html, "failures").expect("the failures");
    assert!(
        failures.contains("Vai Falhar") && failures.contains("Falha Também"),
        "{failures}"
    );
    assert!(
        failures.contains("<code>queue</code>: injected failure"),
        "the failed step: {failures}"
    );
    assert_eq!(failures.matches("href=\"/audit?correlation=").count(), 2);
    assert!(
        href_of(&html, "failures-in-audit")
            .unwrap()
            .contains("event_type=ProvisioningRolledBack&from=")
    );
    // The audit page behind that link lists the same two.
    let (status, audit) = text_of_page(
        &app,
        &href_of(&html, "failures-in-audit").unwrap(),
        &session,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(entries(&audit).len(), 2);
    // No fake chart: a note that the KPIs come with Analytics.
    let note = inner_of(&html, "kpis-note").unwrap();
    assert!(
        note.contains("Analytics") && note.contains("not built yet"),
        "{note}"
    );
    assert!(!html.contains("<canvas") && !html.contains("<svg"));
    assert!(
        html.contains("href=\"/overview\" aria-current=\"page\""),
        "in the nav"
    );

    // In Portuguese.
    let pt = client()
        .get(app.url("/overview"))
        .header(COOKIE, format!("tenantry_session={session}"))
        .header("accept-language", "pt-BR")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(pt.contains("Empresas por status") && pt.contains("ainda não foi construído"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tenant_page_rotates_credentials_and_shows_where_the_rotation_stands() {
    let app = TestApp::spawn_with(TestDb::new().await, |s| s.run_sagas = true).await;
    let session = session_of(&app).await;
    let token = app.staff_token().await;
    let id = app
        .create_tenant(
            &serde_json::json!({"name": "Clínica Troca", "plan": "pro"}),
            &token,
        )
        .await;
    let path = format!("/tenants/{id}");
    let page = page_when(&app, &path, &session, |html| {
        html.contains("data-status=\"active\"")
    })
    .await;
    assert!(page.contains("id=\"action-rotate\""), "the rotate action");
    assert!(
        !page.contains("id=\"tenant-credentials\""),
        "nothing rotated yet"
    );
    let csrf = csrf_field(&page);
    let client = client();
    let post = |grace: &'static str| {
        let csrf = csrf.clone();
        let (app, session, path, client) = (&app, &session, &path, &client);
        async move {
            client
                .post(app.url(&format!("{path}/rotate")))
                .header(COOKIE, format!("tenantry_session={session}"))
                .form(&[("csrf", csrf.as_str()), ("grace", grace)])
                .send()
                .await
                .unwrap()
        }
    };

    // A grace period that is not one is refused, with the reason on the page.
    let refused = post("-5").await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("604800"));

    let rotated = post("0").await;
    assert_eq!(rotated.status(), StatusCode::SEE_OTHER);
    let done = page_when(&app, &path, &session, |html| {
        inner_of(html, "tenant-credentials")
            .is_some_and(|c| c.contains("retired") || c.contains("revogadas"))
    })
    .await;
    let credentials = inner_of(&done, "tenant-credentials").unwrap();
    assert!(credentials.contains('1'), "{credentials}");

    // A second rotation while one is under way is refused, with the API's message.
    let slow = post("600").await;
    assert_eq!(slow.status(), StatusCode::SEE_OTHER);
    let again = post("600").await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(again.text().await.unwrap().contains("still in progress"));
}

#[tokio::test]
async fn the_migrations_page_shows_the_fleets_versions_and_the_latest_run() {
    use tenantry_application::fleet::{FleetOptions, FleetRuns, RunEnd, RunStart};
    use tenantry_infrastructure::fleet_runs::PgFleetRuns;

    const VERSION: i64 = 20270101000000;
    let dir = std::env::temp_dir().join(format!("tenantry-panel-fleet-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("{VERSION}_patients.sql")),
        "CREATE TABLE patients (id bigint PRIMARY KEY);",
    )
    .unwrap();
    let app = TestApp::spawn_with(TestDb::new().await, |s| {
        s.tenant_migrations_dir = Some(dir.clone());
    })
    .await;
    let session = session_of(&app).await;
    let (status, empty) = text_of_page(&app, "/migrations", &session).await;
    assert_eq!(status, 200);
    assert!(
        empty.contains("href=\"/migrations\" aria-current=\"page\""),
        "in the navigation"
    );
    assert!(
        inner_of(&empty, "fleet-target")
            .unwrap()
            .contains(&VERSION.to_string())
    );
    assert!(inner_of(&empty, "run-none").is_some(), "no run yet");
    assert!(!empty.contains("http-equiv=\"refresh\""));

    // A run under way: its counts, and the page reloads itself.
    let runs = PgFleetRuns::new(app.db.pool.clone());
    let run = runs.lock().await.unwrap();
    let id = run
        .start(RunStart::Apply, VERSION, &FleetOptions::default(), 3)
        .await
        .unwrap();
    run.tenant_migrated().await.unwrap();
    let (_, running) = text_of_page(&app, "/migrations", &session).await;
    let shown = inner_of(&running, "run-id").unwrap();
    assert!(
        shown.contains(&id.to_string()) && shown.contains("data-status=\"running\""),
        "{shown}"
    );
    assert!(
        inner_of(&running, "run-progress")
            .unwrap()
            .contains("1 migrated")
    );
    assert!(running.contains("http-equiv=\"refresh\""));

    // Failed: the error, and no more reloading.
    run.tenant_failed("relation \"patients\" already exists")
        .await
        .unwrap();
    run.finish(RunEnd::Failed {
        error: "tenant x: relation \"patients\" already exists".into(),
    })
    .await
    .unwrap();
    let (_, failed) = text_of_page(&app, "/migrations", &session).await;
    assert!(
        inner_of(&failed, "run-id")
            .unwrap()
            .contains("data-status=\"failed\"")
    );
    assert!(
        inner_of(&failed, "run-error")
            .unwrap()
            .contains("already exists")
    );
    assert!(!failed.contains("http-equiv=\"refresh\""));
    std::fs::remove_dir_all(&dir).ok();
}
