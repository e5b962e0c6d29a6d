//! `/openapi.json` is complete and true enough for tools (generated clients, `.ci/schemathesis`):
//! query parameters are `in: query`, operation ids are unique, every answer a route gives is
//! documented with its schema, the constraints are the code's, and `docs/` is the document.

use std::collections::HashSet;
use std::path::Path;

use serde_json::Value;
use tenantry_api::Settings;
use tenantry_api::cli::openapi::OpenApiCommand;
use tenantry_api::http::openapi;
use tenantry_domain::{PlanCatalog, ReservedSubdomains};
use tenantry_tests::{TestApp, TestDb};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every operation: (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                all.push((method.to_owned(), path.clone(), operation.clone()));
            }
        }
    }
    all
}

fn default_document() -> Value {
    openapi::document(&PlanCatalog::default(), &ReservedSubdomains::default())
}

/// The operation with `id`.
fn operation<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["paths"]
        .as_object()
        .expect("paths")
        .values()
        .flat_map(|item| METHODS.iter().filter_map(move |m| item.get(*m)))
        .find(|op| op["operationId"] == id)
        .unwrap_or_else(|| panic!("no operation {id}"))
}

fn schema_ref(response: &Value) -> &str {
    response["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test]
async fn the_served_document_is_complete() {
    let app = TestApp::spawn().await;
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.expect("json");
    assert_eq!(
        doc,
        default_document(),
        "the served document is the default configuration's"
    );

    for route in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        assert!(
            doc["paths"][route]["get"].is_object(),
            "{route} is not documented"
        );
    }

    let mut ids = HashSet::new();
    for (method, path, op) in operations(&doc) {
        let label = format!("{} {path}", method.to_uppercase());
        let id = op["operationId"].as_str().unwrap_or_default();
        assert!(!id.is_empty(), "{label} has no operationId");
        assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");

        for param in op["parameters"].as_array().into_iter().flatten() {
            let name = param["name"].as_str().expect("a parameter name");
            let in_template = path.contains(&format!("{{{name}}}"));
            if param["in"] == "path" {
                assert!(
                    in_template,
                    "{label}: {name} is `in: path` but not in the path"
                );
                assert_eq!(param["required"], true, "{label}: path parameter {name}");
            } else {
                assert!(
                    !in_template,
                    "{label}: {name} is in the path but not `in: path`"
                );
            }
            if param["in"] == "header" {
                assert_eq!(param["schema"]["type"], "string", "{label}: header {name}");
            }
        }

        let responses = op["responses"].as_object().expect("responses");
        let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
        if secured {
            assert!(
                responses.contains_key("401"),
                "{label} is secured without a 401"
            );
        }
        if path.starts_with("/platform/api/") {
            assert!(
                responses.contains_key("403"),
                "{label}: the host check's 403"
            );
        }
        if op.get("requestBody").is_some() {
            for status in ["400", "413"] {
                assert!(
                    responses.contains_key(status),
                    "{label} takes a body: {status}"
                );
            }
        }
        let takes = |name: &str| {
            op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == name))
        };
        if takes("min_position") {
            let unavailable = &responses["503"];
            assert_eq!(
                unavailable["headers"]["Retry-After"]["required"], true,
                "{label}: 503 with Retry-After"
            );
        }
        for (status, response) in responses {
            if status == "204" {
                assert!(response.get("content").is_none(), "{label} {status}");
                continue;
            }
            let content = response["content"].as_object();
            assert!(
                content.is_some_and(|c| !c.is_empty()),
                "{label} {status} has a body but no content"
            );
            for (media, body) in content.into_iter().flatten() {
                assert!(
                    body["schema"].is_object(),
                    "{label} {status} {media}: no schema"
                );
            }
            if status.starts_with('4') || status.starts_with('5') {
                // `/readyz` answers its whole report on 503 too, with the error object in it.
                let expected = if label == "GET /readyz" && status == "503" {
                    "#/components/schemas/Readiness"
                } else if label == "GET /platform/api/resolve" && status == "403" {
                    // The error object, and which tenant is suspended and why.
                    "#/components/schemas/SuspendedBody"
                } else {
                    "#/components/schemas/ErrorBody"
                };
                assert_eq!(schema_ref(response), expected, "{label} {status}");
            }
        }
    }

    // The 2xx bodies are real schemas, with their properties.
    for (id, status, schema) in [
        ("getTenant", "200", "Tenant"),
        ("updateTenant", "200", "Tenant"),
        ("listTenants", "200", "TenantPage"),
        ("listTenantEvents", "200", "EventsPage"),
        ("listAudit", "200", "AuditPage"),
        ("login", "200", "TokenResponse"),
        ("getMe", "200", "Me"),
        ("createTenant", "201", "CommandAnswer"),
        ("onboardTenant", "201", "OneShotAnswer"),
        ("getHealth", "200", "HealthStatus"),
        ("askTls", "200", "AskAnswer"),
    ] {
        let response = &operation(&doc, id)["responses"][status];
        assert_eq!(
            schema_ref(response),
            format!("#/components/schemas/{schema}"),
            "{id} {status}"
        );
        let properties = &doc["components"]["schemas"][schema]["properties"];
        assert!(
            properties.as_object().is_some_and(|p| !p.is_empty()),
            "{schema} has no properties"
        );
    }
    // `resolve` answers a tenant or `{"public":true}`.
    assert_eq!(
        schema_ref(&operation(&doc, "resolveHost")["responses"]["200"]),
        "#/components/schemas/ResolveAnswer"
    );
    assert_eq!(
        doc["components"]["schemas"]["ResolveAnswer"]["oneOf"],
        serde_json::json!([
            {"$ref": "#/components/schemas/Resolved"},
            {"$ref": "#/components/schemas/PublicHost"}
        ])
    );
    let item = &doc["components"]["schemas"]["EventsPage"]["properties"]["items"];
    assert_eq!(item["items"]["$ref"], "#/components/schemas/AuditItem");
    let status = &doc["components"]["schemas"]["Tenant"]["properties"]["status"]["enum"];
    assert!(
        status
            .as_array()
            .is_some_and(|s| s.contains(&"deleted".into())),
        "a deleted tenant's status: {status}"
    );
    assert!(
        operation(&doc, "getTenant")["description"]
            .as_str()
            .is_some_and(|d| d.contains("deleted")),
        "GET of a deleted tenant is documented"
    );
    assert!(
        operation(&doc, "login")["responses"]["429"]["headers"]["Retry-After"].is_object(),
        "login's 429 has Retry-After"
    );
}

