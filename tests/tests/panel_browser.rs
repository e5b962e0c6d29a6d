//! The admin panel in a real browser: Debian's headless Chromium, driven over WebDriver
//! (`chromedriver`, started here on a free port) by `fantoccini`, against the real server on port
//! 0 with real PostgreSQL and Redis and the provisioning saga running.
//!
//! One walk through the panel, as an operator would: log in (sent there from the page wanted, and
//! back), create a tenant through Nova Empresa and watch its steps reach active without a reload,
//! see the invitation token once, find the new row in the table with its infrastructure and see
//! it change live, suspend and reactivate from the tenant page, and see a refused action show the
//! API's message. No page may log a script error or a CSP violation. A screenshot of each page is
//! saved under `target/panel-screenshots/`.
//!
//! A missing browser fails the test, naming the packages to install.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use tenantry_tests::browser::{browser, start_driver};
use tenantry_tests::{STAFF_PASSWORD, TestApp, TestDb};

/// How long provisioning may take on a loaded machine.
const PROVISIONING: Duration = Duration::from_secs(90);
/// How long a page or a live update may take.
const SOON: Duration = Duration::from_secs(20);

fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("panel-screenshots");
    std::fs::create_dir_all(&dir).expect("the screenshot folder");
    dir
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("a screenshot");
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).expect("write screenshot");
}

/// Fails if the page recorded a script error or a CSP violation (panel.js records them).
async fn no_page_errors(client: &Client, page: &str) {
    let errors = client
        .execute(
            "return window.__panelErrors || ['panel.js did not run'];",
            vec![],
        )
        .await
        .expect("read the page's errors");
    assert_eq!(errors, json!([]), "errors on {page}");
}

/// Polls `check` until it answers `Some`, or fails saying `what`.
async fn until<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn text_of(client: &Client, css: &str) -> Option<String> {
    client.find(Locator::Css(css)).await.ok()?.text().await.ok()
}

async fn attr_of(client: &Client, css: &str, attr: &str) -> Option<String> {
    client
        .find(Locator::Css(css))
        .await
        .ok()?
        .attr(attr)
        .await
        .ok()?
}

async fn path_of(client: &Client) -> String {
    let url = client.current_url().await.expect("the current url");
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
}

async fn type_into(client: &Client, css: &str, text: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("cannot type into {css}: {e}"));
}

async fn status_is(client: &Client, css: &str, status: &str) -> Option<()> {
    (attr_of(client, css, "data-status").await.as_deref() == Some(status)).then_some(())
}

#[tokio::test]
async fn an_operator_creates_watches_and_manages_a_tenant_in_chromium() {
    let driver = start_driver().await;
    let app = TestApp::spawn_with(TestDb::new().await, |s| s.run_sagas = true).await;
    app.create_staff("ops@example.com", STAFF_PASSWORD).await;
    let api_token = app.login("ops@example.com", STAFF_PASSWORD).await;
    let client = browser(&driver).await;
    let result = walk(&app, &client, &api_token).await;
    let _ = client.close().await;
    result.expect("the walk through the panel");
}

