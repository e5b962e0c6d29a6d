//! `tenantry tenant create|list|show`, run as the binary's code runs them, against a fresh database.

use std::sync::Arc;

use serde_json::Value;
use tenantry_api::Settings;
use tenantry_api::cli::tenant::TenantCommand;
use tenantry_application::event_store::EventStore;
use tenantry_projections::{ProjectionRuntime, RuntimeConfig, default_projectors};
use tenantry_tests::TestDb;

async fn run(settings: &Settings, command: TenantCommand) -> anyhow::Result<Value> {
    let mut out = Vec::new();
    command.run(settings, &mut out).await?;
    Ok(serde_json::from_slice(&out)?)
}

#[tokio::test]
async fn a_script_creates_lists_and_shows_tenants() {
    let db = TestDb::new().await;
    let mut settings = Settings::from_env();
    settings.database_url = db.url.clone();
    let store: Arc<dyn EventStore> = Arc::new(db.event_store());
    let projectors = ProjectionRuntime::start(
        db.pool.clone(),
        store.clone(),
        default_projectors(),
        RuntimeConfig::default(),
    );

    let created = run(
        &settings,
        TenantCommand::Create {
            name: "Bot Platform".into(),
            slug: None,
            plan: Some("enterprise".into()),
            isolation: None,
            admin_email: None,
        },
    )
    .await
    .expect("create");
    assert_eq!(created["slug"], "bot-platform");
    let id: String = created["id"].as_str().expect("id").into();
    let position = created["position"].as_u64().expect("position");
    let projected = tenantry_projections::wait_for_position(
        &db.pool,
        &*store,
        position,
        &["tenant_panel", "tenant_directory"],
        tenantry_tests::conformance::HORIZON_WAIT,
    )
    .await
    .expect("wait");
    assert!(projected);

    let shown = run(&settings, TenantCommand::Show { tenant: id.clone() })
        .await
        .expect("show");
    assert_eq!(shown["name"], "Bot Platform");
    assert_eq!(shown["isolation"], "database_per_tenant");
    // By slug, the same tenant; a slug nobody has says how tenants are addressed.
    let by_slug = run(
        &settings,
        TenantCommand::Show {
            tenant: "bot-platform".into(),
        },
    )
    .await
    .expect("show by slug");
    assert_eq!(by_slug["id"], id.as_str());
    let unknown = run(
        &settings,
        TenantCommand::Show {
            tenant: "drmarco".into(),
        },
    )
    .await
    .expect_err("no such slug");
    assert!(
        format!("{unknown:#}").contains("no live tenant has the slug \"drmarco\""),
        "{unknown:#}"
    );
    let listed = run(
        &settings,
        TenantCommand::List {
            status: Some("pending".into()),
            plan: None,
            isolation: Some("database_per_tenant".into()),
            include_deleted: false,
            q: None,
            limit: 10,
            cursor: None,
        },
    )
    .await
    .expect("list");
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));
    let other_model = run(
        &settings,
        TenantCommand::List {
            status: None,
            plan: None,
            isolation: Some("schema_per_tenant".into()),
            include_deleted: false,
            q: None,
            limit: 10,
            cursor: None,
        },
    )
    .await
    .expect("list");
    assert_eq!(other_model["items"].as_array().map(Vec::len), Some(0));

    let refused = run(
        &settings,
        TenantCommand::Create {
            name: "Another".into(),
            slug: Some("www".into()),
            plan: None,
            isolation: None,
            admin_email: None,
        },
    )
    .await
    .expect_err("a reserved slug is refused");
    assert!(refused.to_string().starts_with("--slug:"), "{refused}");
    projectors.shutdown().await;
}