#[tokio::test]
async fn the_constraints_are_the_codes() {
    let db = TestDb::new().await;
    let app = TestApp::spawn_with(db, |s| s.reserved_subdomains = "chat".into()).await;
    let doc: Value = app.get("/openapi.json").await.json().await.expect("json");
    let schemas = &doc["components"]["schemas"];

    let create = &schemas["CreateRequest"];
    assert_eq!(create["required"], serde_json::json!(["name"]));
    assert_eq!(create["additionalProperties"], false);
    let slug = create["properties"]["slug"]["pattern"]
        .as_str()
        .expect("slug pattern");
    assert!(slug.contains("chat|"), "configured reserved words: {slug}");
    assert!(slug.contains("{1,61}"), "{slug}");
    assert!(
        create["properties"]["name"]["pattern"]
            .as_str()
            .is_some_and(|p| p.contains("{0,198}"))
    );
    assert_eq!(
        create["properties"]["plan"]["enum"],
        serde_json::json!(["free", "basic", "pro", "enterprise", null])
    );
    assert_eq!(
        create["properties"]["isolation"]["enum"],
        serde_json::json!([
            "shared_schema",
            "schema_per_tenant",
            "database_per_tenant",
            null
        ])
    );
    let one_shot = &schemas["OneShotRequest"];
    assert!(
        one_shot["required"]
            .as_array()
            .is_some_and(|r| r.contains(&"admin_email".into())),
        "admin_email is required in the one-shot"
    );
    assert_eq!(one_shot["properties"]["admin_email"]["type"], "string");
    assert_eq!(
        operation(&doc, "onboardTenant")["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/OneShotRequest"
    );

    // `limit` is 1–500 in the document, and the API refuses the rest.
    let token = app.staff_token().await;
    for (id, path) in [
        ("listTenants", "/platform/api/tenants".to_owned()),
        ("listAudit", "/platform/api/audit".to_owned()),
        (
            "listTenantEvents",
            format!("/platform/api/tenants/{}/events", uuid::Uuid::now_v7()),
        ),
    ] {
        let limit = operation(&doc, id)["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "limit"))
            .cloned()
            .expect("a limit parameter");
        assert_eq!(limit["in"], "query");
        assert_eq!(
            (
                limit["schema"]["minimum"].as_u64(),
                limit["schema"]["maximum"].as_u64()
            ),
            (Some(1), Some(500))
        );
        for bad in [0, 501] {
            let response = app.get_auth(&format!("{path}?limit={bad}"), &token).await;
            assert_eq!(response.status(), 400, "{path}?limit={bad}");
            let body: Value = response.json().await.expect("json");
            assert_eq!(body["error"]["field"], "limit", "{body}");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("500"))
            );
        }
    }
    let response = app
        .get_auth("/platform/api/tenants?limit=500", &token)
        .await;
    assert_eq!(response.status(), 200);

    // Stateful clients can follow a created tenant to its reads.
    let links = &operation(&doc, "createTenant")["responses"]["201"]["links"];
    assert_eq!(links["GetTenant"]["operationId"], "getTenant");
    assert_eq!(
        links["GetTenant"]["parameters"]["path.id"],
        "$response.body#/id"
    );
}

