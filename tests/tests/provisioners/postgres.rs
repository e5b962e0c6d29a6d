//! The PostgreSQL steps: the resources exist and work, and keep tenants apart.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use sqlx::{ConnectOptions, Connection, Executor};
use tenantry_application::provisioning::{Provisioner, SecretValue};
use tenantry_domain::{IsolationModel, ProvisionedResource, ProvisioningStep, TenantNames};
use tenantry_infrastructure::provisioning::latest_version;

use crate::support::{Harness, sqlstate};

const INSUFFICIENT_PRIVILEGE: &str = "42501";

#[tokio::test]
async fn shared_schema_row_level_security_keeps_tenants_apart_whatever_the_query_says() {
    Harness::new().await.run(|h| async move {
        let (a, b) = (h.tenant(IsolationModel::SharedSchema), h.tenant(IsolationModel::SharedSchema));
        let made = h.apply_all(&a).await;
        assert_eq!(made[0], ProvisionedResource::SharedTenant);
        h.apply_all(&b).await;
        let mut conn = h.connect().await;
        // Each tenant writes a row of its own, as the application role.
        for (tenant, body) in [(&a, "a's secret"), (&b, "b's secret")] {
            let mut tx = as_app(&mut conn, &tenant.id.to_string()).await;
            sqlx::query("INSERT INTO shared.tenant_records (kind, body) VALUES ('note', to_jsonb($1::text))")
                .bind(body)
                .execute(&mut *tx)
                .await
                .expect("a tenant writes its own rows");
            tx.commit().await.unwrap();
        }

        let mut tx = as_app(&mut conn, &a.id.to_string()).await;
        let visible: Vec<String> = sqlx::query_scalar("SELECT body #>> '{}' FROM shared.tenant_records")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        assert_eq!(visible, ["a's secret"]);
        let crafted: i64 = sqlx::query_scalar("SELECT count(*) FROM shared.tenant_records WHERE tenant_id = $1")
            .bind(b.id.as_uuid())
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(crafted, 0, "a crafted WHERE does not reach another tenant's rows");
        let tenants: i64 = sqlx::query_scalar("SELECT count(*) FROM shared.tenants")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(tenants, 1, "a tenant sees only its own registration");
        for sql in [
            "UPDATE shared.tenant_records SET kind = 'stolen' WHERE tenant_id = $1",
            "DELETE FROM shared.tenant_records WHERE tenant_id = $1",
        ] {
            let touched = sqlx::query(sql).bind(b.id.as_uuid()).execute(&mut *tx).await.unwrap();
            assert_eq!(touched.rows_affected(), 0, "{sql}");
        }
        let smuggled = sqlx::query("INSERT INTO shared.tenant_records (tenant_id, kind) VALUES ($1, 'x')")
            .bind(b.id.as_uuid())
            .execute(&mut *tx)
            .await
            .expect_err("a row of another tenant cannot be written");
        assert_eq!(sqlstate(smuggled), INSUFFICIENT_PRIVILEGE);
        tx.rollback().await.unwrap();

        let mut tx = as_app_without_tenant(&mut conn).await;
        let unset: i64 = sqlx::query_scalar("SELECT count(*) FROM shared.tenant_records")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(unset, 0, "without app.tenant_id nothing is visible");
        tx.rollback().await.unwrap();

        h.release_all(&a).await;
        h.release_all(&a).await;
        let left: Vec<(String, String)> = sqlx::query_as(
            "SELECT tenant_id::text, body #>> '{}' FROM shared.tenant_records ORDER BY 1",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        assert_eq!(left, [(b.id.to_string(), "b's secret".to_owned())], "release removes a's rows only");
        assert!(h.remaining(a.id).await.is_empty());
        h.release_all(&b).await;
    })
    .await;
}

/// A transaction as the shared application role with `app.tenant_id` set.
async fn as_app<'c>(
    conn: &'c mut sqlx::PgConnection,
    tenant: &str,
) -> sqlx::Transaction<'c, sqlx::Postgres> {
    let mut tx = as_app_without_tenant(conn).await;
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(tenant)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx
}

async fn as_app_without_tenant(
    conn: &mut sqlx::PgConnection,
) -> sqlx::Transaction<'_, sqlx::Postgres> {
    let mut tx = conn.begin().await.unwrap();
    tx.execute("SET LOCAL ROLE tenantry_shared_app")
        .await
        .unwrap();
    tx
}

