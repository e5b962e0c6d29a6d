//! The real server, started on port 0 against a [`TestDb`], with a typed HTTP client and helpers
//! for staff authentication (create a staff account, log in, send requests with its token).

use std::sync::Arc;

use serde_json::Value;
use tenantry_api::{Application, Settings};
use tenantry_application::event_store::EventStore;
use tenantry_application::staff::StaffService;
use uuid::Uuid;

use crate::TestDb;

/// The password [`TestApp::staff_token`] gives its staff accounts.
pub const STAFF_PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: TestDb,
    /// The event store, built as the service builds it (`tenantry_api::event_store`), to look
    /// at the log through the port.
    pub store: Arc<dyn EventStore>,
    /// Staff accounts over the same database, as `tenantry staff create` makes them.
    pub staff: StaffService,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestApp {
    /// Starts the service on a free port over a fresh, migrated database.
    pub async fn spawn() -> Self {
        let db = TestDb::new().await;
        Self::spawn_with(db, |_| {}).await
    }

    /// Starts the service over `db`, after `configure` has adjusted the settings.
    pub async fn spawn_with(db: TestDb, configure: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = Settings::from_env();
        settings.database_url = db.url.clone();
        // The log in the test's database, whatever the environment says.
        settings.event_store_url = None;
        settings.redis_url = std::env::var("TENANTRY_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        settings.http_addr = "127.0.0.1:0".parse().expect("a valid address");
        settings.database_max_connections = 8;
        // The provisioning saga makes real databases and Redis users: only the tests about it
        // turn it on.
        settings.run_sagas = false;
        // Tests in parallel create and drop databases, which can hold the read side back for
        // seconds (see `conformance::HORIZON_WAIT`); `min_position` waits that long.
        settings.read_model_wait_ms = crate::conformance::HORIZON_WAIT.as_millis() as u64;
        configure(&mut settings);
        let app = Application::build(&settings)
            .await
            .expect("failed to build the application");
        let store = tenantry_api::event_store::build(&settings, &db.pool)
            .await
            .expect("failed to build the event store");
        let address = format!("http://127.0.0.1:{}", app.port());
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(app.run_until_stopped(async {
            let _ = rx.await;
        }));
        Self {
            address,
            client: reqwest::Client::new(),
            staff: tenantry_api::startup::staff_service(&db.pool, &store),
            store,
            db,
            shutdown: Some(tx),
        }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("the request failed")
    }

    /// `GET path` with `Authorization: Bearer token`.
    pub async fn get_auth(&self, path: &str, token: &str) -> reqwest::Response {
        self.send(self.client.get(self.url(path)).bearer_auth(token))
            .await
    }

    /// `POST path` with a JSON body and no token.
    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    /// `POST path` with a JSON body and `Authorization: Bearer token`.
    pub async fn post_json_auth(&self, path: &str, body: &Value, token: &str) -> reqwest::Response {
        self.send(
            self.client
                .post(self.url(path))
                .json(body)
                .bearer_auth(token),
        )
        .await
    }

    /// Creates a tenant through `POST /platform/api/tenants` (asserting 201) and returns its id.
    pub async fn create_tenant(&self, body: &Value, token: &str) -> tenantry_domain::TenantId {
        let response = self
            .post_json_auth("/platform/api/tenants", body, token)
            .await;
        assert_eq!(response.status(), reqwest::StatusCode::CREATED);
        let body: Value = response.json().await.expect("json");
        tenantry_domain::TenantId::from_uuid(
            body["id"].as_str().expect("id").parse().expect("uuid"),
        )
    }

    /// `GET /platform/api/tenants/{id}`'s JSON (`null` when the answer is not JSON).
    pub async fn tenant_json(&self, id: tenantry_domain::TenantId, token: &str) -> Value {
        let response = self
            .get_auth(&format!("/platform/api/tenants/{id}"), token)
            .await;
        response.json().await.unwrap_or(Value::Null)
    }

    /// `POST path` without a body, with `Authorization: Bearer token`.
    pub async fn post_auth(&self, path: &str, token: &str) -> reqwest::Response {
        self.send(self.client.post(self.url(path)).bearer_auth(token))
            .await
    }

    /// `PATCH path` with a JSON body and `Authorization: Bearer token`.
    pub async fn patch_json_auth(
        &self,
        path: &str,
        body: &Value,
        token: &str,
    ) -> reqwest::Response {
        self.send(
            self.client
                .patch(self.url(path))
                .json(body)
                .bearer_auth(token),
        )
        .await
    }

    /// `DELETE path` with `Authorization: Bearer token`.
    pub async fn delete_auth(&self, path: &str, token: &str) -> reqwest::Response {
        self.send(self.client.delete(self.url(path)).bearer_auth(token))
            .await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> reqwest::Response {
        request.send().await.expect("the request failed")
    }

    /// Creates a staff account (as `tenantry staff create` does) and returns its id.
    pub async fn create_staff(&self, email: &str, password: &str) -> Uuid {
        self.staff
            .create(email, password)
            .await
            .expect("failed to create a staff account")
            .id
    }

    /// Logs in through the API and returns the access token; panics unless the login succeeds.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let body = serde_json::json!({"email": email, "password": password});
        let response = self.post_json("/platform/api/auth/login", &body).await;
        let status = response.status();
        let body: Value = response.json().await.expect("a JSON login response");
        assert_eq!(status, 200, "login failed: {body}");
        body["access_token"]
            .as_str()
            .expect("an access_token in the login response")
            .to_owned()
    }

    /// Creates a staff account with a random email and returns a token of it.
    pub async fn staff_token(&self) -> String {
        let email = format!("staff-{}@example.com", Uuid::new_v4().simple());
        self.create_staff(&email, STAFF_PASSWORD).await;
        self.login(&email, STAFF_PASSWORD).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