/// `docs/openapi.json` and `docs/API.md` are what the code generates (for the default
/// configuration), and `tenantry openapi` prints the same.
#[tokio::test]
async fn docs_are_the_document() {
    const REGENERATE: &str = "cargo run -q -p tenantry-api -- openapi --write docs";
    let doc = default_document();
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
    for (file, expected) in [
        ("openapi.json", openapi::to_text(&doc)),
        ("API.md", openapi::markdown(&doc)),
    ] {
        let committed = std::fs::read_to_string(docs.join(file)).unwrap_or_default();
        assert!(
            committed == expected,
            "docs/{file} is not the document the code generates; regenerate it: {REGENERATE}"
        );
    }

    let mut settings = Settings::from_env();
    settings.plans_file = None;
    settings.reserved_subdomains = String::new();
    let mut printed = Vec::new();
    OpenApiCommand {
        markdown: false,
        write: None,
    }
    .run(&settings, &mut printed)
    .expect("tenantry openapi");
    assert_eq!(
        String::from_utf8(printed).expect("utf-8"),
        openapi::to_text(&doc)
    );

    let dir = std::env::temp_dir().join(format!("tenantry-openapi-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let mut out = Vec::new();
    OpenApiCommand {
        markdown: false,
        write: Some(dir.clone()),
    }
    .run(&settings, &mut out)
    .expect("tenantry openapi --write");
    let markdown = std::fs::read_to_string(dir.join("API.md")).expect("API.md written");
    assert_eq!(markdown, openapi::markdown(&doc));
    assert!(markdown.contains("### `GET /platform/api/tenants/{id}`"));
    std::fs::remove_dir_all(&dir).ok();
}

/// What `.ci/schemathesis` found: the document allows a `null` suspend body (the body is
/// optional) and `min_position=0` (before the first event), and the API now takes both.
#[tokio::test]
async fn a_null_body_and_position_zero_are_what_the_document_says() {
    let app = TestApp::spawn().await;
    let token = app.staff_token().await;
    let created: Value = app
        .post_json_auth(
            "/platform/api/tenants",
            &serde_json::json!({"name": "Padaria Pão Quente"}),
            &token,
        )
        .await
        .json()
        .await
        .expect("json");
    let id = created["id"].as_str().expect("id");

    let suspend = |body: &'static str| {
        app.client
            .post(app.url(&format!("/platform/api/tenants/{id}/suspend")))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    // The command runs (and is refused: a pending tenant cannot be suspended).
    let response = suspend("null").await.expect("request");
    assert_eq!(response.status(), 409);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "invalid_state", "{body}");
    let response = suspend(r#"{"reason": 5}"#).await.expect("request");
    assert_eq!(response.status(), 400);

    let position = created["position"].as_u64().expect("position");
    let path = format!("/platform/api/tenants/{id}?min_position={position}");
    assert_eq!(app.get_auth(&path, &token).await.status(), 200);
    for path in [
        format!("/platform/api/tenants/{id}?min_position=0"),
        "/platform/api/tenants?min_position=0".to_owned(),
        "/platform/api/audit?min_position=0".to_owned(),
    ] {
        let response = app.get_auth(&path, &token).await;
        assert_eq!(response.status(), 200, "{path}");
    }
}
