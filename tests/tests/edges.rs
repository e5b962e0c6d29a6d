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