async fn walk(app: &TestApp, client: &Client, api_token: &str) -> anyhow::Result<()> {
    // The page wanted, without a session: the login page, then back there.
    client.goto(&app.url("/tenants/new")).await?;
    assert_eq!(path_of(client).await, "/login?next=%2Ftenants%2Fnew");
    screenshot(client, "01-login").await;
    no_page_errors(client, "login").await;
    type_into(client, "#email", "ops@example.com").await;
    type_into(client, "#password", STAFF_PASSWORD).await;
    click(client, "#login-form button[type=submit]").await;
    until("Nova Empresa after login", SOON, || async {
        (path_of(client).await == "/tenants/new").then_some(())
    })
    .await;

    // Nova Empresa: the slug suggested from the name, checked; the plan's default isolation.
    type_into(client, "#name", "Clínica Browser").await;
    until("the suggested slug", SOON, || async {
        let slug = client
            .find(Locator::Css("#slug"))
            .await
            .ok()?
            .prop("value")
            .await
            .ok()??;
        let status = text_of(client, "#slug-status").await?;
        (slug == "clinica-browser" && status.contains("available")).then_some(())
    })
    .await;
    let select = client.find(Locator::Css("#plan")).await?;
    select.select_by_value("enterprise").await?;
    let isolation = || async {
        client
            .find(Locator::Css("#isolation"))
            .await
            .ok()?
            .prop("value")
            .await
            .ok()?
    };
    assert_eq!(isolation().await.as_deref(), Some("database_per_tenant"));
    select.select_by_value("basic").await?;
    assert_eq!(isolation().await.as_deref(), Some("shared_schema"));
    type_into(client, "#admin_email", "admin@clinica-browser.example").await;
    screenshot(client, "02-new-tenant").await;
    no_page_errors(client, "Nova Empresa").await;
    click(client, "#new-tenant button[type=submit]").await;

    // The tenant page: progress live, to active, without a reload.
    let tenant_path = until("the tenant page", SOON, || async {
        let path = path_of(client).await;
        (path.starts_with("/tenants/") && path != "/tenants/new").then_some(path)
    })
    .await;
    let id = tenant_path.trim_start_matches("/tenants/").to_owned();
    client
        .execute("window.__sameDocument = true;", vec![])
        .await?;
    let token = text_of(client, "#invite-token")
        .await
        .expect("the invitation token");
    assert!(token.len() >= 40, "{token}");
    until("provisioning to complete on the page", PROVISIONING, || {
        status_is(client, "#tenant-status .badge", "active")
    })
    .await;
    // The steps come from a projector of their own, a moment behind the tenant's status.
    until("every step succeeded on the page", SOON, || async {
        let steps = client
            .find_all(Locator::Css("#steps tbody tr"))
            .await
            .ok()?;
        let mut succeeded = 0;
        for step in &steps {
            if step.attr("data-status").await.ok()?.as_deref() == Some("succeeded") {
                succeeded += 1;
            }
        }
        (steps.len() >= 3 && succeeded == steps.len()).then_some(())
    })
    .await;
    assert_eq!(
        client
            .execute("return window.__sameDocument === true;", vec![])
            .await?,
        Value::Bool(true),
        "the page was reloaded"
    );
    let infra = text_of(client, "#tenant-infra").await.unwrap_or_default();
    assert!(
        infra.contains("queue") && infra.contains("redis"),
        "{infra}"
    );
    screenshot(client, "03-tenant-provisioned").await;
    no_page_errors(client, "tenant page").await;

    // The token is shown once: not after a reload.
    client.refresh().await?;
    client.find(Locator::Css("#tenant-status")).await?;
    assert!(
        client.find(Locator::Css("#invite-token")).await.is_err(),
        "shown again"
    );

    // The table: the new row with its infrastructure, and a change shown live.
    client.goto(&app.url("/")).await?;
    screenshot(client, "04-tenants").await;
    let row = format!("#row-{id}");
    let cells = until("the new row", SOON, || text_of(client, &row)).await;
    assert!(
        cells.contains("Clínica Browser") && cells.contains("clinica-browser"),
        "{cells}"
    );
    assert!(
        cells.contains("queue") && cells.contains("redis"),
        "{cells}"
    );
    no_page_errors(client, "tenants").await;
    let suspended = app
        .post_json_auth(
            &format!("/platform/api/tenants/{id}/suspend"),
            &json!({"reason": "live table check"}),
            api_token,
        )
        .await;
    assert_eq!(suspended.status(), 200);
    let row_badge = format!("{row} .badge");
    until("the row to show suspended live", SOON, || {
        status_is(client, &row_badge, "suspended")
    })
    .await;
    // A filter and the search still find it.
    client
        .goto(&app.url("/?status=suspended&q=browser"))
        .await?;
    until("the row, filtered and searched", SOON, || {
        text_of(client, &row)
    })
    .await;
    client.goto(&app.url("/?status=active")).await?;
    assert!(
        text_of(client, &row).await.is_none(),
        "a suspended tenant among the active"
    );

    // The tenant page's actions: reactivate, suspend, reactivate; a refused one shows the API's
    // message.
    client.goto(&app.url(&tenant_path)).await?;
    click(client, "#action-reactivate").await;
    until("active after reactivate", SOON, || {
        status_is(client, "#tenant-status .badge", "active")
    })
    .await;
    type_into(client, "#reason", "browser test").await;
    click(client, "#action-suspend").await;
    until("suspended after suspend", SOON, || {
        status_is(client, "#tenant-status .badge", "suspended")
    })
    .await;
    click(client, "#action-reactivate").await;
    until("active again", SOON, || {
        status_is(client, "#tenant-status .badge", "active")
    })
    .await;
    no_page_errors(client, "tenant page after actions").await;
    // Retrying the provisioning of an active tenant is refused.
    click(client, "#action-retry").await;
    let shown = until("the refusal", SOON, || text_of(client, "#action-error")).await;
    let api = app
        .post_auth(&format!("/platform/api/tenants/{id}/provision"), api_token)
        .await;
    assert_eq!(api.status(), 409);
    let api: Value = api.json().await?;
    let message = api["error"]["message"].as_str().expect("a message");
    assert!(shown.contains(message), "page: {shown:?}, API: {message:?}");
    // Deleting needs the slug typed: a wrong one is refused and nothing happens.
    type_into(client, "#confirm", "not-the-slug").await;
    click(client, "#action-delete").await;
    until("the mismatch", SOON, || async {
        text_of(client, "#action-error")
            .await
            .filter(|t| t.contains("slug"))
    })
    .await;
    assert!(
        status_is(client, "#tenant-status .badge", "active")
            .await
            .is_some()
    );
    let history = text_of(client, "#history").await.unwrap_or_default();
    assert!(
        history.contains("TenantSuspended") || history.contains("suspended"),
        "{history}"
    );
    screenshot(client, "05-tenant-refused").await;
    no_page_errors(client, "tenant page with a refusal").await;

    // In Portuguese, on a phone: the switch in the header, and the page still works.
    client.set_window_size(390, 844).await?;
    client.goto(&app.url(&tenant_path)).await?;
    click(client, "a[lang=pt-BR]").await;
    until("the page in Portuguese", SOON, || async {
        let lang = attr_of(client, "html", "lang").await?;
        let nav = text_of(client, "header nav").await?;
        (lang == "pt-BR" && nav.contains("Empresas") && nav.contains("Nova Empresa")).then_some(())
    })
    .await;
    assert_eq!(path_of(client).await, tenant_path, "back on the same page");
    let badge = text_of(client, "#tenant-status .badge")
        .await
        .unwrap_or_default();
    assert_eq!(badge, "ativa");
    let width = client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            vec![],
        )
        .await?;
    assert_eq!(
        width,
        Value::Bool(true),
        "the page scrolls sideways on a phone"
    );
    screenshot(client, "07-tenant-pt-phone").await;
    no_page_errors(client, "tenant page in Portuguese").await;
    Ok(())
}

