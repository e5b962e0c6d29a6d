//! Reaching a tenant the way its application does, from the control plane's answers: the
//! PostgreSQL URL of a `GET …/connection` (or reveal) answer with a password, and a tenant's
//! events of one type through the API.

use serde_json::Value;

use crate::TestApp;

/// `postgres://{user}:{password}@{host}:{port}/{database}` of a connection answer.
pub fn pg_url(connection: &Value, password: &str) -> String {
    let pg = &connection["postgres"];
    format!(
        "postgres://{}:{password}@{}:{}/{}",
        pg["user"].as_str().expect("user"),
        pg["host"].as_str().expect("host"),
        pg["port"],
        pg["database"].as_str().expect("database")
    )
}

/// Tenant `id`'s events of `event_type` (its first 500), as `GET …/events` lists them.
pub async fn events_of_type(app: &TestApp, token: &str, id: &str, event_type: &str) -> Vec<Value> {
    let body: Value = app
        .get_auth(
            &format!("/platform/api/tenants/{id}/events?limit=500"),
            token,
        )
        .await
        .json()
        .await
        .expect("json");
    body["items"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["event_type"] == event_type)
        .cloned()
        .collect()
}
