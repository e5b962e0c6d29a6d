//! The tenant command endpoints over HTTP: what a client sees for good and bad requests, and that
//! a refused request leaves the event log as it was.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tenantry_application::event_store::Actor;
use tenantry_tests::{TestApp, event_log};

struct Client {
    app: TestApp,
    token: String,
}

impl Client {
    async fn new() -> Self {
        let app = TestApp::spawn().await;
        let token = app.staff_token().await;
        Self { app, token }
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self
            .app
            .client
            .request(method, format!("{}{path}", self.app.address))
            .bearer_auth(&self.token)
            .header("user-agent", "tenantry-tests");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request failed");
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    async fn raw(&self, method: Method, path: &str, body: &'static str) -> (StatusCode, Value) {
        let response = self
            .app
            .client
            .request(method, format!("{}{path}", self.app.address))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request failed");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn create(&self, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, "/platform/api/tenants", Some(body))
            .await
    }

    async fn event_count(&self) -> u64 {
        event_log::event_count(&*self.app.store).await
    }
}

fn assert_error(body: &Value, code: &str, field: Option<&str>) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    if let Some(field) = field {
        assert_eq!(body["error"]["field"], field, "{body}");
    }
}

#[tokio::test]
async fn create_answers_201_and_records_who_did_it() {
    let c = Client::new().await;
    let (status, body) = c
        .create(
            json!({"name": "Clínica São José", "plan": "pro", "admin_email": "marco@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["slug"], "clinica-sao-jose");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["version"], 1);
    assert!(body["position"].as_u64().is_some_and(|p| p > 0));
    let id = body["id"].as_str().expect("an id");

    let events = event_log::stream(&*c.app.store, &format!("tenant-{id}")).await;
    let [created] = events.as_slice() else {
        panic!("one event, the TenantCreated: {events:?}");
    };
    assert_eq!(created.event_type, "TenantCreated");
    assert!(
        matches!(created.metadata.actor, Actor::Staff { .. }),
        "{:?}",
        created.metadata.actor
    );
    assert_eq!(created.metadata.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        created.metadata.user_agent.as_deref(),
        Some("tenantry-tests")
    );
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_changes_nothing() {
    let c = Client::new().await;
    let before = c.event_count().await;
    let cases: Vec<(Value, StatusCode, &str, Option<&str>)> = vec![
        (
            json!({"name": "Ok", "color": "red"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
            Some("color"),
        ),
        (
            json!({"name": 42}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
            Some("name"),
        ),
        (
            json!({"plan": "pro"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
            Some("name"),
        ),
        (
            json!({"name": "   "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_name",
            Some("name"),
        ),
        (
            json!({"name": "Ok", "slug": "Bad Slug"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_slug",
            Some("slug"),
        ),
        (
            json!({"name": "Ok", "slug": "-abc"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_slug",
            Some("slug"),
        ),
        (
            json!({"name": "Ok", "slug": "admin"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "reserved_slug",
            Some("slug"),
        ),
        (
            json!({"name": "Ok", "slug": "x'; DROP TABLE events; --"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_slug",
            Some("slug"),
        ),
        (
            json!({"name": "Ok Co", "plan": "platinum"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_plan",
            Some("plan"),
        ),
        (
            json!({"name": "Ok Co", "isolation": "own_cluster"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_isolation",
            Some("isolation"),
        ),
        (
            json!({"name": "Ok Co", "admin_email": "not-an-email"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_email",
            Some("admin_email"),
        ),
    ];
    for (body, status, code, field) in cases {
        let (got, answer) = c.create(body.clone()).await;
        assert_eq!(got, status, "{body} → {answer}");
        assert_error(&answer, code, field);
    }
    let (status, answer) = c
        .raw(Method::POST, "/platform/api/tenants", "{\"name\": ")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&answer, "malformed_json", None);

    let huge = format!("{{\"name\": \"{}\"}}", "a".repeat(1 << 20));
    let response = c
        .app
        .client
        .post(format!("{}/platform/api/tenants", c.app.address))
        .bearer_auth(&c.token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    assert_eq!(
        c.event_count().await,
        before,
        "refused requests appended nothing"
    );
}

#[tokio::test]
async fn an_injection_shaped_name_is_stored_verbatim() {
    let c = Client::new().await;
    let name = "Robert'); DROP TABLE events;--";
    let (status, body) = c.create(json!({"name": name, "slug": "bobby"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().expect("an id");
    let events = event_log::stream(&*c.app.store, &format!("tenant-{id}")).await;
    assert_eq!(events[0].event_type, "TenantCreated");
    assert_eq!(events[0].payload["name"], name);
}

#[tokio::test]
async fn a_slug_is_taken_once_even_by_simultaneous_creates() {
    let c = Client::new().await;
    let (status, _) = c.create(json!({"name": "First", "slug": "dup-slug"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let before = c.event_count().await;
    let (status, body) = c
        .create(json!({"name": "Second", "slug": "dup-slug"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_error(&body, "slug_taken", None);
    assert_eq!(c.event_count().await, before);

    let racers =
        (0..8).map(|i| c.create(json!({"name": format!("Racer {i}"), "slug": "same-instant"})));
    let results = futures::future::join_all(racers).await;
    let won = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    let lost = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CONFLICT)
        .count();
    assert_eq!((won, lost), (1, 7), "{results:?}");
}

#[tokio::test]
async fn unknown_tenants_are_404() {
    let c = Client::new().await;
    let before = c.event_count().await;
    for path in [
        "/platform/api/tenants/0193a1b2-0000-7000-8000-000000000000/suspend",
        "/platform/api/tenants/not-a-uuid/suspend",
        "/platform/api/tenants/0193a1b2-0000-7000-8000-000000000000/provision",
    ] {
        let (status, body) = c.send(Method::POST, path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_error(&body, "not_found", None);
    }
    let (status, _) = c
        .send(
            Method::PATCH,
            "/platform/api/tenants/0193a1b2-0000-7000-8000-000000000000",
            Some(json!({"name": "X"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(c.event_count().await, before);
}

#[tokio::test]
async fn if_match_guards_updates_and_states_guard_commands() {
    let c = Client::new().await;
    let (_, created) = c.create(json!({"name": "Padaria Pão Quente"})).await;
    let id = created["id"].as_str().expect("id").to_owned();
    let path = format!("/platform/api/tenants/{id}");

    // A command not allowed in this state: the message names the state.
    let before = c.event_count().await;
    let (status, body) = c.send(Method::POST, &format!("{path}/suspend"), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_error(&body, "invalid_state", None);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("pending"),
        "{body}"
    );

    // A stale If-Match.
    let stale = c
        .app
        .client
        .patch(format!("{}{path}", c.app.address))
        .bearer_auth(&c.token)
        .header("if-match", "7")
        .json(&json!({"name": "Renamed"}))
        .send()
        .await
        .expect("request");
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let body: Value = stale.json().await.expect("json");
    assert_error(&body, "version_mismatch", None);
    assert_eq!(c.event_count().await, before);

    // The current version goes through.
    let ok = c
        .app
        .client
        .patch(format!("{}{path}", c.app.address))
        .bearer_auth(&c.token)
        .header("if-match", "1")
        .json(&json!({"name": "Padaria Pão Quentinho", "plan": "enterprise"}))
        .send()
        .await
        .expect("request");
    assert_eq!(ok.status(), StatusCode::OK);
    let body: Value = ok.json().await.expect("json");
    assert_eq!(body["version"], 3, "rename and plan change: two events");

    // Provisioning, deletion: accepted.
    let (status, body) = c
        .send(Method::POST, &format!("{path}/provision"), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "provisioning");
    let (status, body) = c.send(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "deleting");
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer() {
    let c = Client::new().await;
    let post = |body: Value, key: &'static str| {
        c.app
            .client
            .post(format!("{}/platform/api/tenants", c.app.address))
            .bearer_auth(&c.token)
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let first = post(json!({"name": "Once Only"}), "key-1")
        .await
        .expect("request");
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.expect("json");
    let events = c.event_count().await;

    let again = post(json!({"name": "Once Only"}), "key-1")
        .await
        .expect("request");
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.expect("json");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(c.event_count().await, events, "the retry created nothing");

    let other = post(json!({"name": "Something Else"}), "key-1")
        .await
        .expect("request");
    assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_one_shot_provision_creates_invites_and_instructs() {
    let c = Client::new().await;
    let before = c.event_count().await;
    let (status, body) = c
        .send(
            Method::POST,
            "/api/tenants/provision",
            Some(json!({"name": "Secretária Virtual", "plan": "pro"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "missing_admin_email", Some("admin_email"));
    assert_eq!(c.event_count().await, before);

    let (status, body) = c
        .send(
            Method::POST,
            "/api/tenants/provision",
            Some(json!({"name": "Secretária Virtual", "plan": "pro", "admin_email": "ana@example.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "provisioning");
    assert_eq!(body["slug"], "secretaria-virtual");
    assert_eq!(body["admin_invitation"]["email"], "ana@example.com");
    let token = body["admin_invitation"]["token"].as_str().expect("a token");
    assert!(token.len() >= 40, "a long random token");
    let id = body["id"].as_str().expect("id");
    assert_eq!(
        body["worker"]["queue"],
        format!("tenant:{id}:queue:default")
    );
    assert_eq!(
        body["domains"]["default_host"],
        "secretaria-virtual.localhost"
    );

    // Only a hash of the token is kept, and the event log never sees it.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM tenant_invitations")
        .fetch_one(&c.app.db.pool)
        .await
        .expect("one invitation");
    assert_ne!(stored, token.as_bytes());
    let log = event_log::all_events(&*c.app.store).await;
    let leaked = log
        .iter()
        .filter(|e| {
            serde_json::to_string(e)
                .expect("an event as JSON")
                .contains(token)
        })
        .count();
    assert_eq!(leaked, 0);
    let invited = log
        .iter()
        .filter(|e| e.event_type == "TenantAdminInvited")
        .count();
    assert_eq!(invited, 1);
}

/// A command decided from a state the caller kept (as the saga keeps what its last append left)
/// goes through while that state is current, and is decided again from the stream when someone
/// appended meanwhile.
#[tokio::test]
async fn a_command_from_a_kept_state_is_decided_again_when_the_stream_moved_on() {
    use std::sync::Arc;
    use tenantry_application::clock::SystemClock;
    use tenantry_application::event_store::{Actor, EventStore, Upcasters};
    use tenantry_application::tenants::{
        CommandContext, CommandError, CreateTenantInput, TenantService,
    };
    use tenantry_domain::{PlanCatalog, ReservedSubdomains, TenantCommand};
    use tenantry_infrastructure::event_store::PgEventStore;

    let db = tenantry_tests::TestDb::new().await;
    let store: Arc<dyn EventStore> = Arc::new(PgEventStore::new(db.pool.clone(), Upcasters::new()));
    let tenants = TenantService::new(
        store.clone(),
        Arc::new(SystemClock),
        PlanCatalog::default(),
        ReservedSubdomains::default(),
    );
    let context = CommandContext::new(Actor::Saga {
        name: "test".into(),
    });
    let create = |name: &str| CreateTenantInput {
        name: name.into(),
        ..CreateTenantInput::default()
    };
    let provision = || {
        vec![TenantCommand::RequestProvisioning {
            at: chrono::Utc::now(),
        }]
    };
    let types = |stream: String| {
        let store = store.clone();
        async move { event_log::event_types(&*store, &stream).await }
    };

    // Current: no load needed, and the state given back is what a load gives.
    let current = tenants
        .create(create("Kept State"), &context)
        .await
        .unwrap();
    let known = tenants.load(current.tenant_id).await.unwrap();
    let after = tenants
        .execute_from(Some(known), current.tenant_id, provision(), None, &context)
        .await
        .expect("appended from the kept state");
    assert_eq!(after.version, 2);
    let loaded = tenants.load(current.tenant_id).await.unwrap();
    assert_eq!(
        (after.state, after.position),
        (loaded.state, loaded.position)
    );

    // Stale: the tenant was asked to be deleted meanwhile, so provisioning is refused, and
    // nothing decided from the old state is stored.
    let moved = tenants.create(create("Moved On"), &context).await.unwrap();
    let stale = tenants.load(moved.tenant_id).await.unwrap();
    tenants
        .request_deletion(moved.tenant_id, None, &context)
        .await
        .unwrap();
    let refused = tenants
        .execute_from(Some(stale), moved.tenant_id, provision(), None, &context)
        .await;
    assert!(
        matches!(refused, Err(CommandError::Rejected(_))),
        "{refused:?}"
    );
    assert_eq!(
        types(moved.tenant_id.stream_id()).await,
        ["TenantCreated", "TenantDeletionRequested"]
    );
}