/// Logs in through the login page, from `next`.
async fn log_in(app: &TestApp, client: &Client, next: &str) {
    client.goto(&app.url(next)).await.expect("open the page");
    type_into(client, "#email", "ops@example.com").await;
    type_into(client, "#password", STAFF_PASSWORD).await;
    click(client, "#login-form button[type=submit]").await;
    until("the page after login", SOON, || async {
        (path_of(client).await == next).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_failing_step_shows_its_retries_and_the_rollback_live() {
    let driver = start_driver().await;
    // The queue step always fails: two tries, then everything made is released.
    let app = TestApp::spawn_with(TestDb::new().await, |s| {
        s.run_sagas = true;
        s.faults = "queue:always".into();
        s.provisioning_max_tries = 2;
        s.provisioning_retry_base_ms = 300;
        s.provisioning_retry_max_ms = 600;
    })
    .await;
    app.create_staff("ops@example.com", STAFF_PASSWORD).await;
    let client = browser(&driver).await;
    let result = failing(&app, &client).await;
    let _ = client.close().await;
    result.expect("the failing provisioning in the panel");
}

async fn failing(app: &TestApp, client: &Client) -> anyhow::Result<()> {
    log_in(app, client, "/tenants/new").await;
    type_into(client, "#name", "Falha Total").await;
    type_into(client, "#admin_email", "admin@falha.example").await;
    click(client, "#new-tenant button[type=submit]").await;
    until("the tenant page", SOON, || async {
        let path = path_of(client).await;
        (path.starts_with("/tenants/") && path != "/tenants/new").then_some(())
    })
    .await;
    client
        .execute("window.__sameDocument = true;", vec![])
        .await?;
    until("the tenant to fail after its tries", PROVISIONING, || {
        status_is(client, "#tenant-status .badge", "failed")
    })
    .await;
    // The steps come from a projector of their own, a moment behind the tenant's status.
    let (cells, error) = until(
        "the steps to show the tries and the rollback",
        SOON,
        || async {
            let cells = text_of(client, "#steps tr[data-step=queue]").await?;
            let error = text_of(client, "#steps tr[data-step=queue] td.error").await?;
            let released = client
                .find_all(Locator::Css("#steps tr[data-status=released]"))
                .await
                .ok()?;
            (cells.contains('2') && !error.is_empty() && !released.is_empty())
                .then_some((cells, error))
        },
    )
    .await;
    assert!(cells.contains("queue"), "two tries: {cells}");
    assert!(!error.is_empty(), "the step's error is shown");
    let notice = text_of(client, "#rollback").await.unwrap_or_default();
    assert!(notice.contains("rolled back"), "{notice}");
    assert_eq!(
        client
            .execute("return window.__sameDocument === true;", vec![])
            .await?,
        Value::Bool(true),
        "the page was reloaded"
    );
    screenshot(client, "06-tenant-failed").await;
    no_page_errors(client, "failed tenant page").await;
    Ok(())
}

#[tokio::test]
async fn an_operator_reads_the_overview_the_audit_and_a_tenants_past_in_chromium() {
    let driver = start_driver().await;
    let app = TestApp::spawn().await;
    app.create_staff("ops@example.com", STAFF_PASSWORD).await;
    let api_token = app.login("ops@example.com", STAFF_PASSWORD).await;
    let id = app
        .create_tenant(
            &json!({"name": "Loja Passado", "slug": "loja-do-tempo"}),
            &api_token,
        )
        .await;
    for name in ["Loja Meio", "Loja Presente"] {
        let renamed = app
            .patch_json_auth(
                &format!("/platform/api/tenants/{id}"),
                &json!({ "name": name }),
                &api_token,
            )
            .await;
        assert_eq!(renamed.status(), 200);
    }
    let client = browser(&driver).await;
    let result = past(&app, &client, &id.to_string()).await;
    let _ = client.close().await;
    result.expect("the overview, the audit and the time travel in the panel");
}

/// The `data-*` attribute `attr` of every element `css` matches.
async fn attrs_of(client: &Client, css: &str, attr: &str) -> Vec<String> {
    let mut values = Vec::new();
    for element in client.find_all(Locator::Css(css)).await.unwrap_or_default() {
        if let Ok(Some(value)) = element.attr(attr).await {
            values.push(value);
        }
    }
    values
}

async fn no_sideways_scroll(client: &Client, page: &str) {
    let fits = client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            vec![],
        )
        .await
        .expect("measure the page");
    assert_eq!(
        fits,
        Value::Bool(true),
        "{page} scrolls sideways on a phone"
    );
}

async fn past(app: &TestApp, client: &Client, id: &str) -> anyhow::Result<()> {
    // The overview, from the login page: the counts, no failure, the plain note on KPIs.
    log_in(app, client, "/overview").await;
    let pending = until("the pending count", SOON, || async {
        text_of(client, "#status-counts tr[data-status=pending] td.count")
            .await
            .filter(|n| n == "1")
    })
    .await;
    assert_eq!(pending, "1");
    assert_eq!(text_of(client, "#status-total").await.as_deref(), Some("1"));
    assert!(text_of(client, "#no-failures").await.is_some());
    let note = text_of(client, "#kpis-note").await.unwrap_or_default();
    assert!(note.contains("not built yet"), "{note}");
    screenshot(client, "08-overview").await;
    no_page_errors(client, "overview").await;

    // The audit page from the navigation; filters typed into its form land in the URL.
    click(client, "header nav a[href='/audit']").await;
    until("the audit page", SOON, || async {
        (path_of(client).await == "/audit").then_some(())
    })
    .await;
    no_page_errors(client, "audit").await;
    type_into(client, "#f-tenant", "loja-do-tempo").await;
    client
        .find(Locator::Css("#f-event-type"))
        .await?
        .select_by_value("TenantRenamed")
        .await?;
    click(client, "#audit-filters button[type=submit]").await;
    until("the filtered audit page", SOON, || async {
        let path = path_of(client).await;
        (path.contains("tenant=loja-do-tempo") && path.contains("event_type=TenantRenamed"))
            .then_some(())
    })
    .await;
    let types = attrs_of(client, "#audit-entries tbody tr", "data-event-type").await;
    assert_eq!(types, ["TenantRenamed", "TenantRenamed"], "{types:?}");
    let tenants = attrs_of(client, "#audit-entries tbody tr", "data-tenant").await;
    assert!(tenants.iter().all(|t| t == id), "{tenants:?}");
    screenshot(client, "09-audit-filtered").await;
    no_page_errors(client, "filtered audit").await;

    // An entry's request: that correlation's events, and only those.
    let correlation = attr_of(client, "#audit-entries tbody tr", "data-correlation")
        .await
        .expect("a correlation");
    click(client, "#audit-entries tbody tr a.request-link").await;
    until("the request's events", SOON, || async {
        (path_of(client).await == format!("/audit?correlation={correlation}")).then_some(())
    })
    .await;
    let correlations = attrs_of(client, "#audit-entries tbody tr", "data-correlation").await;
    assert!(!correlations.is_empty());
    assert!(correlations.iter().all(|c| *c == correlation));
    assert_eq!(
        client
            .find(Locator::Css("#f-correlation"))
            .await?
            .prop("value")
            .await?
            .as_deref(),
        Some(correlation.as_str()),
        "the filter shows in its field"
    );
    screenshot(client, "10-audit-request").await;
    no_page_errors(client, "a request's audit").await;

    // The entry's tenant, and its state at version 1, reached by keyboard (Enter on the link).
    click(client, "#audit-entries tbody tr a.tenant-link").await;
    until("the tenant page", SOON, || async {
        (path_of(client).await == format!("/tenants/{id}")).then_some(())
    })
    .await;
    let version_one = client
        .find(Locator::Css("#history tr[data-version='1'] a.version-link"))
        .await?;
    version_one.send_keys("\u{E007}").await?;
    let name = until("the state at version 1", SOON, || {
        text_of(client, "#state-name")
    })
    .await;
    assert_eq!(name, "Loja Passado", "the name before the renames");
    assert_eq!(path_of(client).await, format!("/tenants/{id}?at=1"));
    let heading = text_of(client, "h1").await.unwrap_or_default();
    assert!(
        heading.contains("Loja Presente"),
        "the page still says now: {heading}"
    );
    assert_eq!(
        attr_of(client, "#history tr[aria-current]", "data-version")
            .await
            .as_deref(),
        Some("1")
    );
    screenshot(client, "11-tenant-time-travel").await;
    no_page_errors(client, "tenant page at version 1").await;
    click(client, "#history tr[data-version='2'] a.version-link").await;
    until("the state at version 2", SOON, || async {
        text_of(client, "#state-name")
            .await
            .filter(|n| n == "Loja Meio")
    })
    .await;

    // The history's correlation: that request's events on the tenant.
    click(client, "#history tr[data-version='3'] a.request-link").await;
    until("the request page", SOON, || async {
        path_of(client)
            .await
            .starts_with(&format!("/tenants/{id}/requests/"))
            .then_some(())
    })
    .await;
    let types = attrs_of(client, "#audit-entries tbody tr", "data-event-type").await;
    assert!(types.contains(&"TenantRenamed".to_owned()), "{types:?}");
    screenshot(client, "12-tenant-request").await;
    no_page_errors(client, "a request's page").await;
    click(client, "#back-to-tenant").await;
    until("back on the tenant page", SOON, || async {
        (path_of(client).await == format!("/tenants/{id}")).then_some(())
    })
    .await;

    // In Portuguese, on a phone: the audit page's labels, the overview; no sideways scroll.
    client.set_window_size(390, 844).await?;
    client.goto(&app.url("/audit?tenant=loja-do-tempo")).await?;
    click(client, "a[lang=pt-BR]").await;
    until("the audit page in Portuguese", SOON, || async {
        let label = text_of(client, "label[for=f-event-type]").await?;
        (label == "Tipo de evento").then_some(())
    })
    .await;
    assert_eq!(path_of(client).await, "/audit?tenant=loja-do-tempo");
    let types = attrs_of(client, "#audit-entries tbody tr", "data-event-type").await;
    assert!(types.contains(&"TenantCreated".to_owned()), "{types:?}");
    assert_eq!(
        types.iter().filter(|t| *t == "TenantRenamed").count(),
        2,
        "{types:?}"
    );
    no_sideways_scroll(client, "the audit page").await;
    screenshot(client, "13-audit-pt-phone").await;
    no_page_errors(client, "audit in Portuguese").await;
    client.goto(&app.url("/overview")).await?;
    let heading = text_of(client, "#h-by-status").await.unwrap_or_default();
    assert_eq!(heading, "Empresas por status");
    no_sideways_scroll(client, "the overview").await;
    screenshot(client, "14-overview-pt-phone").await;
    no_page_errors(client, "overview in Portuguese").await;
    client
        .goto(&app.url(&format!("/tenants/{id}?at=1#state")))
        .await?;
    let name = text_of(client, "#state-name").await.unwrap_or_default();
    assert_eq!(name, "Loja Passado");
    no_sideways_scroll(client, "the tenant page at a version").await;
    screenshot(client, "15-tenant-time-travel-pt-phone").await;
    no_page_errors(client, "tenant page at a version in Portuguese").await;
    Ok(())
}
