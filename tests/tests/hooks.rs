//! The operator's hook steps (issue 12, part 3) end to end: a real HTTP server on port 0 is the
//! hook; the service runs the saga over real PostgreSQL and Redis and calls it. Apply with a
//! verified signature and idempotency key and its outputs on the tenant; a 5xx retried; a 4xx at
//! a later hook rolling back (the earlier hook and the built-in steps released); deletion calling
//! release.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::post;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;
use tenantry_application::provisioning::Faults;
use tenantry_domain::TenantId;
use tenantry_infrastructure::provisioning::{ProvisioningAdapters, build};
use tenantry_tests::{TestApp, TestDb};

const SECRET: &str = "hook-secret-0123456789";

/// One request the hook server received.
#[derive(Debug, Clone)]
struct Received {
    hook: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the hook body is JSON")
    }
    fn action(&self) -> String {
        self.json()["action"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}

/// The hook server's script: per hook, the answers to its next `apply` calls (then 200 with
/// `{"hook": name, "slug": …}`); `release` always answers 204.
#[derive(Default)]
struct Hooks {
    received: Mutex<Vec<Received>>,
    answers: Mutex<BTreeMap<String, VecDeque<(u16, String)>>>,
}

impl Hooks {
    fn script(&self, hook: &str, answers: &[(u16, &str)]) {
        self.answers.lock().unwrap().insert(
            hook.to_owned(),
            answers.iter().map(|(s, b)| (*s, (*b).to_owned())).collect(),
        );
    }
    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
    /// The (hook, action) of every call for `tenant`, in order.
    fn calls_for(&self, tenant: TenantId) -> Vec<(String, String)> {
        self.received()
            .into_iter()
            .filter(|r| r.json()["tenant"]["id"] == tenant.to_string())
            .map(|r| (r.hook.clone(), r.action()))
            .collect()
    }
}

async fn hook(
    State(hooks): State<Arc<Hooks>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (AxumStatus, String) {
    let received = Received {
        hook: name.clone(),
        headers,
        body: body.to_vec(),
    };
    let action = received.action();
    let slug = received.json()["tenant"]["slug"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    hooks.received.lock().unwrap().push(received);
    if action == "release" {
        return (AxumStatus::NO_CONTENT, String::new());
    }
    let scripted = hooks
        .answers
        .lock()
        .unwrap()
        .get_mut(&name)
        .and_then(VecDeque::pop_front);
    match scripted {
        Some((status, body)) => (AxumStatus::from_u16(status).unwrap(), body),
        None => (
            AxumStatus::OK,
            json!({"hook": name, "instance": format!("wa-{slug}")}).to_string(),
        ),
    }
}

/// A hook server on port 0; its base URL.
async fn hook_server(hooks: Arc<Hooks>) -> String {
    let app = axum::Router::new()
        .route("/hooks/{name}", post(hook))
        .with_state(hooks);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/hooks")
}

struct Service {
    app: TestApp,
    token: String,
    adapters: ProvisioningAdapters,
    _plans: tempfile_dir::Dir,
}

/// A tiny temporary directory (no extra crate): removed on drop.
mod tempfile_dir {
    pub(crate) struct Dir(pub(crate) std::path::PathBuf);
    impl Dir {
        pub(crate) fn new() -> Self {
            let path =
                std::env::temp_dir().join(format!("tenantry-hooks-{}", uuid::Uuid::now_v7()));
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The service with the saga on and plan `pro` (schema per tenant) calling the hooks `whatsapp`
/// then `crm` at `base`.
async fn spawn(base: &str, max_tries: u32) -> Service {
    let dir = tempfile_dir::Dir::new();
    let plans = json!({
        "default_plan": "pro",
        "plans": [{
            "name": "pro",
            "default_isolation": "schema_per_tenant",
            "steps": [
                {"name": "whatsapp", "url": format!("{base}/whatsapp"), "secret": SECRET, "timeout": "5s"},
                {"name": "crm", "url": format!("{base}/crm"), "secret": SECRET, "timeout": "5s"},
            ],
        }],
    });
    let path = dir.0.join("plans.json");
    std::fs::write(&path, plans.to_string()).unwrap();
    let app = TestApp::spawn_with(TestDb::new().await, move |s| {
        s.run_sagas = true;
        s.plans_file = Some(path);
        s.provisioning_max_tries = max_tries;
        s.provisioning_retry_base_ms = 50;
        s.provisioning_retry_max_ms = 200;
    })
    .await;
    let token = app.staff_token().await;
    let redis = redis::Client::open("redis://127.0.0.1:6379").expect("redis url");
    let adapters = build(app.db.pool.clone(), redis, None, Faults::none())
        .await
        .expect("adapters");
    Service {
        app,
        token,
        adapters,
        _plans: dir,
    }
}

impl Service {
    async fn create(&self, name: &str) -> TenantId {
        self.app
            .create_tenant(&json!({"name": name}), &self.token)
            .await
    }

    async fn tenant(&self, id: TenantId) -> Value {
        self.app.tenant_json(id, &self.token).await
    }

    /// Polls until the tenant is `status` and `also` holds of it (the steps read model is a
    /// projector of its own, a moment behind the tenant's status).
    async fn wait_until(&self, id: TenantId, status: &str, also: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let tenant = self.tenant(id).await;
            if tenant["status"] == status && also(&tenant) {
                return tenant;
            }
            assert!(
                Instant::now() < deadline,
                "tenant {id} never became {status}: {tenant:#}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn delete(&self, id: TenantId) {
        let response = self
            .app
            .delete_auth(&format!("/platform/api/tenants/{id}"), &self.token)
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }

    /// What exists of `id`'s in PostgreSQL, Redis and the secret store.
    async fn resources_of(&self, id: TenantId) -> usize {
        let all = self.adapters.inventory.list().await.expect("inventory");
        all.into_iter().filter(|r| r.tenant == Some(id)).count()
    }
}

/// The status of step `name`, or null while the steps read model (a projector of its own) does
/// not list it yet: for polling, where [`step`]'s panic would end the wait.
fn step_status<'a>(tenant: &'a Value, name: &str) -> &'a Value {
    tenant["provisioning"]["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["name"] == name))
        .map_or(&Value::Null, |step| &step["status"])
}

fn step<'a>(tenant: &'a Value, name: &str) -> &'a Value {
    tenant["provisioning"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {tenant:#}"))
}

fn expected_signature(timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

#[tokio::test]
async fn hooks_apply_signed_after_the_built_in_steps_their_outputs_shown_and_deletion_releases_them()
 {
    let hooks = Arc::new(Hooks::default());
    let base = hook_server(hooks.clone()).await;
    let service = spawn(&base, 3).await;
    let id = service.create("Clínica Sorriso").await;
    let tenant = service
        .wait_until(id, "active", |t| step_status(t, "hook:crm") == "succeeded")
        .await;

    let names: Vec<&str> = tenant["provisioning"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "schema",
            "tenant_migrations",
            "redis_namespace",
            "queue",
            "hook:whatsapp",
            "hook:crm"
        ]
    );
    let slug = tenant["slug"].as_str().unwrap();
    let whatsapp = step(&tenant, "hook:whatsapp");
    assert_eq!(whatsapp["status"], "succeeded");
    assert_eq!(
        whatsapp["outputs"],
        json!({"hook": "whatsapp", "instance": format!("wa-{slug}")})
    );
    assert_eq!(step(&tenant, "schema")["outputs"], Value::Null);
    // And on the panel's tenant page (its session cookie is the staff token).
    let page = reqwest::Client::new()
        .get(service.app.url(&format!("/tenants/{id}")))
        .header(
            reqwest::header::COOKIE,
            format!("tenantry_session={}", service.token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("hook:whatsapp") && html.contains(&format!("wa-{slug}")),
        "the outputs on the panel page"
    );

    assert_eq!(
        hooks.calls_for(id),
        [
            ("whatsapp".into(), "apply".into()),
            ("crm".into(), "apply".into())
        ]
    );
    let call = hooks.received().into_iter().next().unwrap();
    let body = call.json();
    assert_eq!(body["action"], "apply");
    assert_eq!(body["step"], "whatsapp");
    assert_eq!(body["attempt"], 1);
    assert_eq!(body["tenant"]["slug"], slug);
    assert_eq!(body["tenant"]["name"], "Clínica Sorriso");
    assert_eq!(body["tenant"]["plan"], "pro");
    assert_eq!(body["tenant"]["isolation"], "schema_per_tenant");
    let names = tenantry_domain::TenantNames::of(id);
    assert_eq!(body["tenant"]["infrastructure"]["schema"], names.schema());
    assert!(
        !String::from_utf8_lossy(&call.body).contains(SECRET),
        "the secret is not in the body"
    );
    // The signature checks out against the secret, over the timestamp and the exact body.
    let timestamp = call.header("x-tenantry-timestamp");
    let age = chrono::Utc::now().timestamp() - timestamp.parse::<i64>().expect("unix seconds");
    assert!((0..120).contains(&age), "a fresh timestamp: {timestamp}");
    assert_eq!(
        call.header("x-tenantry-signature"),
        expected_signature(&timestamp, &call.body)
    );
    assert_eq!(
        call.header("idempotency-key"),
        format!("{id}:hook:whatsapp:apply:1")
    );

    // The outputs are in the success event; the secret in no event.
    let events = tenantry_tests::event_log::event_types(&*service.app.store, &id.stream_id()).await;
    assert!(
        events.contains(&"HookStepSucceeded".to_owned()),
        "{events:?}"
    );
    let log = service
        .app
        .get_auth(
            &format!("/platform/api/tenants/{id}/events"),
            &service.token,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        log.contains(&format!("wa-{slug}")),
        "outputs in the event: {log}"
    );
    assert!(!log.contains(SECRET), "the secret is in no event");

    // Deletion releases the hooks, the last first, then the built-in steps.
    service.delete(id).await;
    let deleted = service
        .wait_until(id, "deleted", |t| {
            step_status(t, "hook:whatsapp") == "released"
        })
        .await;
    assert_eq!(
        hooks.calls_for(id)[2..],
        [
            ("crm".into(), "release".into()),
            ("whatsapp".into(), "release".into())
        ]
    );
    let release = hooks
        .received()
        .into_iter()
        .find(|r| r.action() == "release")
        .unwrap();
    assert_eq!(
        release.header("x-tenantry-signature"),
        expected_signature(&release.header("x-tenantry-timestamp"), &release.body)
    );
    assert_eq!(step(&deleted, "hook:whatsapp")["status"], "released");
    assert_eq!(step(&deleted, "hook:whatsapp")["outputs"], Value::Null);
    assert_eq!(service.resources_of(id).await, 0);
}

#[tokio::test]
async fn a_hook_answering_5xx_is_retried_with_the_same_idempotency_key() {
    let hooks = Arc::new(Hooks::default());
    hooks.script("whatsapp", &[(503, "try later")]);
    let base = hook_server(hooks.clone()).await;
    let service = spawn(&base, 3).await;
    let id = service.create("Clínica Retry").await;
    let tenant = service
        .wait_until(id, "active", |t| step_status(t, "hook:crm") == "succeeded")
        .await;

    let applies: Vec<_> = hooks
        .received()
        .into_iter()
        .filter(|r| r.hook == "whatsapp")
        .collect();
    assert_eq!(applies.len(), 2, "a failed try, then a success");
    assert_eq!(applies[0].json()["attempt"], 1);
    assert_eq!(applies[1].json()["attempt"], 2);
    assert_eq!(
        applies[0].header("idempotency-key"),
        applies[1].header("idempotency-key")
    );
    let whatsapp = step(&tenant, "hook:whatsapp");
    assert_eq!(whatsapp["status"], "succeeded");
    // The failed try counted, with the hook's answer as its error.
    assert_eq!(whatsapp["attempts"], 2, "{whatsapp:#}");
    let error = whatsapp["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("503") && error.contains("try later"),
        "{error}"
    );
}

#[tokio::test]
async fn a_4xx_at_a_later_hook_rolls_back_releasing_the_earlier_hook_and_the_built_in_steps() {
    let hooks = Arc::new(Hooks::default());
    hooks.script("crm", &[(422, r#"{"error":"no such account"}"#)]);
    let base = hook_server(hooks.clone()).await;
    let service = spawn(&base, 5).await;
    let id = service.create("Clínica Falha").await;
    let tenant = service
        .wait_until(id, "failed", |t| {
            step_status(t, "hook:whatsapp") == "released" && step_status(t, "schema") == "released"
        })
        .await;

    // One try only (a 4xx is permanent), then every hook is released, the last first.
    assert_eq!(
        hooks.calls_for(id),
        [
            ("whatsapp".into(), "apply".into()),
            ("crm".into(), "apply".into()),
            ("crm".into(), "release".into()),
            ("whatsapp".into(), "release".into()),
        ]
    );
    let crm = step(&tenant, "hook:crm");
    assert_eq!(crm["status"], "failed");
    assert_eq!(crm["attempts"], 1);
    let error = crm["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("422") && error.contains("no such account"),
        "the hook's message is shown: {error}"
    );
    assert_eq!(step(&tenant, "hook:whatsapp")["status"], "released");
    assert_eq!(step(&tenant, "schema")["status"], "released");
    assert_eq!(
        service.resources_of(id).await,
        0,
        "the built-in steps are released"
    );
}
