//! Repairing what tenants lost, for real: a private Redis ([`PrivateRedis`]) restarted empty or
//! with persistence, a tenant's database or role dropped on the real PostgreSQL server. Run as an
//! operator would: `tenantry doctor [--fix] [--recreate-empty]` (the binary), the service's
//! background reconciler (`TENANTRY_RECONCILE_INTERVAL`), and the stored passwords read back
//! through the secret store to log in with.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::Connection;
use tenantry_application::event_store::RecordedEvent;
use tenantry_application::provisioning::{Faults, SecretStore};
use tenantry_domain::events::ResourceRepaired;
use tenantry_domain::{EventPayload, TenantId, TenantNames};
use tenantry_infrastructure::provisioning::{ProvisioningOptions, build_with};
use tenantry_infrastructure::redis_persistence;
use tenantry_tests::{PrivateRedis, TestApp, TestDb, event_log};

fn doctor(app: &TestApp, redis_url: &str, args: &[&str]) -> (Output, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tenantry"))
        .arg("doctor")
        .args(args)
        .env("TENANTRY_DATABASE_URL", &app.db.url)
        .env("TENANTRY_REDIS_URL", redis_url)
        .env_remove("TENANTRY_EVENT_STORE_URL")
        .env_remove("TENANTRY_SECRET_KEY")
        .env("RUST_LOG", "warn")
        .output()
        .expect("tenantry runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

const MACHINE_REDIS: &str = "redis://127.0.0.1:6379";

async fn spawn(redis_url: &str, reconcile: Option<Duration>) -> TestApp {
    let url = redis_url.to_owned();
    TestApp::spawn_with(TestDb::new().await, move |s| {
        s.run_sagas = true;
        s.redis_url = url;
        s.reconcile_interval = reconcile;
    })
    .await
}

async fn create(app: &TestApp, token: &str, slug: &str, isolation: &str) -> TenantId {
    let body = json!({"name": format!("Tenant {slug}"), "slug": slug, "plan": "pro",
                      "isolation": isolation});
    let response = app
        .post_json_auth("/platform/api/tenants", &body, token)
        .await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    let body: Value = response.json().await.expect("json");
    TenantId::from_uuid(body["id"].as_str().expect("id").parse().expect("uuid"))
}

async fn status_of(app: &TestApp, token: &str, id: TenantId) -> String {
    let tenant: Value = app
        .get_auth(&format!("/platform/api/tenants/{id}"), token)
        .await
        .json()
        .await
        .unwrap_or(Value::Null);
    tenant["status"].as_str().unwrap_or_default().to_owned()
}

async fn wait_for(app: &TestApp, token: &str, id: TenantId, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while status_of(app, token, id).await != status {
        assert!(
            Instant::now() < deadline,
            "tenant {id} never became {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn delete(app: &TestApp, token: &str, id: TenantId) {
    let response = app
        .delete_auth(&format!("/platform/api/tenants/{id}"), token)
        .await;
    assert_eq!(response.status(), 202);
    wait_for(app, token, id, "deleted").await;
}

/// The tenant's stored secrets, through the secret store of the app's database.
async fn secrets(app: &TestApp, redis_url: &str) -> std::sync::Arc<dyn SecretStore> {
    let adapters = build_with(
        app.db.pool.clone(),
        redis::Client::open(redis_url).expect("redis url"),
        None,
        Faults::default(),
        &ProvisioningOptions::default(),
    )
    .await
    .expect("adapters");
    adapters.secrets
}

async fn stored_redis_password(app: &TestApp, redis_url: &str, tenant: TenantId) -> String {
    secrets(app, redis_url)
        .await
        .get(&TenantNames::of(tenant).redis_secret())
        .await
        .expect("secret store")
        .expect("a stored Redis password")
        .expose()
        .to_owned()
}

/// Logs in to `redis` as the tenant's ACL user with `password`; then, as that user, the groups
/// of the tenant's queue.
async fn groups_as_tenant(
    redis: &PrivateRedis,
    tenant: TenantId,
    password: &str,
) -> redis::RedisResult<Vec<String>> {
    let names = TenantNames::of(tenant);
    let mut conn = redis.client().get_multiplexed_async_connection().await?;
    redis::cmd("AUTH")
        .arg(names.redis_user())
        .arg(password)
        .query_async::<()>(&mut conn)
        .await?;
    let groups: Vec<std::collections::HashMap<String, redis::Value>> = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg(names.queue())
        .query_async(&mut conn)
        .await?;
    Ok(groups
        .iter()
        .filter_map(|g| match g.get("name") {
            Some(redis::Value::BulkString(name)) => Some(String::from_utf8_lossy(name).into()),
            Some(redis::Value::SimpleString(name)) => Some(name.clone()),
            _ => None,
        })
        .collect())
}

async fn repairs(app: &TestApp, tenant: TenantId) -> Vec<RecordedEvent> {
    event_log::stream(&*app.store, &tenant.stream_id())
        .await
        .into_iter()
        .filter(|e| e.event_type == ResourceRepaired::EVENT_TYPE)
        .collect()
}

fn kinds(events: &[RecordedEvent]) -> Vec<String> {
    let mut kinds: Vec<String> = events
        .iter()
        .map(|e| e.payload["kind"].as_str().unwrap_or_default().to_owned())
        .collect();
    kinds.sort();
    kinds
}

/// The line of the tenant `id` in a drift report.
fn line_of(stdout: &str, id: TenantId) -> &str {
    let id = id.to_string();
    stdout
        .lines()
        .find(|l| l.split('\t').nth(1) == Some(id.as_str()))
        .unwrap_or_else(|| panic!("no line of {id} in:\n{stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restarted_empty_is_repaired_with_the_stored_passwords() {
    let mut redis = PrivateRedis::start().await;
    let url = redis.url();
    let app = spawn(&url, None).await;
    let token = app.staff_token().await;
    let tenants = [
        create(&app, &token, "lost-shared", "shared_schema").await,
        create(&app, &token, "lost-schema", "schema_per_tenant").await,
    ];
    for &tenant in &tenants {
        wait_for(&app, &token, tenant, "active").await;
    }
    let passwords = [
        stored_redis_password(&app, &url, tenants[0]).await,
        stored_redis_password(&app, &url, tenants[1]).await,
    ];
    // Suspended tenants keep their resources, and are repaired too.
    let response = app
        .post_json_auth(
            &format!("/platform/api/tenants/{}/suspend", tenants[1]),
            &json!({}),
            &token,
        )
        .await;
    assert!(
        response.status().is_success(),
        "{:?}",
        response.text().await
    );
    wait_for(&app, &token, tenants[1], "suspended").await;
    assert_eq!(
        groups_as_tenant(&redis, tenants[0], &passwords[0])
            .await
            .expect("the tenant logs in"),
        vec!["workers"]
    );

    redis.restart_empty().await;
    let (output, stdout) = doctor(&app, &url, &[]);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    for &tenant in &tenants {
        assert!(
            line_of(&stdout, tenant).ends_with("drift: missing RedisUser, RedisKeys"),
            "{stdout}"
        );
        assert!(groups_as_tenant(&redis, tenant, "x").await.is_err());
    }

    let fixing = Instant::now();
    let (output, stdout) = doctor(&app, &url, &["--fix"]);
    println!(
        "doctor --fix after a Redis restarted empty: {:.2}s for 2 tenants (the binary's start included)",
        fixing.elapsed().as_secs_f64()
    );
    assert!(output.status.success(), "{stdout}\n{output:?}");
    assert!(
        stdout.contains("repaired 4 resource(s) of 2 tenant(s); 0 left missing"),
        "{stdout}"
    );
    for (tenant, password) in tenants.iter().zip(&passwords) {
        if *tenant == tenants[1] {
            // The suspended tenant's user is back, still switched off (issue 12: a repair does
            // not re-enable a suspended tenant).
            let refused = groups_as_tenant(&redis, *tenant, password)
                .await
                .expect_err("a suspended tenant's repaired user stays off");
            assert!(
                refused.to_string().contains("WRONGPASS"),
                "tenant {tenant}: {refused}"
            );
        } else {
            // The same password as before: the tenant's application logs in as it did.
            assert_eq!(
                groups_as_tenant(&redis, *tenant, password)
                    .await
                    .expect("the tenant logs in with its stored password"),
                vec!["workers"],
                "tenant {tenant}"
            );
        }
        let events = repairs(&app, *tenant).await;
        assert_eq!(kinds(&events), vec!["queue", "redis_user"], "{tenant}");
        for event in &events {
            assert_eq!(event.metadata.actor.to_string(), "system");
            let text = event.payload.to_string();
            assert!(!text.contains(password.as_str()), "a password in {text}");
        }
        assert_eq!(
            events[0].payload["name"],
            TenantNames::of(*tenant).redis_user()
        );
    }
    // The history through the API, and the read models still up to date.
    let history: Value = app
        .get_auth(
            &format!("/platform/api/tenants/{}/events", tenants[0]),
            &token,
        )
        .await
        .json()
        .await
        .expect("json");
    let items = history["items"].as_array().expect("items");
    assert!(
        items
            .iter()
            .any(|i| i["event_type"] == "ResourceRepaired" && i["payload"]["kind"] == "redis_user"),
        "{history}"
    );
    let version = items.last().expect("events")["stream_version"].clone();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let tenant: Value = app
            .get_auth(&format!("/platform/api/tenants/{}", tenants[0]), &token)
            .await
            .json()
            .await
            .expect("json");
        if tenant["version"] == version {
            assert_eq!(tenant["status"], "active");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the panel never caught up: {tenant}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status_of(&app, &token, tenants[1]).await, "suspended");
    // The audit log has each repair, with its actor.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let audit: Value = app
            .get_auth(
                &format!("/platform/api/audit?tenant={}&limit=500", tenants[1]),
                &token,
            )
            .await
            .json()
            .await
            .expect("json");
        let repaired = audit["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|i| i["event_type"] == "ResourceRepaired" && i["actor"] == "system")
            .count();
        if repaired == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "the audit log: {audit}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let (output, stdout) = doctor(&app, &url, &[]);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("2 tenant(s): 2 ok, 0 drift"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_users_survive_a_restart_of_a_persistent_redis() {
    let mut redis = PrivateRedis::start_persistent().await;
    let url = redis.url();
    let app = spawn(&url, None).await;
    let token = app.staff_token().await;
    let tenant = create(&app, &token, "kept", "shared_schema").await;
    wait_for(&app, &token, tenant, "active").await;
    let password = stored_redis_password(&app, &url, tenant).await;

    redis.stop().await;
    redis.start_again().await;
    assert_eq!(
        groups_as_tenant(&redis, tenant, &password)
            .await
            .expect("the tenant's user survived the restart"),
        vec!["workers"]
    );
    let (output, stdout) = doctor(&app, &url, &[]);
    assert!(output.status.success(), "{stdout}");
    assert_eq!(
        line_of(&stdout, tenant),
        format!("kept\t{tenant}\tactive\tok")
    );
    assert!(repairs(&app, tenant).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_reconciler_repairs_on_its_own() {
    let mut redis = PrivateRedis::start().await;
    let url = redis.url();
    let app = spawn(&url, Some(Duration::from_secs(1))).await;
    let token = app.staff_token().await;
    let tenant = create(&app, &token, "self-healing", "shared_schema").await;
    wait_for(&app, &token, tenant, "active").await;
    let password = stored_redis_password(&app, &url, tenant).await;
    assert!(
        repairs(&app, tenant).await.is_empty(),
        "nothing to repair yet"
    );

    redis.restart_empty().await;
    let restarted = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(60);
    let groups = loop {
        if let Ok(groups) = groups_as_tenant(&redis, tenant, &password).await {
            break groups;
        }
        assert!(
            Instant::now() < deadline,
            "the reconciler never brought the tenant's Redis user back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(groups, vec!["workers"]);
    println!(
        "the background reconciler (every 1s) brought the Redis user back {:.2}s after the restart",
        restarted.elapsed().as_secs_f64()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let events = loop {
        let events = repairs(&app, tenant).await;
        if events.len() == 2 {
            break events;
        }
        assert!(Instant::now() < deadline, "repairs recorded: {events:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(kinds(&events), vec!["queue", "redis_user"]);
    assert!(
        events
            .iter()
            .all(|e| e.metadata.actor.to_string() == "saga:reconciler")
    );
    let (output, stdout) = doctor(&app, &url, &[]);
    assert!(output.status.success(), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_database_is_data_loss_and_is_recreated_empty_only_when_asked() {
    let app = spawn(MACHINE_REDIS, None).await;
    let token = app.staff_token().await;
    let tenant = create(&app, &token, "lost-database", "database_per_tenant").await;
    wait_for(&app, &token, tenant, "active").await;
    let names = TenantNames::of(tenant);
    let database = names.database().to_owned();
    sqlx::raw_sql(&format!("DROP DATABASE \"{database}\" WITH (FORCE)"))
        .execute(&app.db.pool)
        .await
        .expect("drop database");
    let exists = || async {
        sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)")
            .bind(&database)
            .fetch_one(&app.db.pool)
            .await
            .expect("pg_database")
    };

    let (output, stdout) = doctor(&app, MACHINE_REDIS, &[]);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        line_of(&stdout, tenant).ends_with("drift: missing Database"),
        "{stdout}"
    );
    let (output, stdout) = doctor(&app, MACHINE_REDIS, &["--fix"]);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "data loss\tlost-database\t{tenant}\tDatabase\tdata loss: database {database}"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("--recreate-empty"), "{stdout}");
    assert!(!exists().await, "re-created without --recreate-empty");
    assert!(repairs(&app, tenant).await.is_empty());

    let (output, stdout) = doctor(&app, MACHINE_REDIS, &["--fix", "--recreate-empty"]);
    assert!(output.status.success(), "{stdout}\n{output:?}");
    assert!(exists().await);
    assert_eq!(kinds(&repairs(&app, tenant).await), vec!["database"]);
    // Empty, migrated, and the tenant's login works with its stored password.
    let password = secrets(&app, MACHINE_REDIS)
        .await
        .get(&names.postgres_secret())
        .await
        .expect("secret store")
        .expect("a stored password");
    let options: sqlx::postgres::PgConnectOptions = app.db.url.parse().expect("url");
    let mut conn = sqlx::PgConnection::connect_with(
        &options
            .database(&database)
            .username(names.role())
            .password(password.expose()),
    )
    .await
    .expect("the tenant logs in to its database with its stored password");
    let records: i64 = sqlx::query_scalar("SELECT count(*) FROM records")
        .fetch_one(&mut conn)
        .await
        .expect("the tenant migrations ran");
    assert_eq!(records, 0);
    conn.close().await.ok();
    let (output, stdout) = doctor(&app, MACHINE_REDIS, &[]);
    assert!(output.status.success(), "{stdout}");
    delete(&app, &token, tenant).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_role_is_recreated_with_its_grants() {
    let app = spawn(MACHINE_REDIS, None).await;
    let token = app.staff_token().await;
    let tenant = create(&app, &token, "lost-role", "schema_per_tenant").await;
    wait_for(&app, &token, tenant, "active").await;
    let names = TenantNames::of(tenant);
    let (role, schema) = (names.role().to_owned(), names.schema().to_owned());
    sqlx::raw_sql(&format!("DROP OWNED BY \"{role}\"; DROP ROLE \"{role}\""))
        .execute(&app.db.pool)
        .await
        .expect("drop role");

    let (output, stdout) = doctor(&app, MACHINE_REDIS, &[]);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        line_of(&stdout, tenant).ends_with("drift: missing Role"),
        "{stdout}"
    );
    let (output, stdout) = doctor(&app, MACHINE_REDIS, &["--fix"]);
    assert!(output.status.success(), "{stdout}\n{output:?}");
    assert_eq!(kinds(&repairs(&app, tenant).await), vec!["role"]);
    let (usage, records, history, login): (bool, bool, bool, bool) = sqlx::query_as(
        "SELECT has_schema_privilege($1, $2, 'USAGE'),
                has_table_privilege($1, $2 || '.records', 'SELECT, INSERT, UPDATE, DELETE'),
                has_table_privilege($1, $2 || '._sqlx_migrations', 'SELECT'),
                (SELECT rolcanlogin FROM pg_roles WHERE rolname = $1)",
    )
    .bind(&role)
    .bind(&schema)
    .fetch_one(&app.db.pool)
    .await
    .expect("privileges");
    assert!(usage && records, "the role's grants are back");
    assert!(!history, "the migration history stays the control plane's");
    assert!(
        login,
        "a schema tenant's role logs in again (issue 12: the app's way in)"
    );
    let (output, stdout) = doctor(&app, MACHINE_REDIS, &[]);
    assert!(output.status.success(), "{stdout}");
    delete(&app, &token, tenant).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_up_check_tells_a_forgetful_redis_from_a_persistent_one() {
    let forgetful = PrivateRedis::start().await;
    let mut conn = forgetful
        .client()
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let seen = redis_persistence::inspect(&mut conn).await.expect("config");
    let lost = seen.what_a_restart_loses().expect("a restart loses users");
    assert!(
        lost.contains("no aclfile") && lost.contains("appendonly no"),
        "{lost}"
    );

    let persistent = PrivateRedis::start_persistent().await;
    let mut conn = persistent
        .client()
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let seen = redis_persistence::inspect(&mut conn).await.expect("config");
    assert!(seen.acl_file && seen.append_only, "{seen:?}");
    assert_eq!(seen.what_a_restart_loses(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_schema_is_data_loss_and_is_recreated_empty_only_when_asked() {
    let app = spawn(MACHINE_REDIS, None).await;
    let token = app.staff_token().await;
    let tenant = create(&app, &token, "lost-schema-data", "schema_per_tenant").await;
    wait_for(&app, &token, tenant, "active").await;
    let names = TenantNames::of(tenant);
    let (role, schema) = (names.role().to_owned(), names.schema().to_owned());
    sqlx::raw_sql(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .execute(&app.db.pool)
        .await
        .expect("drop schema");
    let exists = || async {
        sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)")
            .bind(&schema)
            .fetch_one(&app.db.pool)
            .await
            .expect("pg_namespace")
    };

    let (output, stdout) = doctor(&app, MACHINE_REDIS, &["--fix"]);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "data loss\tlost-schema-data\t{tenant}\tSchema\tdata loss: schema {schema}"
        )),
        "{stdout}"
    );
    assert!(!exists().await, "re-created without --recreate-empty");
    assert!(repairs(&app, tenant).await.is_empty());

    let (output, stdout) = doctor(&app, MACHINE_REDIS, &["--fix", "--recreate-empty"]);
    assert!(output.status.success(), "{stdout}\n{output:?}");
    assert_eq!(kinds(&repairs(&app, tenant).await), vec!["schema"]);
    let (records, usage): (i64, bool) = sqlx::query_as(&format!(
        "SELECT (SELECT count(*) FROM \"{schema}\".records),
                has_table_privilege($1, $2 || '.records', 'SELECT, INSERT')"
    ))
    .bind(&role)
    .bind(&schema)
    .fetch_one(&app.db.pool)
    .await
    .expect("the tenant migrations ran");
    assert_eq!(records, 0);
    assert!(usage, "the tenant's role can use its new schema");
    delete(&app, &token, tenant).await;
}
