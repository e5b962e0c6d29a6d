//! Issue 12 §2, the app's way in: `GET …/connection` names the tenant's host, database, schema,
//! user, Redis user, namespace and queues with no secret in them; `POST …/connection/reveal`
//! answers passwords that really log in (on a server that checks passwords: a private cluster
//! with SCRAM for every role but `postgres`) to the tenant's schema, database or shared rows, and
//! a Redis user held to its namespace; each reveal is a `TenantCredentialsRevealed` event with
//! who and from where, and an `Idempotency-Key` replay keeps no password. Unknown tenants are
//! 404, deleted ones refused.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection;
use tenantry_tests::tenant_access::{events_of_type, pg_url};
use tenantry_tests::{PrivatePg, TestApp, TestDb};

const TENANTS: &str = "/platform/api/tenants";

struct Fixture {
    app: TestApp,
    token: String,
    _pg: PrivatePg,
}

async fn spawn() -> Fixture {
    let pg = PrivatePg::start_new();
    pg.require_passwords();
    let db = TestDb::on_server(&pg.server_url()).await;
    spawn_on(pg, db).await
}

/// A service over `db` on `pg` (a restart: the same database as an earlier one).
async fn spawn_on(pg: PrivatePg, db: TestDb) -> Fixture {
    let app = TestApp::spawn_with(db, |s| {
        s.run_sagas = true;
        s.provisioning_retry_base_ms = 100;
        s.provisioning_retry_max_ms = 400;
    })
    .await;
    let token = app.staff_token().await;
    Fixture {
        app,
        token,
        _pg: pg,
    }
}

