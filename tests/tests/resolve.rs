//! Issue 12 §4, which tenant a host belongs to: `GET /platform/api/resolve?host=H` (staff or a
//! `directory:read` service token) answers `{slug}.{base domain}` of schema, database and shared
//! tenants with how to reach their data (no secret), `{"public":true}` for the control plane's
//! own hosts, 404 for unknown hosts and deleted tenants, 422 for a malformed host, and 403
//! `tenant_suspended` (with the reason) while a tenant is suspended, 200 again once it is
//! reactivated. `GET /internal/tls/ask?domain=H` says the same to a TLS proxy without
//! authentication: 200, 403 or 404.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tenantry_api::Settings;
use tenantry_api::cli::service_token::ServiceTokenCommand;
use tenantry_infrastructure::service_tokens::Scope;
use tenantry_tests::{TestApp, TestDb};

const TENANTS: &str = "/platform/api/tenants";
const BASE: &str = "tenants.test";

struct Fixture {
    app: TestApp,
    token: String,
}

async fn spawn() -> Fixture {
    let app = TestApp::spawn_with(TestDb::new().await, |s| {
        s.run_sagas = true;
        s.provisioning_retry_base_ms = 100;
        s.provisioning_retry_max_ms = 400;
        s.base_domain = BASE.into();
        // The test client's own host must stay allowed: 127.0.0.1 (the port is ignored).
        s.control_plane_hosts = vec!["admin.tenants.test".into(), "127.0.0.1".into()];
    })
    .await;
    let token = app.staff_token().await;
    Fixture { app, token }
}

impl Fixture {
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

