//! Request ids: every answer carries an `x-request-id` (a new UUID, or the one the client sent),
//! and a command's events name their request's id as their causation.

use serde_json::json;
use tenantry_tests::TestApp;
use uuid::Uuid;

#[tokio::test]
async fn every_answer_has_a_request_id_and_a_sent_one_is_echoed() {
    let app = TestApp::spawn().await;
    let mut seen = Vec::new();
    for path in [
        "/healthz",
        "/healthz",
        "/no-such-route",
        "/platform/api/auth/me",
    ] {
        let response = app.get(path).await;
        let id = response.headers()["x-request-id"]
            .to_str()
            .expect("text")
            .to_owned();
        let id = Uuid::parse_str(&id).expect("a UUID");
        assert_eq!(id.get_version_num(), 7, "{path}");
        seen.push(id);
    }
    seen.dedup();
    assert_eq!(seen.len(), 4, "a new id per request");

    let echoed = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "client-trace-42")
        .send()
        .await
        .expect("the request failed");
    assert_eq!(echoed.headers()["x-request-id"], "client-trace-42");
}

#[tokio::test]
async fn a_commands_events_are_caused_by_its_request() {
    let app = TestApp::spawn().await;
    let token = app.staff_token().await;
    let request_id = Uuid::now_v7();
    let response = app
        .client
        .post(app.url("/platform/api/tenants"))
        .bearer_auth(&token)
        .header("x-request-id", request_id.to_string())
        .json(&json!({"name": "Caused By"}))
        .send()
        .await
        .expect("the request failed");
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.headers()["x-request-id"],
        request_id.to_string().as_str()
    );
    let causes: Vec<Option<String>> = tenantry_tests::event_log::all_events(&*app.store)
        .await
        .into_iter()
        .filter(|e| e.stream_id.starts_with("tenant-"))
        .map(|e| e.metadata.causation_id.map(|c| c.to_string()))
        .collect();
    assert!(!causes.is_empty());
    assert!(
        causes
            .iter()
            .all(|c| c.as_deref() == Some(&request_id.to_string())),
        "{causes:?}"
    );
}