/// The tenant panel's status of `id` and its last change, once it is `status` (polling).
async fn panel_once(db: &TestDb, id: &str, status: &str) -> chrono::DateTime<chrono::Utc> {
    let id: uuid::Uuid = id.parse().expect("uuid");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let row: Option<(String, chrono::DateTime<chrono::Utc>)> =
            sqlx::query_as("SELECT status, updated_at FROM read.tenant_panel WHERE tenant_id = $1")
                .bind(id)
                .fetch_optional(&db.pool)
                .await
                .expect("panel");
        if let Some((now, at)) = &row
            && now == status
        {
            return *at;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "tenant {id} never {status}: {row:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn retry(
    settings: &Settings,
    status: &str,
    since: &str,
    dry_run: bool,
    limit: Option<u32>,
) -> anyhow::Result<String> {
    let mut out = Vec::new();
    TenantCommand::Retry {
        status: status.into(),
        since: since.into(),
        dry_run,
        limit,
    }
    .run(settings, &mut out)
    .await?;
    Ok(String::from_utf8(out).expect("utf-8"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_tenants_since_a_time_are_retried_in_bulk() {
    let redis = tenantry_tests::PrivateRedis::start().await;
    let redis_url = redis.url();
    // Each tenant's first try of its first step fails, and one try is all it gets: it fails.
    let app = tenantry_tests::TestApp::spawn_with(TestDb::new().await, move |s| {
        s.run_sagas = true;
        s.redis_url = redis_url;
        s.faults = "register_shared_tenant:1".into();
        s.provisioning_max_tries = 1;
        s.provisioning_retry_base_ms = 50;
    })
    .await;
    let mut settings = Settings::from_env();
    settings.database_url = app.db.url.clone();
    let token = app.staff_token().await;
    let create = |slug: &'static str| {
        let app = &app;
        let token = &token;
        async move {
            let response = app
                .post_json_auth(
                    "/platform/api/tenants",
                    &serde_json::json!({"name": slug, "slug": slug, "plan": "free"}),
                    token,
                )
                .await;
            assert_eq!(response.status(), 201);
            response.json::<Value>().await.expect("json")["id"]
                .as_str()
                .expect("id")
                .to_owned()
        }
    };
    let earlier = create("failed-earlier").await;
    let earlier_at = panel_once(&app.db, &earlier, "failed").await;
    let later = create("failed-later").await;
    panel_once(&app.db, &later, "failed").await;
    let since = (earlier_at + chrono::Duration::microseconds(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);

    let listed = retry(&settings, "failed", &since, true, None)
        .await
        .expect("dry run");
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(
        lines[0].starts_with("would retry  ") && lines[0].contains(&later),
        "{listed}"
    );
    assert!(!listed.contains(&earlier), "{listed}");
    assert!(lines[1].contains("1 failed tenant(s)") && lines[1].contains("dry run"));
    // Nothing changed.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    panel_once(&app.db, &later, "failed").await;

    let retried = retry(&settings, "failed", &since, false, None)
        .await
        .expect("retry");
    assert!(
        retried
            .lines()
            .next()
            .is_some_and(|l| l.starts_with("retried  ") && l.contains(&later)),
        "{retried}"
    );
    assert!(
        retried.contains("retried 1 of 1 failed tenant(s)"),
        "{retried}"
    );
    panel_once(&app.db, &later, "active").await;
    panel_once(&app.db, &earlier, "failed").await;

    // A duration ago, at most one: the earlier one, the only failed one left.
    let retried = retry(&settings, "failed", "1h", false, Some(1))
        .await
        .expect("retry");
    assert!(retried.contains(&earlier), "{retried}");
    assert!(retried.contains("retried 1 of 1"), "{retried}");
    panel_once(&app.db, &earlier, "active").await;

    // Bad arguments name the flag and say why.
    let error = retry(&settings, "active", "1h", false, None)
        .await
        .expect_err("only failed");
    assert!(
        error
            .to_string()
            .starts_with("--status: only failed tenants"),
        "{error}"
    );
    let error = retry(&settings, "failed", "last week", true, None)
        .await
        .expect_err("bad since");
    assert!(
        error
            .to_string()
            .starts_with("--since: \"last week\" is neither"),
        "{error}"
    );
}