#[tokio::test]
async fn a_schema_per_tenant_role_writes_its_schema_and_no_other() {
    Harness::new().await.run(|h| async move {
        let (a, b) = (h.tenant(IsolationModel::SchemaPerTenant), h.tenant(IsolationModel::SchemaPerTenant));
        let made = h.apply_all(&a).await;
        h.apply_all(&b).await;
        let (schema_a, schema_b) = (TenantNames::of(a.id).schema().to_owned(), TenantNames::of(b.id).schema().to_owned());
        assert_eq!(made[0], ProvisionedResource::Schema { schema: schema_a.clone(), role: schema_a.clone() });
        assert_eq!(
            made[1],
            ProvisionedResource::TenantMigrations { target: schema_a.clone(), latest_version: latest_version() }
        );

        let mut conn = h.connect().await;
        // sqlx kept the tenant's migration history in the tenant's schema, not in public.
        let history: i64 = sqlx::query_scalar(&format!("SELECT max(version) FROM \"{schema_a}\"._sqlx_migrations"))
            .fetch_one(&mut conn)
            .await
            .expect("the tenant schema has its own _sqlx_migrations");
        assert_eq!(history, latest_version());
        let control: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM public._sqlx_migrations WHERE description = 'tenant base'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(control, 0, "the control plane's history is untouched");

        conn.execute(format!("SET ROLE \"{schema_a}\"").as_str()).await.unwrap();
        sqlx::query(&format!("INSERT INTO \"{schema_a}\".records (kind) VALUES ('note')"))
            .execute(&mut conn)
            .await
            .expect("the role writes its schema's tables");
        conn.execute(format!("CREATE TABLE \"{schema_a}\".own (x int); INSERT INTO \"{schema_a}\".own VALUES (1)").as_str())
            .await
            .expect("the role creates tables in its schema");
        for sql in [
            format!("INSERT INTO \"{schema_b}\".records (kind) VALUES ('intruder')"),
            format!("SELECT count(*) FROM \"{schema_b}\".records"),
            format!("CREATE TABLE \"{schema_b}\".planted (x int)"),
            format!("SELECT count(*) FROM \"{schema_a}\"._sqlx_migrations"),
            "SELECT count(*) FROM public.events".to_owned(),
            "CREATE TABLE public.planted (x int)".to_owned(),
        ] {
            let refused = sqlx::query(&sql).execute(&mut conn).await.expect_err(&sql);
            assert_eq!(sqlstate(refused), INSUFFICIENT_PRIVILEGE, "{sql}");
        }
        conn.execute("RESET ROLE").await.unwrap();

        h.release_all(&a).await;
        assert!(h.remaining(a.id).await.is_empty(), "{:?}", h.remaining(a.id).await);
        let others: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM \"{schema_b}\".records"))
            .fetch_one(&mut conn)
            .await
            .expect("b's schema is untouched");
        assert_eq!(others, 0);
        h.release_all(&b).await;
    })
    .await;
}

#[tokio::test]
async fn a_database_per_tenant_login_works_with_its_stored_password_and_only_there() {
    Harness::new()
        .await
        .run(|h| async move {
            let (a, b) = (
                h.tenant(IsolationModel::DatabasePerTenant),
                h.tenant(IsolationModel::DatabasePerTenant),
            );
            let made = h.apply_all(&a).await;
            h.apply_all(&b).await;
            let names = TenantNames::of(a.id);
            let (name, secret) = (names.database().to_owned(), names.postgres_secret());
            assert_eq!(
                made[0],
                ProvisionedResource::Database {
                    database: name.clone(),
                    role: name.clone(),
                    password_secret: secret.clone()
                }
            );
            assert_eq!(
                made[1],
                ProvisionedResource::TenantMigrations {
                    target: name.clone(),
                    latest_version: latest_version()
                }
            );
            let password = h
                .secrets
                .get(&secret)
                .await
                .unwrap()
                .expect("the password is stored");

            // The server here may trust local connections, so a login alone proves little: check the
            // role's SCRAM verifier against the stored password as well.
            let mut admin = h.connect().await;
            let verifier: String =
                sqlx::query_scalar("SELECT rolpassword FROM pg_authid WHERE rolname = $1")
                    .bind(&name)
                    .fetch_one(&mut admin)
                    .await
                    .unwrap();
            assert!(
                scram_matches(&verifier, &password),
                "the role's password is the stored one"
            );

            let mut tenant = h
                .options()
                .database(&name)
                .username(&name)
                .password(password.expose())
                .connect()
                .await
                .expect("the tenant logs in to its database");
            sqlx::query("INSERT INTO records (kind, body) VALUES ('note', '{\"hello\": 1}')")
                .execute(&mut tenant)
                .await
                .expect("the tenant writes its migrated tables");
            let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
                .fetch_one(&mut tenant)
                .await
                .unwrap();
            assert_eq!(jobs, 0);
            tenant.close().await.unwrap();

            let elsewhere = h
                .options()
                .database(TenantNames::of(b.id).database())
                .username(&name)
                .password(password.expose())
                .connect()
                .await
                .expect_err("the tenant cannot connect to another tenant's database");
            assert_eq!(sqlstate(elsewhere), INSUFFICIENT_PRIVILEGE);

            h.release_all(&a).await;
            assert!(
                h.remaining(a.id).await.is_empty(),
                "{:?}",
                h.remaining(a.id).await
            );
            assert_eq!(
                h.secrets.get(&secret).await.unwrap(),
                None,
                "the password is forgotten"
            );
            h.release_all(&b).await;
        })
        .await;
}

