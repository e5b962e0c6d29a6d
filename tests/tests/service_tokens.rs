//! Issue 12 §2, the services' way in: a service token (`tenantry service-token create`, run as the
//! binary runs it) with `credentials:read` reveals its tenant's passwords, which log in to
//! PostgreSQL (a private cluster that checks passwords), and the reveal is audited as
//! `service:{token id}`; another tenant, a token without the scope → 403; a revoked token → 401;
//! on any staff-only route a service token is 401. The table keeps no clear token. And a reveal
//! right after a create finds the tenant by its slug (it waits for the read models).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::Connection;
use tenantry_api::Settings;
use tenantry_api::cli::service_token::ServiceTokenCommand;
use tenantry_infrastructure::service_tokens::Scope;
use tenantry_tests::tenant_access::{events_of_type, pg_url};
use tenantry_tests::{PrivatePg, TestApp, TestDb};

const TENANTS: &str = "/platform/api/tenants";

struct Fixture {
    app: TestApp,
    token: String,
    settings: Settings,
    _pg: Option<PrivatePg>,
}

async fn spawn() -> Fixture {
    let pg = PrivatePg::start_new();
    pg.require_passwords();
    let db = TestDb::on_server(&pg.server_url()).await;
    let app = TestApp::spawn_with(db, |s| {
        s.run_sagas = true;
        s.provisioning_retry_base_ms = 100;
        s.provisioning_retry_max_ms = 400;
    })
    .await;
    fixture(app, Some(pg)).await
}

async fn fixture(app: TestApp, pg: Option<PrivatePg>) -> Fixture {
    let token = app.staff_token().await;
    let mut settings = Settings::from_env();
    settings.database_url = app.db.url.clone();
    Fixture {
        app,
        token,
        settings,
        _pg: pg,
    }
}

/// A token made by `tenantry service-token create`: (token, id).
struct Service {
    token: String,
    id: String,
}

impl Fixture {
    async fn cli(&self, command: ServiceTokenCommand) -> anyhow::Result<String> {
        let mut out = Vec::new();
        command.run(&self.settings, &mut out).await?;
        Ok(String::from_utf8(out)?)
    }

    async fn service(&self, name: &str, scopes: &[Scope], tenant: Option<&str>) -> Service {
        let out = self
            .cli(ServiceTokenCommand::Create {
                name: name.into(),
                scopes: scopes.to_vec(),
                tenant: tenant.map(str::to_owned),
            })
            .await
            .expect("service-token create");
        let mut lines = out.lines();
        let token = lines.next().expect("the token").to_owned();
        let id = lines.next().expect("the id").to_owned();
        assert!(token.starts_with("tsk_"), "{out}");
        Service { token, id }
    }