    async fn resolve_as(&self, host: &str, token: &str) -> (StatusCode, Value) {
        let response = self
            .app
            .client
            .get(self.app.url("/platform/api/resolve"))
            .query(&[("host", host)])
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        (
            response.status(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    async fn resolve(&self, host: &str) -> (StatusCode, Value) {
        self.resolve_as(host, &self.token).await
    }

    async fn ask(&self, domain: &str) -> StatusCode {
        self.app
            .client
            .get(self.app.url("/internal/tls/ask"))
            .query(&[("domain", domain)])
            .send()
            .await
            .expect("request")
            .status()
    }

    /// Resolves `host` until it answers `status` (the directory follows the log).
    async fn resolve_until(&self, host: &str, status: StatusCode) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (got, body) = self.resolve(host).await;
            if got == status {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "{host} never answered {status}: {got} {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Resolves `host` until its tenant is active.
    async fn active(&self, host: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (got, body) = self.resolve(host).await;
            if got == StatusCode::OK && body["status"] == "active" {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "{host} never became active: {got} {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_resolve_to_their_tenants_until_suspended_or_deleted() {
    let f = spawn().await;
    let schema = f.create("pro", "schema-clinic").await;
    let database = f.create("enterprise", "db-clinic").await;
    let shared = f.create("free", "shared-clinic").await;

    for (id, slug, isolation) in [
        (&schema, "schema-clinic", "schema_per_tenant"),
        (&database, "db-clinic", "database_per_tenant"),
        (&shared, "shared-clinic", "shared_schema"),
    ] {
        // Case, a port and a trailing dot are ignored, as in a `Host` header.
        let body = f
            .active(&format!("{}.{BASE}:443", slug.to_uppercase()))
            .await;
        assert_eq!(body["tenant_id"], id.as_str(), "{body}");
        assert_eq!(body["slug"], slug);
        assert_eq!(body["isolation"], isolation);
        assert_eq!(body["portal_url"], format!("https://{slug}.{BASE}"));
        assert_eq!(body["redis_namespace"], format!("tenant:{id}:"), "{body}");
        assert_eq!(
            body["queues"][0]["stream"],
            format!("tenant:{id}:queue:default")
        );
        assert!(body["port"].as_u64().is_some_and(|p| p > 0), "{body}");
        // The same names as `GET …/connection` (one source for both).
        let connection: Value = f
            .app
            .get_auth(&format!("{TENANTS}/{id}/connection"), &f.token)
            .await
            .json()
            .await
            .expect("json");
        let pg = &connection["postgres"];
        for field in ["database", "schema", "user", "host", "port"] {
            assert_eq!(body[field], pg[field], "{isolation}: {field}");
        }
        assert_eq!(body["redis_user"], connection["redis"]["user"]);
        assert!(body.get("passwords").is_none() && !body.to_string().contains("password"));
        assert_eq!(f.ask(&format!("{slug}.{BASE}")).await, StatusCode::OK);
    }
    assert_eq!(
        f.resolve(&format!("shared-clinic.{BASE}")).await.1["schema"],
        "shared"
    );

    // Unknown hosts, the control plane's own, malformed ones.
    for unknown in [
        format!("nobody.{BASE}"),
        "schema-clinic.elsewhere.test".into(),
        format!("a.schema-clinic.{BASE}"),
    ] {
        let (status, body) = f.resolve(&unknown).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
        assert_eq!(f.ask(&unknown).await, StatusCode::NOT_FOUND, "{unknown}");
    }
    for public in [BASE, "admin.tenants.test", "Admin.Tenants.Test."] {
        let (status, body) = f.resolve(public).await;
        assert_eq!(status, StatusCode::OK, "{public}");
        assert_eq!(body, json!({"public": true}));
        assert_eq!(f.ask(public).await, StatusCode::NOT_FOUND, "{public}");
    }
    for bad in ["", "a b", "x/y", "acme..test", "acme.test:port"] {
        let (status, body) = f.resolve(bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}: {body}");
        assert_eq!(body["error"]["field"], "host", "{body}");
    }
    let missing: Value = f
        .app
        .get_auth("/platform/api/resolve", &f.token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(missing["error"]["field"], "host", "{missing}");
    let missing = f.app.get("/internal/tls/ask").await;
    assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Suspended: 403 `tenant_suspended` on both, with who and why on resolve.
    let host = format!("schema-clinic.{BASE}");
    let response = f
        .app
        .post_json_auth(
            &format!("{TENANTS}/{schema}/suspend"),
            &json!({"reason": "unpaid invoice"}),
            &f.token,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = f.resolve_until(&host, StatusCode::FORBIDDEN).await;
    assert_eq!(body["error"]["code"], "tenant_suspended", "{body}");
    assert_eq!(body["tenant_id"], schema.as_str());
    assert_eq!(body["slug"], "schema-clinic");
    assert_eq!(body["reason"], "unpaid invoice");
    assert_eq!(f.ask(&host).await, StatusCode::FORBIDDEN);

    // Reactivated: 200 again.
    let response = f
        .app
        .post_auth(&format!("{TENANTS}/{schema}/reactivate"), &f.token)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    f.active(&host).await;
    assert_eq!(f.ask(&host).await, StatusCode::OK);

    // Deleting and deleted: 404.
    let response = f
        .app
        .delete_auth(&format!("{TENANTS}/{database}"), &f.token)
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let host = format!("db-clinic.{BASE}");
    f.resolve_until(&host, StatusCode::NOT_FOUND).await;
    assert_eq!(f.ask(&host).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn resolve_takes_staff_or_a_directory_read_service_token() {
    let f = spawn().await;
    let mut settings = Settings::from_env();
    settings.database_url = f.app.db.url.clone();
    let token = |scope: Scope| {
        let settings = settings.clone();
        async move {
            let mut out = Vec::new();
            ServiceTokenCommand::Create {
                name: "router".into(),
                scopes: vec![scope],
                tenant: None,
            }
            .run(&settings, &mut out)
            .await
            .expect("create");
            String::from_utf8(out)
                .expect("utf-8")
                .lines()
                .next()
                .expect("token")
                .to_owned()
        }
    };
    let directory = token(Scope::DirectoryRead).await;
    let credentials = token(Scope::CredentialsRead).await;

    let (status, body) = f.resolve_as(BASE, &directory).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = f.resolve_as(&format!("nobody.{BASE}"), &directory).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = f.resolve_as(BASE, &credentials).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    let (status, _) = f.resolve_as(BASE, "not-a-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let status = f
        .app
        .get("/platform/api/resolve?host=x.test")
        .await
        .status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A directory token reaches no credentials and no staff route.
    let status = f.app.get_auth(TENANTS, &directory).await.status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
