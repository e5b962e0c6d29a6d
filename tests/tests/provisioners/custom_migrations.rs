//! The SaaS's own tenant migrations (`TENANTRY_TENANT_MIGRATIONS_DIR`): new tenants of every
//! isolation model get them, the template is rebuilt when they change, and the shared model
//! refuses a shared table that does not keep tenants apart.

use std::path::{Path, PathBuf};

use sqlx::{ConnectOptions, Connection, Executor};
use tenantry_application::provisioning::Provisioner;
use tenantry_domain::{IsolationModel, ProvisionedResource, ProvisioningStep, TenantNames};
use tenantry_infrastructure::provisioning::{TenantMigrationSet, TenantProvisioner};

use crate::support::{Harness, apply_all};

/// A directory of migration files of its own, removed on drop.
struct MigrationsDir(PathBuf);

impl MigrationsDir {
    fn new(files: &[(&str, &str)]) -> Self {
        let dir =
            std::env::temp_dir().join(format!("tenantry-migrations-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let dir = Self(dir);
        for (name, sql) in files {
            dir.add(name, sql);
        }
        dir
    }

    fn add(&self, name: &str, sql: &str) {
        std::fs::write(self.0.join(name), sql).unwrap();
    }

    fn load(&self) -> TenantMigrationSet {
        TenantMigrationSet::load(self.path()).expect("a valid migrations directory")
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for MigrationsDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const PATIENTS: &str = "CREATE TABLE patients (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL
);";

const APPOINTMENTS: &str = "CREATE TABLE appointments (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id bigint NOT NULL REFERENCES patients (id),
    at         timestamptz NOT NULL
);
CREATE INDEX appointments_at ON appointments (at);";

fn provisioner(h: &Harness, migrations: TenantMigrationSet, template: &str) -> TenantProvisioner {
    h.restarted()
        .with_template_database(template)
        .with_tenant_migrations(migrations)
}

fn unique_template() -> String {
    format!(
        "tenantry_template_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

#[tokio::test]
async fn schema_and_database_tenants_get_the_saas_migrations_and_the_template_follows_them() {
    Harness::new()
        .await
        .run(|h| async move {
            let dir = MigrationsDir::new(&[("20270101000000_patients.sql", PATIENTS)]);
            let template = unique_template();
            let first = provisioner(h, dir.load(), &template);

            // schema_per_tenant: the tables are in the tenant's schema, its role may use them, and
            // the built-in tables are not there.
            let schema_tenant = h.tenant(IsolationModel::SchemaPerTenant);
            let made = apply_all(&first, &schema_tenant)
                .await
                .expect("provisioned");
            let names = TenantNames::of(schema_tenant.id);
            assert!(
                made.contains(&ProvisionedResource::TenantMigrations {
                    target: names.schema().to_owned(),
                    latest_version: 20270101000000,
                }),
                "{made:?}"
            );
            let mut admin = h.connect().await;
            let mut tx = admin.begin().await.unwrap();
            tx.execute(sqlx::raw_sql(&format!(
                "SET LOCAL ROLE {role}; SET LOCAL search_path TO {role}",
                role = names.role()
            )))
            .await
            .unwrap();
            sqlx::query("INSERT INTO patients (name) VALUES ('Ada')")
                .execute(&mut *tx)
                .await
                .expect("the tenant's role writes the SaaS's table");
            let builtin: Option<String> = sqlx::query_scalar("SELECT to_regclass('records')::text")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            assert_eq!(
                builtin, None,
                "the built-in tables are not applied beside the SaaS's own"
            );
            tx.rollback().await.unwrap();

            // database_per_tenant: copied from a template holding the SaaS's migrations.
            let database_tenant = h.tenant(IsolationModel::DatabasePerTenant);
            apply_all(&first, &database_tenant)
                .await
                .expect("provisioned");
            let database = TenantNames::of(database_tenant.id).database().to_owned();
            let password = h
                .secrets
                .get(&TenantNames::of(database_tenant.id).postgres_secret())
                .await
                .unwrap()
                .expect("stored");
            let mut tenant_conn = h
                .options()
                .database(&database)
                .username(&database)
                .password(password.expose())
                .connect()
                .await
                .expect("the tenant logs in");
            sqlx::query("INSERT INTO patients (name) VALUES ('Grace')")
                .execute(&mut tenant_conn)
                .await
                .expect("the tenant writes the SaaS's table in its database");
            tenant_conn.close().await.unwrap();
            let before = stamp_of(&mut admin, &template).await;
            assert!(
                before
                    .as_deref()
                    .is_some_and(|s| s.contains("up to 20270101000000")),
                "{before:?}"
            );

            // A new migration in the directory: the template is rebuilt, the next copy has it.
            dir.add("20270102000000_appointments.sql", APPOINTMENTS);
            let second = provisioner(h, dir.load(), &template);
            let later = h.tenant(IsolationModel::DatabasePerTenant);
            let made = apply_all(&second, &later).await.expect("provisioned");
            assert!(
                made.contains(&ProvisionedResource::TenantMigrations {
                    target: TenantNames::of(later.id).database().to_owned(),
                    latest_version: 20270102000000,
                }),
                "{made:?}"
            );
            let after = stamp_of(&mut admin, &template).await;
            assert_ne!(before, after);
            assert!(
                after
                    .as_deref()
                    .is_some_and(|s| s.contains("up to 20270102000000")),
                "{after:?}"
            );
            let mut conn = h
                .options()
                .database(TenantNames::of(later.id).database())
                .connect()
                .await
                .unwrap();
            let appointments: i64 = sqlx::query_scalar("SELECT count(*) FROM appointments")
                .fetch_one(&mut conn)
                .await
                .expect("the new table was copied from the rebuilt template");
            assert_eq!(appointments, 0);
            conn.close().await.unwrap();

            for tenant in [&schema_tenant, &database_tenant, &later] {
                for step in ProvisioningStep::sequence(tenant.isolation).iter().rev() {
                    second.release(tenant.id, *step).await.unwrap();
                }
            }
            admin
                .execute(sqlx::raw_sql(&format!(
                    "DROP DATABASE IF EXISTS \"{template}\""
                )))
                .await
                .unwrap();
        })
        .await;
}

const SHARED_PATIENTS: &str = "CREATE TABLE patients (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id uuid NOT NULL DEFAULT current_tenant_id(),
    name      text NOT NULL
);
ALTER TABLE patients ENABLE ROW LEVEL SECURITY;
ALTER TABLE patients FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON patients
    USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());";

#[tokio::test]
async fn shared_tables_are_migrated_once_and_a_table_without_row_level_security_is_refused() {
    Harness::new()
        .await
        .run(|h| async move {
            let good = MigrationsDir::new(&[("20270101000000_patients.sql", SHARED_PATIENTS)]);
            let template = unique_template();
            let provisioner = provisioner(h, good.load(), &template);
            let (a, b) = (
                h.tenant(IsolationModel::SharedSchema),
                h.tenant(IsolationModel::SharedSchema),
            );
            apply_all(&provisioner, &a).await.expect("provisioned");
            apply_all(&provisioner, &b).await.expect("provisioned");
            let mut admin = h.connect().await;
            let history: Vec<i64> =
                sqlx::query_scalar("SELECT version FROM shared._sqlx_migrations")
                    .fetch_all(&mut admin)
                    .await
                    .unwrap();
            assert_eq!(history, [20270101000000], "migrated once");
            for (tenant, name) in [(&a, "a's patient"), (&b, "b's patient")] {
                let mut tx = admin.begin().await.unwrap();
                tx.execute("SET LOCAL ROLE tenantry_shared_app")
                    .await
                    .unwrap();
                sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
                    .bind(tenant.id.to_string())
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                sqlx::query("INSERT INTO shared.patients (name) VALUES ($1)")
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .expect("the shared app role writes the SaaS's shared table");
                let seen: Vec<String> = sqlx::query_scalar("SELECT name FROM shared.patients")
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap();
                assert_eq!(seen, [name], "row-level security keeps tenants apart");
                tx.commit().await.unwrap();
            }

            // A later migration adds a table without tenant_id and row-level security: refused
            // for good, naming the table, and nothing of it is left.
            good.add(
                "20270102000000_rooms.sql",
                "CREATE TABLE rooms (id bigint PRIMARY KEY, label text);",
            );
            let refusing = h
                .restarted()
                .with_template_database(&template)
                .with_tenant_migrations(good.load());
            let c = h.tenant(IsolationModel::SharedSchema);
            let error = refusing
                .apply(&c, ProvisioningStep::RegisterSharedTenant)
                .await
                .expect_err("refused");
            let shown = format!("{error:#}");
            assert!(!error.is_retryable(), "{shown}");
            assert!(shown.contains("shared.rooms"), "{shown}");
            assert!(shown.contains("tenant_id"), "{shown}");
            assert!(shown.contains("row-level security"), "{shown}");
            let rooms: Option<String> =
                sqlx::query_scalar("SELECT to_regclass('shared.rooms')::text")
                    .fetch_one(&mut admin)
                    .await
                    .unwrap();
            assert_eq!(rooms, None, "the refused migration was rolled back");
            let history: Vec<i64> =
                sqlx::query_scalar("SELECT version FROM shared._sqlx_migrations")
                    .fetch_all(&mut admin)
                    .await
                    .unwrap();
            assert_eq!(history, [20270101000000]);
            let registered: i64 =
                sqlx::query_scalar("SELECT count(*) FROM shared.tenants WHERE tenant_id = $1")
                    .bind(c.id.as_uuid())
                    .fetch_one(&mut admin)
                    .await
                    .unwrap();
            assert_eq!(registered, 0, "the tenant was not registered either");

            h.release_all(&a).await;
            h.release_all(&b).await;
        })
        .await;
}

async fn stamp_of(admin: &mut sqlx::PgConnection, template: &str) -> Option<String> {
    sqlx::query_scalar(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
    )
    .bind(template)
    .fetch_one(admin)
    .await
    .unwrap()
}
