//! The tenant migrations: the tables every tenant gets — the built-in set (`migrations/tenant/`,
//! the default and the example) or the SaaS's own (`TENANTRY_TENANT_MIGRATIONS_DIR`, see
//! [`TenantMigrationSet::load`]) — applied to its
//! schema (`schema_per_tenant`, with the search_path set to that schema) or its database
//! (`database_per_tenant`, in `public`). sqlx's `_sqlx_migrations` table is created, unqualified,
//! in the first schema of the search_path, so each tenant schema keeps its own migration history
//! and version.
//!
//! sqlx's own migration lock is keyed by the database, which would make every tenant schema of
//! the control-plane database wait for every other (and for the control-plane migrations); a lock
//! per target is taken instead. Everything runs in one transaction (each migration in a
//! savepoint of it): the lock, the `search_path` and the grants, so a target's migrations are
//! applied with their grants or not at all, and a pooled connection serves the schema model
//! (nothing outlives the transaction). A fresh connection per tenant schema cost a backend start
//! and cold catalog caches, and the migrations took about five times as long under load. A
//! `-- no-transaction` migration is the exception: it runs alone, between transactions (see
//! `migration_stages.rs`).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Executor, PgConnection};
use tenantry_application::provisioning::{ProvisionError, TenantSpec};
use tenantry_domain::{IsolationModel, ProvisionedResource, TenantNames};

use super::Ctx;
use super::admin::AdminConnection;
use super::errors::OrFail;
use super::ident::quote_ident;
use super::migration_stages::{self, AfterStage, Stage};

/// The tenant migration set, without sqlx's per-database lock (see the module docs).
pub static TENANT_MIGRATOR: Migrator = Migrator {
    locking: false,
    ..sqlx::migrate!("../migrations/tenant")
};

/// The version of the newest built-in tenant migration.
pub fn latest_version() -> i64 {
    TENANT_MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// The tenant migrations every new tenant gets: the built-in set or the SaaS's own, loaded from
/// a directory. Cheap to clone.
#[derive(Clone)]
pub struct TenantMigrationSet {
    migrator: Arc<Migrator>,
    /// The set cut at its `-- no-transaction` migrations (one stage without any).
    stages: Arc<Vec<Stage>>,
    /// `built-in` or the directory it was loaded from.
    source: String,
    custom: bool,
}

impl Default for TenantMigrationSet {
    fn default() -> Self {
        Self::built_in()
    }
}

impl fmt::Debug for TenantMigrationSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantMigrationSet")
            .field("source", &self.source)
            .field("latest_version", &self.latest_version())
            .finish()
    }
}

impl PartialEq for TenantMigrationSet {
    fn eq(&self, other: &Self) -> bool {
        self.fingerprint() == other.fingerprint()
    }
}

impl Eq for TenantMigrationSet {}

impl TenantMigrationSet {
    /// The built-in set (`migrations/tenant/`), compiled into the binary.
    pub fn built_in() -> Self {
        Self::of(
            Migrator {
                locking: false,
                ..sqlx::migrate!("../migrations/tenant")
            },
            "built-in".to_owned(),
            false,
        )
    }

    fn of(migrator: Migrator, source: String, custom: bool) -> Self {
        let stages = stages_of(&migrator);
        Self {
            migrator: Arc::new(migrator),
            stages: Arc::new(stages),
            source,
            custom,
        }
    }

