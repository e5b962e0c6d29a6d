//! `/healthz` and `/readyz` of the real server.

use tenantry_tests::{TestApp, TestDb};

#[tokio::test]
async fn healthz_answers_and_readyz_sees_database_and_redis() {
    let app = TestApp::spawn().await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200, "{:?}", ready.text().await);
}

#[tokio::test]
async fn readyz_names_what_is_not_ready() {
    let db = TestDb::new().await;
    // Nothing listens on port 1: Redis is unreachable.
    let app = TestApp::spawn_with(db, |s| s.redis_url = "redis://127.0.0.1:1".into()).await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.expect("a JSON error body");
    assert_eq!(body["error"]["code"], "not_ready");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("redis:"), "{message}");
    assert_eq!(body["status"], "not_ready", "{body}");
    assert_eq!(body["redis"]["status"], "unreachable", "{body}");
    assert_eq!(body["database"]["status"], "ok", "{body}");
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn openapi_lists_the_contract_and_metrics_count_requests() {
    let app = TestApp::spawn().await;
    // A trailing slash means the same path.
    assert_eq!(app.get("/healthz/").await.status(), 200);

    let doc: serde_json::Value = app.get("/openapi.json").await.json().await.expect("json");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for path in [
        "/platform/api/auth/login",
        "/platform/api/tenants",
        "/platform/api/tenants/{id}",
        "/platform/api/tenants/{id}/provision",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }

    let metrics = app.get("/metrics").await.text().await.expect("text");
    assert!(
        metrics.contains("tenantry_http_requests_total")
            && metrics.contains("route=\"/openapi.json\""),
        "{metrics}"
    );
}
