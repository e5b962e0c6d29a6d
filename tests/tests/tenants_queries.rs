//! The tenant read endpoints and the audit log over HTTP: what an operator sees after writing,
//! with `min_position` for read-your-writes.

use std::time::Instant;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tenantry_tests::{TestApp, TestDb};

async fn setup() -> (TestApp, String) {
    let app = TestApp::spawn().await;
    let token = app.staff_token().await;
    (app, token)
}

async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, body) = json_of(
        app.post_json_auth("/platform/api/tenants", &body, token)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

#[tokio::test]
async fn a_created_tenant_reads_back_with_min_position() {
    let (app, token) = setup().await;
    let created = create(
        &app,
        &token,
        json!({"name": "Clínica Dr. Marco", "slug": "drmarco", "plan": "pro"}),
    )
    .await;
    let path = format!(
        "/platform/api/tenants/{}?min_position={}",
        created["id"].as_str().expect("id"),
        created["position"]
    );
    let (status, tenant) = json_of(app.get_auth(&path, &token).await).await;
    assert_eq!(status, StatusCode::OK, "{tenant}");
    assert_eq!(tenant["id"], created["id"]);
    assert_eq!(tenant["name"], "Clínica Dr. Marco");
    assert_eq!(tenant["slug"], "drmarco");
    assert_eq!(tenant["plan"], "pro");
    assert_eq!(
        tenant["isolation"], "schema_per_tenant",
        "the plan's default"
    );
    assert_eq!(tenant["status"], "pending");
    assert_eq!(tenant["version"], 1);
    for key in [
        "created_at",
        "updated_at",
        "provisioning",
        "infrastructure",
        "domains",
        "active_workers",
    ] {
        assert!(tenant.get(key).is_some(), "{key} in {tenant}");
    }

    // Unknown and malformed ids are 404; no token is 401.
    let (status, _) = json_of(
        app.get_auth(
            "/platform/api/tenants/0193a1b2-0000-7000-8000-000000000000",
            &token,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = json_of(app.get_auth("/platform/api/tenants/nope", &token).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/platform/api/tenants").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_patch_answers_with_the_changed_tenant() {
    let (app, token) = setup().await;
    let created = create(&app, &token, json!({"name": "Padaria"})).await;
    let path = format!(
        "/platform/api/tenants/{}",
        created["id"].as_str().expect("id")
    );
    let (status, tenant) = json_of(
        app.patch_json_auth(
            &path,
            &json!({"name": "Padaria Central", "plan": "enterprise"}),
            &token,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tenant}");
    assert_eq!(tenant["name"], "Padaria Central");
    assert_eq!(tenant["plan"], "enterprise");
    assert_eq!(tenant["version"], 3);
}

#[tokio::test]
async fn min_position_not_reached_is_503_with_retry_after() {
    let app = TestApp::spawn_with(TestDb::new().await, |s| s.read_model_wait_ms = 1_500).await;
    let token = app.staff_token().await;
    // An open transaction holds the log's horizon back: the tenant created meanwhile is stored,
    // but no read model sees it until the transaction ends.
    let mut horizon = app.db.pool.begin().await.expect("begin");
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *horizon)
        .await
        .expect("take a transaction id");
    let (status, created) = json_of(
        app.post_json_auth(
            "/platform/api/tenants",
            &json!({"name": "Held Back"}),
            &token,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let started = Instant::now();
    let response = app
        .get_auth(
            &format!("/platform/api/tenants?min_position={}", created["position"]),
            &token,
        )
        .await;
    horizon.rollback().await.expect("rollback");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    let (_, body) = json_of(response).await;
    assert_eq!(body["error"]["code"], "not_caught_up");
    assert!(
        started.elapsed().as_secs_f64() >= 1.5,
        "it waited for its bound first"
    );
}

#[tokio::test]
async fn the_list_filters_and_pages() {
    let (app, token) = setup().await;
    let mut last = 0;
    for (name, plan) in [
        ("Alpha Foods", "free"),
        ("Beta Clinic", "pro"),
        ("Gamma Clinic", "pro"),
    ] {
        last = create(&app, &token, json!({"name": name, "plan": plan})).await["position"]
            .as_u64()
            .expect("position");
    }
    let list = |query: String| {
        let app = &app;
        let token = &token;
        async move {
            json_of(
                app.get_auth(
                    &format!("/platform/api/tenants?min_position={last}&{query}"),
                    token,
                )
                .await,
            )
            .await
        }
    };
    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|t| t["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };

    let (status, all) = list(String::new()).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(names(&all).len(), 3);
    let (_, pro) = list("plan=pro".into()).await;
    assert_eq!(names(&pro).len(), 2);
    let (_, clinics) = list("q=clinic".into()).await;
    assert_eq!(names(&clinics).len(), 2);
    let (_, pending) = list("status=pending".into()).await;
    assert_eq!(names(&pending).len(), 3);

    // Page through one at a time: every tenant once.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = list(format!("limit=1{cursor}")).await;
        assert_eq!(status, StatusCode::OK);
        seen.extend(names(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, ["Alpha Foods", "Beta Clinic", "Gamma Clinic"]);

    let (status, body) = list("status=sleeping".into()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "status");
    let (status, body) = list("limit=many".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = list("cursor=forged".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_cursor");
}

#[tokio::test]
async fn history_and_audit_show_who_did_what() {
    let (app, token) = setup().await;
    let created = create(&app, &token, json!({"name": "Audit Me"})).await;
    let id = created["id"].as_str().expect("id").to_owned();
    let (status, _) = json_of(
        app.post_auth(&format!("/platform/api/tenants/{id}/provision"), &token)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);

    let (status, history) = json_of(
        app.get_auth(
            &format!("/platform/api/tenants/{id}/events?limit=1"),
            &token,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    assert_eq!(history["items"][0]["event_type"], "TenantCreated");
    assert!(
        history["items"][0]["actor"]
            .as_str()
            .is_some_and(|a| a.starts_with("staff:"))
    );
    let next = history["next"].as_u64().expect("a next page");
    let (_, rest) = json_of(
        app.get_auth(
            &format!("/platform/api/tenants/{id}/events?after={next}"),
            &token,
        )
        .await,
    )
    .await;
    assert_eq!(rest["items"][0]["event_type"], "ProvisioningRequested");
    assert!(rest["next"].is_null());

    let (status, audit) = json_of(
        app.get_auth(
            &format!(
                "/platform/api/audit?tenant={id}&min_position={}",
                rest["items"][0]["position"]
            ),
            &token,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let types: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["event_type"].as_str())
        .collect();
    assert!(
        types.contains(&"TenantCreated") && types.contains(&"ProvisioningRequested"),
        "{types:?}"
    );
    let (_, only) = json_of(
        app.get_auth(
            "/platform/api/audit?event_type=ProvisioningRequested",
            &token,
        )
        .await,
    )
    .await;
    assert_eq!(only["items"].as_array().map(Vec::len), Some(1));
    let (status, _) = json_of(
        app.get_auth(
            "/platform/api/tenants/0193a1b2-0000-7000-8000-000000000000/events",
            &token,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_audit_log_filters_by_correlation_id() {
    let (app, token) = setup().await;
    // One creation with the caller's correlation id, one without (its request's own id).
    let mine = uuid::Uuid::new_v4();
    let response = app
        .client
        .post(app.url("/platform/api/tenants"))
        .bearer_auth(&token)
        .header("x-correlation-id", mine.to_string())
        .json(&json!({"name": "Correlated One"}))
        .send()
        .await
        .expect("the request failed");
    let (status, first) = json_of(response).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let second = create(&app, &token, json!({"name": "Correlated Two"})).await;
    let audit = |query: String| {
        let app = &app;
        let token = &token;
        async move {
            json_of(
                app.get_auth(&format!("/platform/api/audit?{query}"), token)
                    .await,
            )
            .await
        }
    };
    let positions = |page: &Value| -> Vec<i64> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["position"].as_i64().expect("position"))
            .collect()
    };
    // What the log itself says each correlation holds.
    let in_log = |correlation: String| {
        let store = app.store.clone();
        async move {
            let mut positions: Vec<i64> = tenantry_tests::event_log::all_events(&*store)
                .await
                .into_iter()
                .filter(|e| e.metadata.correlation_id.to_string() == correlation)
                .map(|e| e.position as i64)
                .collect();
            positions.sort_unstable();
            positions
        }
    };
    let tenant_ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["payload"]["tenant_id"].as_str().unwrap_or("-").to_owned())
            .collect()
    };

    let (status, page) = audit(format!(
        "correlation_id={mine}&min_position={}",
        second["position"]
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let first_stream = format!("tenant-{}", first["id"].as_str().expect("id"));
    assert!(
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|i| i["stream_id"] == first_stream.as_str()),
        "{page}"
    );
    assert_eq!(positions(&page), in_log(mine.to_string()).await);
    assert!(
        tenant_ids(&page).iter().all(|t| *t == first["id"]),
        "only the first tenant's events: {page}"
    );

    // The second command's correlation id, as its tenant's audit entries show it.
    let second_id = second["id"].as_str().expect("id");
    let (_, of_second) = audit(format!("tenant={second_id}")).await;
    let correlation = of_second["items"][0]["correlation_id"]
        .as_str()
        .expect("a correlation id")
        .to_owned();
    assert_ne!(correlation, mine.to_string());
    let (status, page) = audit(format!("correlation_id={correlation}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(positions(&page), in_log(correlation.clone()).await);
    assert!(
        tenant_ids(&page).iter().all(|t| t == second_id),
        "only the second tenant's events: {page}"
    );

    let (status, none) = audit(format!("correlation_id={}", uuid::Uuid::new_v4())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(none["items"].as_array().map(Vec::len), Some(0));

    let (status, body) = audit("correlation_id=not-a-uuid".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "invalid_query");
    assert_eq!(body["error"]["field"], "correlation_id");
}

#[tokio::test]
async fn the_audit_log_reads_newest_first_page_by_page() {
    let (app, token) = setup().await;
    let mut last = Value::Null;
    for n in 0..4 {
        last = create(&app, &token, json!({"name": format!("Ordered {n}")})).await;
    }
    let audit = |query: String| {
        let app = &app;
        let token = &token;
        async move {
            json_of(
                app.get_auth(&format!("/platform/api/audit?{query}"), token)
                    .await,
            )
            .await
        }
    };
    // Every page of `query`, following `next`.
    let all_pages = |query: String| {
        let audit = &audit;
        async move {
            let mut positions = Vec::new();
            let mut pages = 0;
            let mut after = String::new();
            loop {
                let (status, page) = audit(format!("{query}{after}")).await;
                assert_eq!(status, StatusCode::OK, "{page}");
                pages += 1;
                positions.extend(
                    page["items"]
                        .as_array()
                        .expect("items")
                        .iter()
                        .map(|i| i["position"].as_i64().expect("position")),
                );
                match page["next"].as_str() {
                    Some(next) => after = format!("&after={next}"),
                    None => return (positions, pages),
                }
            }
        }
    };
    let (status, _) = audit(format!("min_position={}", last["position"])).await;
    assert_eq!(status, StatusCode::OK);

    let (log_order, _) = all_pages("limit=500".into()).await;
    assert!(log_order.len() >= 8, "{log_order:?}");
    let (explicit, _) = all_pages("order=asc&limit=500".into()).await;
    assert_eq!(explicit, log_order);
    let (newest_first, pages) = all_pages("order=desc&limit=3".into()).await;
    assert!(pages >= 3, "paged: {pages}");
    let mut reversed = log_order.clone();
    reversed.reverse();
    assert_eq!(newest_first, reversed);

    // With a filter: the tenants' creations, newest first, one a page.
    let (created_asc, _) = all_pages("event_type=TenantCreated".into()).await;
    assert_eq!(created_asc.len(), 4);
    let (created_desc, pages) =
        all_pages("event_type=TenantCreated&order=desc&limit=1".into()).await;
    assert_eq!(pages, 4);
    assert_eq!(
        created_desc,
        created_asc.iter().rev().copied().collect::<Vec<_>>()
    );
    let (_, first) = audit("event_type=TenantCreated&order=desc&limit=1".into()).await;
    assert_eq!(first["items"][0]["payload"]["name"], "Ordered 3");
    // And with another: the last tenant's own events, newest first.
    let (of_last, _) = all_pages(format!(
        "tenant={}&order=desc&limit=1",
        last["id"].as_str().expect("id")
    ))
    .await;
    let (of_last_asc, _) = all_pages(format!("tenant={}", last["id"].as_str().expect("id"))).await;
    assert!(!of_last.is_empty());
    assert_eq!(
        of_last,
        of_last_asc.iter().rev().copied().collect::<Vec<_>>()
    );

    let (status, body) = audit("order=sideways".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "invalid_query");
    assert_eq!(body["error"]["field"], "order");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("`desc`")),
        "{body}"
    );
}