/// Tenant databases are copied from the template side by side, and a template that no longer
/// matches the migrations is rebuilt once, before any of them is copied from it.
#[tokio::test]
async fn database_tenants_are_copied_at_once_and_a_stale_template_is_rebuilt_first() {
    Harness::new()
        .await
        .run(|h| async move {
            // A template of this test's own, so that other tests' copies are not disturbed.
            let template = format!("tenantry_template_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
            let provisioner = h.restarted().with_template_database(&template);
            let first = h.tenant(IsolationModel::DatabasePerTenant);
            provisioner
                .apply(&first, ProvisioningStep::Database)
                .await
                .expect("the first copy builds the template");
            let mut admin = h.connect().await;
            admin
                .execute(sqlx::raw_sql(&format!("COMMENT ON DATABASE \"{template}\" IS 'stale'")))
                .await
                .unwrap();

            let tenants: Vec<_> = (0..4)
                .map(|_| h.tenant(IsolationModel::DatabasePerTenant))
                .collect();
            let made = futures::future::join_all(tenants.iter().map(|tenant| {
                let provisioner = &provisioner;
                async move {
                    provisioner.apply(tenant, ProvisioningStep::Database).await?;
                    provisioner.apply(tenant, ProvisioningStep::TenantMigrations).await
                }
            }))
            .await;
            for (tenant, made) in tenants.iter().zip(made) {
                let made = made.unwrap_or_else(|e| panic!("{}: {e}", tenant.id));
                assert!(
                    matches!(made, ProvisionedResource::TenantMigrations { latest_version: v, .. } if v == latest_version()),
                    "{made:?}"
                );
                let mut conn = h
                    .options()
                    .database(TenantNames::of(tenant.id).database())
                    .connect()
                    .await
                    .expect("the tenant database exists");
                let records: i64 = sqlx::query_scalar("SELECT count(*) FROM records")
                    .fetch_one(&mut conn)
                    .await
                    .expect("copied with the migrated tables");
                assert_eq!(records, 0);
                conn.close().await.unwrap();
            }
            let stamp: Option<String> = sqlx::query_scalar(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            )
            .bind(&template)
            .fetch_one(&mut admin)
            .await
            .unwrap();
            assert!(
                stamp.as_deref().is_some_and(|s| s.starts_with("tenantry tenant template")),
                "the template was rebuilt: {stamp:?}"
            );

            for tenant in tenants.iter().chain([&first]) {
                h.release_all(tenant).await;
            }
            admin
                .execute(sqlx::raw_sql(&format!("DROP DATABASE \"{template}\"")))
                .await
                .unwrap();
        })
        .await;
}

#[tokio::test]
async fn a_step_outside_the_isolation_model_is_refused_for_good() {
    Harness::new()
        .await
        .run(|h| async move {
            let tenant = h.tenant(IsolationModel::SharedSchema);
            for step in [
                ProvisioningStep::Schema,
                ProvisioningStep::Database,
                ProvisioningStep::TenantMigrations,
            ] {
                let error = h
                    .provisioner
                    .apply(&tenant, step)
                    .await
                    .expect_err("refused");
                assert!(!error.is_retryable(), "{error}");
                assert!(error.to_string().contains("shared_schema"), "{error}");
            }
            assert!(h.remaining(tenant.id).await.is_empty());
        })
        .await;
}

/// Whether `verifier` (`SCRAM-SHA-256$<i>:<salt>$<StoredKey>:<ServerKey>`) is `password`'s.
fn scram_matches(verifier: &str, password: &SecretValue) -> bool {
    let rest = verifier
        .strip_prefix("SCRAM-SHA-256$")
        .expect("a SCRAM verifier");
    let (params, keys) = rest.split_once('$').unwrap();
    let (iterations, salt) = params.split_once(':').unwrap();
    let (stored_key, _) = keys.split_once(':').unwrap();
    let (iterations, salt): (u32, Vec<u8>) =
        (iterations.parse().unwrap(), STANDARD.decode(salt).unwrap());
    let hmac = |key: &[u8], data: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    };
    let mut u = hmac(
        password.expose().as_bytes(),
        &[salt.as_slice(), &[0, 0, 0, 1]].concat(),
    );
    let mut salted = u.clone();
    for _ in 1..iterations {
        u = hmac(password.expose().as_bytes(), &u);
        salted.iter_mut().zip(&u).for_each(|(s, x)| *s ^= x);
    }
    let client_key = hmac(&salted, b"Client Key");
    STANDARD.encode(Sha256::digest(client_key)) == stored_key
}