    async fn create(&self, plan: &str, slug: &str) -> String {
        let response = self
            .app
            .post_json_auth(
                TENANTS,
                &json!({"name": format!("Clinic {slug}"), "slug": slug, "plan": plan}),
                &self.token,
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.expect("json");
        body["id"].as_str().expect("id").to_owned()
    }

    async fn wait_for(&self, id: &str, status: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let body: Value = self
                .app
                .get_auth(&format!("{TENANTS}/{id}"), &self.token)
                .await
                .json()
                .await
                .expect("json");
            if body["status"] == status {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "tenant {id} never became {status}: {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn reveal(&self, id: &str, token: &str) -> (StatusCode, Value) {
        let response = self
            .app
            .post_auth(&format!("{TENANTS}/{id}/connection/reveal"), token)
            .await;
        (
            response.status(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    async fn connection(&self, id: &str, token: &str) -> StatusCode {
        self.app
            .get_auth(&format!("{TENANTS}/{id}/connection"), token)
            .await
            .status()
    }

    async fn revealed_events(&self, id: &str) -> Vec<Value> {
        events_of_type(&self.app, &self.token, id, "TenantCredentialsRevealed").await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_token_reveals_its_tenants_passwords_and_nothing_else() {
    let f = spawn().await;
    let own = f.create("pro", "own-clinic").await;
    let other = f.create("enterprise", "other-clinic").await;
    f.wait_for(&own, "active").await;
    f.wait_for(&other, "active").await;
    // Held to its tenant, named by slug.
    let held = f
        .service("backend", &[Scope::CredentialsRead], Some("own-clinic"))
        .await;
    let any = f
        .service(
            "fleet backend",
            &[Scope::CredentialsRead, Scope::DirectoryRead],
            None,
        )
        .await;
    let resolver = f.service("router", &[Scope::DirectoryRead], None).await;

    // Its tenant's passwords, which log in.
    assert_eq!(f.connection(&own, &held.token).await, StatusCode::OK);
    let (status, revealed) = f.reveal("own-clinic", &held.token).await;
    assert_eq!(status, StatusCode::OK, "{revealed}");
    let password = revealed["passwords"]["postgres"].as_str().expect("pg");
    let mut conn = sqlx::PgConnection::connect(&pg_url(&revealed, password))
        .await
        .expect("the revealed password logs in");
    let schema: String = sqlx::query_scalar("SELECT current_schema()::text")
        .fetch_one(&mut conn)
        .await
        .expect("query");
    assert_eq!(schema, revealed["postgres"]["schema"]);

    // Audited as the service, from its address, with no secret in it.
    let events = f.revealed_events(&own).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = events[0].to_string();
    assert!(event.contains(&format!("service:{}", held.id)), "{event}");
    assert!(event.contains("127.0.0.1"), "{event}");
    assert!(!event.contains(password) && !event.contains(&held.token));

    // Not another tenant's, nor an unknown one's (no probing which exist).
    assert_eq!(f.reveal(&other, &held.token).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        f.connection(&other, &held.token).await,
        StatusCode::FORBIDDEN
    );
    let unknown = uuid::Uuid::now_v7().to_string();
    assert_eq!(
        f.reveal(&unknown, &held.token).await.0,
        StatusCode::FORBIDDEN
    );
    assert!(f.revealed_events(&other).await.is_empty());
    // A token held to no tenant reaches any; an unknown tenant is 404 for it.
    let (status, body) = f.reveal(&other, &any.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        f.reveal(&unknown, &any.token).await.0,
        StatusCode::NOT_FOUND
    );
    // Without the scope → 403.
    let (status, body) = f.reveal(&own, &resolver.token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(
        f.connection(&own, &resolver.token).await,
        StatusCode::FORBIDDEN
    );

    // Staff-only routes refuse a service token as they refuse any non-staff token.
    let create = f
        .app
        .post_json_auth(TENANTS, &json!({"name": "Sneaky"}), &any.token)
        .await;
    assert_eq!(create.status(), StatusCode::UNAUTHORIZED);
    for path in [
        TENANTS.to_owned(),
        format!("{TENANTS}/{own}"),
        "/platform/api/auth/me".into(),
    ] {
        let status = f.app.get_auth(&path, &any.token).await.status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let suspend = f
        .app
        .post_auth(&format!("{TENANTS}/{own}/suspend"), &any.token)
        .await;
    assert_eq!(suspend.status(), StatusCode::UNAUTHORIZED);

    // Only hashes are kept: no column of any row holds a token.
    for service in [&held, &any, &resolver] {
        let clear: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM service_tokens t \
             WHERE t::text LIKE '%' || $1 || '%' \
                OR position(convert_to($1, 'UTF8') IN t.token_hash) > 0",
        )
        .bind(&service.token)
        .fetch_one(&f.app.db.pool)
        .await
        .expect("search");
        assert_eq!(clear, 0, "a row holds the token");
        let hash: Vec<u8> =
            sqlx::query_scalar("SELECT token_hash FROM service_tokens WHERE id = $1::uuid")
                .bind(&service.id)
                .fetch_one(&f.app.db.pool)
                .await
                .expect("hash");
        assert_eq!(hash, Sha256::digest(service.token.as_bytes()).to_vec());
    }

    // `list` names them without the token; the used one has a last use.
    let listed = f.cli(ServiceTokenCommand::List).await.expect("list");
    assert_eq!(listed.lines().count(), 3, "{listed}");
    assert!(!listed.contains("tsk_"), "{listed}");
    let line = listed
        .lines()
        .find(|l| l.starts_with(&held.id))
        .expect("the held token is listed");
    let fields: Vec<&str> = line.split('\t').collect();
    assert_eq!(fields[1], "backend");
    assert_eq!(fields[2], "credentials:read");
    assert_eq!(fields[3], own);
    assert_ne!(fields[5], "-", "{line}");
    assert_eq!(fields[6], "active");

    // Revoked → 401 from the next request on; revoking again changes nothing.
    let id: uuid::Uuid = held.id.parse().expect("id");
    let out = f
        .cli(ServiceTokenCommand::Revoke { id })
        .await
        .expect("revoke");
    assert!(out.starts_with("revoked service token"), "{out}");
    assert_eq!(
        f.reveal(&own, &held.token).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        f.connection(&own, &held.token).await,
        StatusCode::UNAUTHORIZED
    );
    let out = f
        .cli(ServiceTokenCommand::Revoke { id })
        .await
        .expect("revoke again");
    assert!(out.contains("already revoked"), "{out}");
    assert_eq!(f.revealed_events(&own).await.len(), 1);
    // A made-up token of the right shape is 401 too.
    let forged = format!("tsk_{}", "A".repeat(43));
    assert_eq!(f.reveal(&own, &forged).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_cli_refuses_unknown_tenants_and_empty_names() {
    let f = fixture(TestApp::spawn().await, None).await;
    let unknown = f
        .cli(ServiceTokenCommand::Create {
            name: "backend".into(),
            scopes: vec![Scope::CredentialsRead],
            tenant: Some("nobody".into()),
        })
        .await
        .expect_err("an unknown tenant");
    assert!(unknown.to_string().contains("--tenant"), "{unknown}");
    let empty = f
        .cli(ServiceTokenCommand::Create {
            name: "  ".into(),
            scopes: vec![Scope::CredentialsRead],
            tenant: None,
        })
        .await
        .expect_err("an empty name");
    assert!(empty.to_string().contains("--name"), "{empty}");
    let missing = f
        .cli(ServiceTokenCommand::Revoke {
            id: uuid::Uuid::now_v7(),
        })
        .await
        .expect_err("no such token");
    assert!(
        missing.to_string().contains("no service token"),
        "{missing}"
    );
}

/// The reveal waits for the read models as `GET …/connection` does: by slug, right after the
/// create, it finds the tenant (here still provisioning: no saga runs, so 409, never 404).
#[tokio::test]
async fn a_reveal_right_after_a_create_finds_the_tenant_by_slug() {
    let f = fixture(TestApp::spawn().await, None).await;
    for n in 0..5 {
        let slug = format!("fresh-{n}");
        f.create("pro", &slug).await;
        let (status, body) = f.reveal(&slug, &f.token).await;
        assert_eq!(status, StatusCode::CONFLICT, "{slug}: {body}");
        assert_eq!(body["error"]["code"], "invalid_state", "{body}");
    }
}
