//! The API's edges: what a client gets for a route or a method that does not exist — the same
//! error JSON as every other refusal (`{"error": {"code", "message"}}`), never an empty body.

use reqwest::Method;
use serde_json::Value;
use tenantry_tests::TestApp;

async fn refusal(app: &TestApp, method: Method, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the request failed");
    let status = response.status().as_u16();
    let body = response.json().await.expect("a JSON error body");
    (status, body)
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_error_shape() {
    let app = TestApp::spawn().await;
    let token = app.staff_token().await;
    for (method, path, token, status, code) in [
        (Method::GET, "/nowhere", None, 404, "not_found"),
        (
            Method::GET,
            "/platform/api/nowhere",
            Some(&*token),
            404,
            "not_found",
        ),
        (Method::DELETE, "/healthz", None, 405, "method_not_allowed"),
        (
            Method::PUT,
            "/platform/api/audit",
            Some(&*token),
            405,
            "method_not_allowed",
        ),
        (
            Method::PUT,
            "/platform/api/tenants",
            Some(&*token),
            405,
            "method_not_allowed",
        ),
    ] {
        let (got, body) = refusal(&app, method.clone(), path, token).await;
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{method} {path}: {body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(path)),
            "{method} {path}: {body}"
        );
    }
}

/// The tenant list takes `isolation` and `include_deleted` as query parameters: a model it does
/// not know is refused naming the parameter, a known one filters.
#[tokio::test]
async fn the_tenant_list_filters_by_isolation() {
    let app = TestApp::spawn().await;
    let token = app.staff_token().await;
    let created = app
        .post_json_auth(
            "/platform/api/tenants",
            &serde_json::json!({"name": "Shared One", "plan": "free"}),
            &token,
        )
        .await;
    assert_eq!(created.status(), 201);
    let position = created.json::<Value>().await.expect("json")["position"].clone();

    let (status, body) = refusal(
        &app,
        Method::GET,
        "/platform/api/tenants?isolation=sideways",
        Some(&token),
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("isolation")),
        "{body}"
    );

    let count = |isolation: &'static str| {
        let (app, token) = (&app, &token);
        let position = position.clone();
        async move {
            let page: Value = app
                .get_auth(
                    &format!(
                        "/platform/api/tenants?isolation={isolation}&include_deleted=true&min_position={position}"
                    ),
                    token,
                )
                .await
                .json()
                .await
                .expect("json");
            page["items"].as_array().map(Vec::len)
        }
    };
    assert_eq!(count("shared_schema").await, Some(1));
    assert_eq!(count("database_per_tenant").await, Some(0));
}

/// A tenant is addressed by its id or by its slug; a slug nobody has says how tenants are named.
#[tokio::test]
async fn a_tenant_is_addressed_by_id_or_slug() {
    let app = TestApp::spawn().await;
    let token = app.staff_token().await;
    let created: Value = app
        .post_json_auth(
            "/platform/api/tenants",
            &serde_json::json!({"name": "Clínica Dr. Marco", "slug": "drmarco"}),
            &token,
        )
        .await
        .json()
        .await
        .expect("json");
    let position = &created["position"];
    let by_slug: Value = app
        .get_auth(
            &format!("/platform/api/tenants/drmarco?min_position={position}"),
            &token,
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(by_slug["id"], created["id"], "{by_slug}");
    let events: Value = app
        .get_auth("/platform/api/tenants/drmarco/events", &token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        events["items"][0]["event_type"], "TenantCreated",
        "{events}"
    );

    let (status, body) = refusal(
        &app,
        Method::GET,
        "/platform/api/tenants/nobody",
        Some(&token),
    )
    .await;
    assert_eq!(status, 404);
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("no live tenant has the slug \"nobody\""),
        "{message}"
    );
}
