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