impl Fixture {
    async fn create(&self, plan: &str) -> String {
        let response = self
            .app
            .post_json_auth(
                TENANTS,
                &json!({"name": format!("Clinic {plan}"), "plan": plan}),
                &self.token,
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.expect("json");
        body["id"].as_str().expect("id").to_owned()
    }

    async fn wait_for(&self, id: &str, status: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let body: Value = self
                .app
                .get_auth(&format!("{TENANTS}/{id}"), &self.token)
                .await
                .json()
                .await
                .expect("json");
            if body["status"] == status {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "tenant {id} never became {status}: {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn connection(&self, id: &str) -> (StatusCode, String) {
        let response = self
            .app
            .get_auth(&format!("{TENANTS}/{id}/connection"), &self.token)
            .await;
        (response.status(), response.text().await.expect("text"))
    }

    async fn reveal(&self, id: &str, key: Option<&str>) -> (StatusCode, Value) {
        let mut request = self
            .app
            .client
            .post(self.app.url(&format!("{TENANTS}/{id}/connection/reveal")))
            .bearer_auth(&self.token);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await.expect("request");
        (
            response.status(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    async fn revealed_events(&self, id: &str) -> Vec<Value> {
        events_of_type(&self.app, &self.token, id, "TenantCredentialsRevealed").await
    }
}

async fn redis_as(c: &Value, password: &str) -> redis::aio::MultiplexedConnection {
    redis_login(c, password)
        .await
        .expect("the tenant's Redis user logs in")
}

/// A connection as the tenant's Redis user with `password`, if it logs in.
async fn redis_login(
    c: &Value,
    password: &str,
) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
    let url = c["redis"]["url"].as_str().unwrap();
    let with_password = url.replacen('@', &format!(":{password}@"), 1);
    redis::Client::open(with_password)?
        .get_multiplexed_async_connection()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_model_has_a_connection_without_secrets_and_a_reveal_that_logs_in() {
    let f = spawn().await;
    let shared = f.create("free").await;
    let schema = f.create("pro").await;
    let database = f.create("enterprise").await;
    for id in [&shared, &schema, &database] {
        f.wait_for(id, "active").await;
    }

    for (id, isolation) in [
        (&shared, "shared_schema"),
        (&schema, "schema_per_tenant"),
        (&database, "database_per_tenant"),
    ] {
        let (status, text) = f.connection(id).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        let connection: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(connection["isolation"], isolation);
        assert!(connection.get("passwords").is_none(), "{connection}");
        assert_eq!(
            connection["queues"][0]["stream"],
            format!("tenant:{id}:queue:default")
        );

        let (_, pg_password, redis_password) = f.revealed(id).await;
        // The connection names no secret.
        assert!(!text.contains(&pg_password) && !text.contains(&redis_password));
        assert!(
            !connection["redis"]["url"]
                .as_str()
                .unwrap()
                .contains(&redis_password)
        );

        // PostgreSQL: the password logs in, another does not (the server checks it).
        assert!(
            sqlx::PgConnection::connect(&pg_url(&connection, "wrong"))
                .await
                .is_err(),
            "{isolation}: a wrong password logged in"
        );
        let mut conn = sqlx::PgConnection::connect(&pg_url(&connection, &pg_password))
            .await
            .unwrap_or_else(|e| panic!("{isolation}: the revealed password: {e}"));
        match isolation {
            "schema_per_tenant" => {
                let schema_name = connection["postgres"]["schema"].as_str().unwrap();
                sqlx::raw_sql(&format!(
                    "CREATE TABLE {schema_name}.patients (id int); \
                     INSERT INTO {schema_name}.patients VALUES (1)"
                ))
                .execute(&mut conn)
                .await
                .expect("the tenant's role writes its schema");
                let other = sqlx::query("SELECT count(*) FROM events")
                    .execute(&mut conn)
                    .await;
                assert!(other.is_err(), "the tenant's role read the control plane");
            }
            "database_per_tenant" => {
                let db: String = sqlx::query_scalar("SELECT current_database()::text")
                    .fetch_one(&mut conn)
                    .await
                    .expect("query");
                assert_eq!(db, connection["postgres"]["database"]);
            }
            _ => {
                let setting = &connection["postgres"]["tenant_setting"];
                assert_eq!(setting["name"], "app.tenant_id");
                let mut tx = conn.begin().await.expect("begin");
                sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
                    .bind(setting["value"].as_str().unwrap())
                    .execute(&mut *tx)
                    .await
                    .expect("set");
                let ids: Vec<uuid::Uuid> =
                    sqlx::query_scalar("SELECT tenant_id FROM shared.tenants")
                        .fetch_all(&mut *tx)
                        .await
                        .expect("the shared login reads the shared tenants");
                assert_eq!(ids, vec![id.parse::<uuid::Uuid>().unwrap()]);
            }
        }

        // Redis: the user logs in and is held to its namespace.
        let mut redis = redis_as(&connection, &redis_password).await;
        let namespace = connection["redis"]["namespace"].as_str().unwrap();
        redis::cmd("SET")
            .arg(format!("{namespace}probe"))
            .arg("1")
            .query_async::<()>(&mut redis)
            .await
            .expect("a key in the namespace");
        let outside = redis::cmd("SET")
            .arg("elsewhere:probe")
            .arg("1")
            .query_async::<()>(&mut redis)
            .await;
        assert!(outside.is_err(), "{isolation}: wrote outside its namespace");

        // Audited: who and from where, and no secret in the event.
        let events = f.revealed_events(id).await;
        assert_eq!(events.len(), 1, "{events:?}");
        let event = events[0].to_string();
        assert!(event.contains("staff:"), "{event}");
        assert!(event.contains("127.0.0.1"), "{event}");
        assert!(!event.contains(&pg_password) && !event.contains(&redis_password));
    }

    // A replay with the same key keeps no password and records nothing more.
    let (status, first) = f.reveal(&schema, Some("reveal-1")).await;
    assert_eq!(status, StatusCode::OK);
    let password = first["passwords"]["postgres"].as_str().unwrap().to_owned();
    let (status, replay) = f.reveal(&schema, Some("reveal-1")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(replay["passwords"].is_null(), "{replay}");
    assert_eq!(f.revealed_events(&schema).await.len(), 2);
    let kept: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM idempotency_keys \
         WHERE position(convert_to($1, 'UTF8') IN coalesce(response_body, ''::bytea)) > 0",
    )
    .bind(&password)
    .fetch_one(&f.app.db.pool)
    .await
    .expect("search keys");
    assert_eq!(kept, 0, "an idempotency row holds the password");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_tenants_are_404_and_deleted_ones_refused() {
    let f = spawn().await;
    let unknown = uuid::Uuid::now_v7().to_string();
    assert_eq!(f.connection(&unknown).await.0, StatusCode::NOT_FOUND);
    assert_eq!(f.reveal(&unknown, None).await.0, StatusCode::NOT_FOUND);

    let id = f.create("pro").await;
    f.wait_for(&id, "active").await;
    let response = f
        .app
        .delete_auth(&format!("{TENANTS}/{id}"), &f.token)
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    f.wait_for(&id, "deleted").await;
    let (status, body) = f.connection(&id).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = f.reveal(&id, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(f.revealed_events(&id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_tenant_from_before_its_role_logged_in_gets_a_password_on_its_first_reveal() {
    let f = spawn().await;
    let id = f.create("pro").await;
    f.wait_for(&id, "active").await;
    // As provisioning left a schema tenant before issue 12: a NOLOGIN role, no stored password.
    let names = tenantry_domain::TenantNames::of(id.parse().expect("id"));
    sqlx::raw_sql(&format!(
        "ALTER ROLE {} NOLOGIN PASSWORD NULL; DELETE FROM secrets WHERE reference = '{}'",
        names.role(),
        names.postgres_secret()
    ))
    .execute(&f.app.db.pool)
    .await
    .expect("make the tenant old");

    let (status, revealed) = f.reveal(&id, None).await;
    assert_eq!(status, StatusCode::OK, "{revealed}");
    let password = revealed["passwords"]["postgres"]
        .as_str()
        .expect("a password");
    let mut conn = sqlx::PgConnection::connect(&pg_url(&revealed, password))
        .await
        .expect("the old tenant's role logs in with its new password");
    let schema: String = sqlx::query_scalar("SELECT current_schema()::text")
        .fetch_one(&mut conn)
        .await
        .expect("query");
    assert_eq!(schema, names.schema());
    // The next reveal answers the same password.
    let (_, again) = f.reveal(&id, None).await;
    assert_eq!(again["passwords"]["postgres"], password);
}

impl Fixture {
    async fn rotate(&self, id: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .app
            .post_json_auth(
                &format!("{TENANTS}/{id}/credentials/rotate"),
                &body,
                &self.token,
            )
            .await;
        (
            response.status(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// Polls the tenant until its `credentials` hold `also`.
    async fn wait_credentials(&self, id: &str, also: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let body: Value = self
                .app
                .get_auth(&format!("{TENANTS}/{id}"), &self.token)
                .await
                .json()
                .await
                .expect("json");
            if also(&body["credentials"]) {
                return body["credentials"].clone();
            }
            assert!(
                Instant::now() < deadline,
                "credentials never got there: {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The revealed login's URL and passwords.
    async fn revealed(&self, id: &str) -> (Value, String, String) {
        let (status, revealed) = self.reveal(id, None).await;
        assert_eq!(status, StatusCode::OK, "{revealed}");
        let pg = revealed["passwords"]["postgres"]
            .as_str()
            .unwrap()
            .to_owned();
        let redis = revealed["passwords"]["redis"].as_str().unwrap().to_owned();
        (revealed, pg, redis)
    }
}

async fn logs_in(connection: &Value, password: &str) -> bool {
    sqlx::PgConnection::connect(&pg_url(connection, password))
        .await
        .is_ok()
}

async fn redis_logs_in(connection: &Value, password: &str) -> bool {
    match redis_login(connection, password).await {
        Ok(mut conn) => redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .is_ok(),
        Err(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_gives_new_passwords_and_the_old_ones_stop_after_the_grace_period() {
    let f = spawn().await;
    let schema = f.create("pro").await;
    let database = f.create("enterprise").await;
    let shared = f.create("free").await;
    for id in [&schema, &database, &shared] {
        f.wait_for(id, "active").await;
    }

    // Bad input names its field: out of range (422), not a number (400, as any body of the
    // wrong type).
    for (body, expected) in [
        (
            json!({"grace_seconds": -1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"grace_seconds": 700000}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"grace_seconds": 1.5}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"grace_seconds": "soon"}), StatusCode::BAD_REQUEST),
    ] {
        let (status, error) = f.rotate(&schema, body).await;
        assert_eq!(status, expected, "{error}");
        assert_eq!(error["error"]["field"], "grace_seconds", "{error}");
    }

    for (id, isolation) in [
        (&schema, "schema_per_tenant"),
        (&database, "database_per_tenant"),
    ] {
        let (old, old_pg, old_redis) = f.revealed(id).await;
        let mut old_session = sqlx::PgConnection::connect(&pg_url(&old, &old_pg))
            .await
            .expect("the old login");

        let (status, rotated) = f.rotate(id, json!({"grace_seconds": 8})).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{rotated}");
        assert_eq!(rotated["rotation"], 1);
        f.wait_credentials(id, |c| c["current"] == 1).await;

        // In the grace period both work; the new login is another role.
        let (new, new_pg, new_redis) = f.revealed(id).await;
        assert_ne!(
            new["postgres"]["user"], old["postgres"]["user"],
            "{isolation}"
        );
        assert_ne!(new_pg, old_pg);
        assert_ne!(new_redis, old_redis);
        assert!(logs_in(&new, &new_pg).await, "{isolation}: the new login");
        assert!(
            logs_in(&old, &old_pg).await,
            "{isolation}: the old login in its grace period"
        );
        assert!(redis_logs_in(&new, &new_redis).await && redis_logs_in(&old, &old_redis).await);
        // The directory routes services to the new login too.
        let tenant: Value = f
            .app
            .get_auth(&format!("{TENANTS}/{id}"), &f.token)
            .await
            .json()
            .await
            .expect("json");
        let host = format!(
            "{}.{}",
            tenant["slug"].as_str().unwrap(),
            tenantry_api::Settings::from_env().base_domain
        );
        let resolved: Value = f
            .app
            .get_auth(&format!("/platform/api/resolve?host={host}"), &f.token)
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(resolved["user"], new["postgres"]["user"], "{resolved}");
        // A rotation in its grace period is no access change.
        assert_eq!(tenant["credentials"]["status"], "in_grace", "{tenant}");
        assert_eq!(tenant["access"]["pending"], false, "{tenant}");
        let (status, refused) = f.rotate(id, json!({})).await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");
        assert_eq!(
            refused["error"]["code"], "rotation_in_progress",
            "{refused}"
        );

        // The new login acts as the tenant's role: what it makes, the tenant's role owns.
        let mut new_session = sqlx::PgConnection::connect(&pg_url(&new, &new_pg))
            .await
            .expect("the new login");
        let acting: String = sqlx::query_scalar("SELECT current_user::text")
            .fetch_one(&mut new_session)
            .await
            .expect("query");
        assert_eq!(
            acting,
            old["postgres"]["user"].as_str().unwrap(),
            "{isolation}"
        );

        // After the grace period only the new ones work, and the old session is ended.
        let done = f.wait_credentials(id, |c| c["status"] == "done").await;
        assert_eq!(done["in_grace"], false);
        assert!(
            !logs_in(&old, &old_pg).await,
            "{isolation}: the old login after its grace"
        );
        assert!(
            logs_in(&new, &new_pg).await,
            "{isolation}: the new login after the grace"
        );
        assert!(
            !redis_logs_in(&old, &old_redis).await,
            "the old Redis password still works"
        );
        assert!(redis_logs_in(&new, &new_redis).await);
        assert!(
            sqlx::query("SELECT 1")
                .execute(&mut old_session)
                .await
                .is_err(),
            "{isolation}: the old login's session was not ended"
        );
        let (again, again_pg, _) = f.revealed(id).await;
        assert_eq!(again["postgres"]["user"], new["postgres"]["user"]);
        assert_eq!(
            again_pg, new_pg,
            "the retired rotation's password is the current one"
        );

        // A second rotation, without grace: the other login, the first one retired at once.
        let (status, second) = f.rotate(id, json!({"grace_seconds": 0})).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{second}");
        assert_eq!(second["rotation"], 2);
        f.wait_credentials(id, |c| c["current"] == 2 && c["status"] == "done")
            .await;
        let (third, third_pg, _) = f.revealed(id).await;
        assert!(logs_in(&third, &third_pg).await);
        assert!(
            !logs_in(&new, &new_pg).await,
            "{isolation}: rotation 1's login after rotation 2"
        );

        // Suspension switches the current login off; reactivation gives it back, and only it.
        let response = f
            .app
            .post_json_auth(&format!("{TENANTS}/{id}/suspend"), &json!({}), &f.token)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        f.wait_credentials(id, |_| true).await;
        let deadline = Instant::now() + Duration::from_secs(30);
        while logs_in(&third, &third_pg).await {
            assert!(
                Instant::now() < deadline,
                "{isolation}: suspended, still logs in"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let response = f
            .app
            .post_json_auth(&format!("{TENANTS}/{id}/reactivate"), &json!({}), &f.token)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !logs_in(&third, &third_pg).await {
            assert!(
                Instant::now() < deadline,
                "{isolation}: reactivated, cannot log in"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            !logs_in(&new, &new_pg).await,
            "reactivation gave a retired login back"
        );
        assert!(
            !logs_in(&old, &old_pg).await,
            "reactivation gave a retired login back"
        );

        // Audited, without a secret.
        let body: Value = f
            .app
            .get_auth(&format!("{TENANTS}/{id}/events?limit=500"), &f.token)
            .await
            .json()
            .await
            .expect("json");
        let history = body.to_string();
        for event in [
            "TenantCredentialsRotated",
            "TenantCredentialsApplied",
            "TenantCredentialsRetired",
        ] {
            assert!(history.contains(event), "{event} missing");
        }
        for secret in [&old_pg, &new_pg, &third_pg, &old_redis, &new_redis] {
            assert!(
                !history.contains(secret.as_str()),
                "a password is in the history"
            );
        }
    }

    // A shared_schema tenant keeps the shared login; its Redis password rotates.
    let (old, _, old_redis) = f.revealed(&shared).await;
    let (status, _) = f.rotate(&shared, json!({"grace_seconds": 0})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    f.wait_credentials(&shared, |c| c["status"] == "done").await;
    let (new, new_pg, new_redis) = f.revealed(&shared).await;
    assert_eq!(new["postgres"]["user"], old["postgres"]["user"]);
    assert!(logs_in(&new, &new_pg).await);
    assert!(!redis_logs_in(&old, &old_redis).await);
    assert!(redis_logs_in(&new, &new_redis).await);

    // Deletion drops the rotations' logins and passwords too.
    let names = tenantry_domain::TenantNames::of(database.parse().expect("id"));
    let response = f
        .app
        .delete_auth(&format!("{TENANTS}/{database}"), &f.token)
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    f.wait_for(&database, "deleted").await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_roles WHERE rolname LIKE $1")
        .bind(format!("{}%", names.role()))
        .fetch_one(&f.app.db.pool)
        .await
        .expect("roles");
    assert_eq!(left, 0, "a login of the deleted tenant is left");
    let secrets: i64 = sqlx::query_scalar("SELECT count(*) FROM secrets WHERE reference LIKE $1")
        .bind(format!("{}%", names.secret_prefix()))
        .fetch_one(&f.app.db.pool)
        .await
        .expect("secrets");
    assert_eq!(secrets, 0, "a password of the deleted tenant is left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_is_retired_by_the_next_service_after_a_restart() {
    let f = spawn().await;
    let id = f.create("enterprise").await;
    f.wait_for(&id, "active").await;
    let (old, old_pg, old_redis) = f.revealed(&id).await;
    // A whole number written as a float is a whole number (JSON Schema's `integer`).
    let (status, _) = f.rotate(&id, json!({"grace_seconds": 8.0})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    f.wait_credentials(&id, |c| c["current"] == 1).await;
    let (new, new_pg, new_redis) = f.revealed(&id).await;

    // The service stops inside the grace period; the next one on the same database retires it.
    let Fixture { app, _pg: pg, .. } = f;
    let db = app.db.clone();
    drop(app);
    assert!(
        logs_in(&old, &old_pg).await,
        "retired before the grace period ended"
    );
    let f = spawn_on(pg, db).await;
    let done = f.wait_credentials(&id, |c| c["status"] == "done").await;
    assert_eq!(done["current"], 1);
    assert!(!logs_in(&old, &old_pg).await);
    assert!(!redis_logs_in(&old, &old_redis).await);
    assert!(logs_in(&new, &new_pg).await);
    assert!(redis_logs_in(&new, &new_redis).await);
}