    /// The SaaS's own set from `dir` (`TENANTRY_TENANT_MIGRATIONS_DIR`): sqlx migration files
    /// named `<VERSION>_<DESCRIPTION>.sql` (or `.up.sql`/`.down.sql`; down migrations are never
    /// run); one whose first line is `-- no-transaction` (sqlx's marker) runs alone, outside the
    /// tenant's transaction (see `migration_stages.rs`). Fails, naming the directory or the
    /// file, when the directory is missing or unreadable, holds no migration, holds a file of
    /// another name (hidden files and subdirectories are skipped) or two files of one version.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let shown = dir.display();
        let entries = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read the tenant migrations directory {shown}"))?;
        let mut migrations: BTreeMap<(i64, bool), Migration> = BTreeMap::new();
        for entry in entries {
            let entry = entry
                .with_context(|| format!("cannot read the tenant migrations directory {shown}"))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || path.is_dir() {
                continue;
            }
            let (version, description, kind) = parse_name(&name).with_context(|| {
                format!(
                    "bad tenant migration file name {name:?} in {shown}: expected \
                     <VERSION>_<DESCRIPTION>.sql (VERSION digits, e.g. 20270101000000_patients.sql)"
                )
            })?;
            let sql = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read tenant migration {}", path.display()))?;
            // sqlx's own test (`sqlx migrate run` agrees): the very first line.
            let no_tx = sql.starts_with("-- no-transaction");
            let down = kind == MigrationType::ReversibleDown;
            let migration = Migration::new(
                version,
                Cow::Owned(description),
                kind,
                Cow::Owned(sql),
                no_tx,
            );
            if migrations.insert((version, down), migration).is_some() {
                anyhow::bail!("two tenant migrations of version {version} in {shown}");
            }
        }
        if !migrations
            .values()
            .any(|m| !m.migration_type.is_down_migration())
        {
            anyhow::bail!("the tenant migrations directory {shown} holds no migration (*.sql)");
        }
        Ok(Self::of(
            Migrator {
                migrations: Cow::Owned(migrations.into_values().collect()),
                ignore_missing: false,
                locking: false,
                no_tx: false,
            },
            dir.display().to_string(),
            true,
        ))
    }

    /// The stages a target's migrations run in (see `migration_stages.rs`).
    pub(super) fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The versions of the `-- no-transaction` migrations, oldest first.
    pub fn no_transaction_versions(&self) -> Vec<i64> {
        self.applied()
            .filter(|m| m.no_tx)
            .map(|m| m.version)
            .collect()
    }

    /// The migrations, to run with [`Migrator::run_direct`].
    pub fn migrator(&self) -> &Migrator {
        &self.migrator
    }

    /// `built-in` or the directory the set was loaded from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether this is the SaaS's own set (only then are the shared tables migrated).
    pub fn is_custom(&self) -> bool {
        self.custom
    }

    /// The version of the newest migration of the set.
    pub fn latest_version(&self) -> i64 {
        self.applied().map(|m| m.version).max().unwrap_or(0)
    }

    /// The migrations a target gets (not the down ones), oldest first.
    pub fn applied(&self) -> impl Iterator<Item = &Migration> {
        self.migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
    }

    /// A short hash of every migration's version and checksum: changes whenever a migration is
    /// added or edited.
    pub fn fingerprint(&self) -> String {
        let mut hash = Sha256::new();
        for migration in self.applied() {
            hash.update(migration.version.to_be_bytes());
            hash.update(&migration.checksum);
        }
        hash.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// `migrator`'s up migrations cut at each `-- no-transaction` one: the migrations before it, it
/// alone, and so on; each stage's migrator holds every migration up to its end, and only the last
/// one checks for applied versions the set lacks.
fn stages_of(migrator: &Migrator) -> Vec<Stage> {
    let up: Vec<Migration> = migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .cloned()
        .collect();
    let stage = |end: usize, start: usize, alone: bool| Stage {
        migrator: Migrator {
            migrations: Cow::Owned(up[..end].to_vec()),
            ignore_missing: end < up.len(),
            locking: false,
            no_tx: false,
        },
        versions: up[start..end].iter().map(|m| m.version).collect(),
        alone,
    };
    let mut stages = Vec::new();
    let mut start = 0;
    for (i, migration) in up.iter().enumerate() {
        if migration.no_tx {
            if start < i {
                stages.push(stage(i, start, false));
            }
            stages.push(stage(i + 1, i, true));
            start = i + 1;
        }
    }
    if start < up.len() || stages.is_empty() {
        stages.push(stage(up.len(), start, false));
    }
    stages
}

/// `<VERSION>_<DESCRIPTION>.sql` → version, description, type; `None` for any other name.
fn parse_name(name: &str) -> Option<(i64, String, MigrationType)> {
    let (version, rest) = name.split_once('_')?;
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let version: i64 = version.parse().ok()?;
    let (stem, kind) = if let Some(stem) = rest.strip_suffix(".up.sql") {
        (stem, MigrationType::ReversibleUp)
    } else if let Some(stem) = rest.strip_suffix(".down.sql") {
        (stem, MigrationType::ReversibleDown)
    } else {
        (rest.strip_suffix(".sql")?, MigrationType::Simple)
    };
    if stem.is_empty() {
        return None;
    }
    Some((version, stem.replace('_', " "), kind))
}

pub(super) async fn apply(
    ctx: &Ctx,
    tenant: &TenantSpec,
) -> Result<ProvisionedResource, ProvisionError> {
    let names = TenantNames::of(tenant.id);
    let role = names.role();
    let latest_version = match tenant.isolation {
        IsolationModel::SchemaPerTenant => {
            let mut conn = ctx.admin_connection().await?;
            let schema = names.schema();
            migrate(
                &ctx.migrations,
                &mut conn,
                schema,
                schema,
                role,
                Grants::ByDefault,
            )
            .await?
        }
        IsolationModel::DatabasePerTenant => {
            let database = names.database();
            let mut conn = ctx.connect_to(database).await?;
            let migrated = migrate(
                &ctx.migrations,
                &mut conn,
                database,
                "public",
                role,
                Grants::All,
            )
            .await;
            // Not kept: a connection to one tenant's database serves no other.
            conn.close().await;
            migrated?
        }
        IsolationModel::SharedSchema => {
            return Err(ProvisionError::permanent(anyhow::anyhow!(
                "shared_schema tenants have no tenant migrations"
            )));
        }
    };
    Ok(ProvisionedResource::TenantMigrations {
        target: names.resource().to_owned(),
        latest_version,
    })
}

/// How `role` comes to use what the migrations made.
#[derive(Debug, Clone, Copy)]
pub(super) enum Grants {
    /// The schema step's default privileges gave it everything made in the schema: only the
    /// migration history is taken back.
    ByDefault,
    /// Grant it everything in the schema (a database copied from the template, whose default
    /// privileges know nothing of this role).
    All,
}

/// Runs the tenant migrations into `schema` over `conn` (connected to the right database) in one
/// transaction (per stage, with `-- no-transaction` migrations), gives `role` the use of what
/// they made, and returns the applied version.
pub(super) async fn migrate(
    migrations: &TenantMigrationSet,
    conn: &mut AdminConnection,
    target: &str,
    schema: &str,
    role: &str,
    grants: Grants,
) -> Result<i64, ProvisionError> {
    let after = GrantUse {
        schema,
        role,
        grants,
    };
    migration_stages::run(migrations, conn, target, schema, &after).await
}

/// After each stage: [`grant_use`].
struct GrantUse<'a> {
    schema: &'a str,
    role: &'a str,
    grants: Grants,
}

#[async_trait::async_trait]
impl AfterStage for GrantUse<'_> {
    async fn after(&self, conn: &mut PgConnection) -> Result<(), ProvisionError> {
        grant_use(conn, self.schema, self.role, self.grants).await
    }
}

/// Gives `role` the use of what the migrations made in `schema` (see [`Grants`]), but not the
/// migration history, which is the control plane's.
async fn grant_use(
    conn: &mut PgConnection,
    schema: &str,
    role: &str,
    grants: Grants,
) -> Result<(), ProvisionError> {
    let (schema, role) = (quote_ident(schema), quote_ident(role));
    let everything = format!(
        "GRANT USAGE ON SCHEMA {schema} TO {role};
         GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
             ON ALL TABLES IN SCHEMA {schema} TO {role};
         GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {role};
         GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {schema} TO {role};
         ALTER DEFAULT PRIVILEGES IN SCHEMA {schema}
             GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLES TO {role};
         ALTER DEFAULT PRIVILEGES IN SCHEMA {schema}
             GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {role};
         ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT EXECUTE ON FUNCTIONS TO {role};"
    );
    let history = format!("REVOKE ALL ON {schema}._sqlx_migrations FROM {role};");
    let sql = match grants {
        Grants::All => format!("{everything}\n{history}"),
        Grants::ByDefault => history,
    };
    conn.execute(sqlx::raw_sql(&sql))
        .await
        .or_fail(|| format!("failed to grant {role} the use of schema {schema}"))?;
    Ok(())
}

/// The applied version of `tenant`'s schema or database (0: none; a `shared_schema` tenant: the
/// shared tables').
pub(super) async fn current_version(ctx: &Ctx, tenant: &TenantSpec) -> Result<i64, ProvisionError> {
    let names = TenantNames::of(tenant.id);
    let (mut conn, history, target) = match tenant.isolation {
        IsolationModel::SchemaPerTenant => (
            ctx.admin_connection().await?,
            format!("{}._sqlx_migrations", quote_ident(names.schema())),
            names.schema(),
        ),
        IsolationModel::DatabasePerTenant => (
            ctx.connect_to(names.database()).await?,
            "public._sqlx_migrations".to_owned(),
            names.database(),
        ),
        IsolationModel::SharedSchema => (
            ctx.admin_connection().await?,
            "shared._sqlx_migrations".to_owned(),
            "shared",
        ),
    };
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(&history)
        .fetch_one(&mut *conn)
        .await
        .or_fail(|| format!("failed to look up the migration history of {target}"))?;
    let version = if exists {
        sqlx::query_scalar::<_, Option<i64>>(&format!(
            "SELECT max(version) FROM {history} WHERE success"
        ))
        .fetch_one(&mut *conn)
        .await
        .or_fail(|| format!("failed to read the migration version of {target}"))?
        .unwrap_or(0)
    } else {
        0
    };
    if tenant.isolation == IsolationModel::DatabasePerTenant {
        conn.close().await;
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn migration(version: i64, no_tx: bool) -> Migration {
        Migration::new(
            version,
            Cow::Borrowed("m"),
            MigrationType::Simple,
            Cow::Borrowed("SELECT 1"),
            no_tx,
        )
    }

    fn migrator(migrations: Vec<Migration>) -> Migrator {
        Migrator {
            migrations: Cow::Owned(migrations),
            ignore_missing: false,
            locking: false,
            no_tx: false,
        }
    }

    #[test]
    fn a_set_is_cut_at_each_no_transaction_migration() {
        let set = migrator(vec![
            migration(1, false),
            migration(2, false),
            migration(3, true),
            migration(4, true),
            migration(5, false),
        ]);
        let stages = stages_of(&set);
        let shape: Vec<(Vec<i64>, bool, usize, bool)> = stages
            .iter()
            .map(|s| {
                (
                    s.versions.clone(),
                    s.alone,
                    s.migrator.migrations.len(),
                    s.migrator.ignore_missing,
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                (vec![1, 2], false, 2, true),
                (vec![3], true, 3, true),
                (vec![4], true, 4, true),
                // Only the last stage holds the whole set, and checks for versions it lacks.
                (vec![5], false, 5, false),
            ]
        );
    }

    #[test]
    fn a_set_without_one_is_one_transaction_and_one_ending_with_one_ends_alone() {
        let plain = stages_of(&migrator(vec![migration(1, false), migration(2, false)]));
        assert_eq!(plain.len(), 1);
        assert_eq!(plain[0].versions, vec![1, 2]);
        assert!(!plain[0].alone && !plain[0].migrator.ignore_missing);

        let ending = stages_of(&migrator(vec![migration(1, false), migration(2, true)]));
        assert_eq!(ending.len(), 2);
        assert!(ending[1].alone && !ending[1].migrator.ignore_missing);
    }
}
