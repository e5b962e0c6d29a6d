//! Running a target's tenant migrations in stages, for sets with `-- no-transaction` migrations
//! (sqlx's marker, a first line `-- no-transaction`; e.g. `CREATE INDEX CONCURRENTLY`, which
//! PostgreSQL refuses inside a transaction).
//!
//! A set without one is a single stage: every migration in one transaction, as before. A set
//! with some is cut at each of them: the migrations before it in one transaction, then it alone,
//! outside any transaction (under a session advisory lock on the same key as the transactions'),
//! then the rest. So a target is atomic per stage, not as a whole: a failure in a later stage
//! leaves the earlier ones applied (the target's version says how far it got), and a failed
//! no-transaction migration is not recorded (sqlx records it only after it succeeded), so it runs
//! again next time, and must be written to run again (`IF NOT EXISTS`). It must hold a single
//! statement: several in one query are one implicit transaction. A failed `CREATE INDEX
//! CONCURRENTLY` leaves an invalid index behind, which `IF NOT EXISTS` would then take for done:
//! drop it (`DROP INDEX CONCURRENTLY`) before the run is resumed.

use std::collections::HashSet;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::{Connection, Executor, PgConnection};
use tenantry_application::provisioning::ProvisionError;
use tenantry_domain::ProvisioningStep;

use super::LOCK_CLASS;
use super::admin::AdminConnection;
use super::errors::OrFail;
use super::ident::quote_ident;
use super::tenant_migrations::TenantMigrationSet;

/// A stretch of a set run together.
pub(super) struct Stage {
    /// Every migration of the set up to the stage's last one (sqlx skips those applied); only the
    /// set's last stage checks that the target holds no migration the set lacks.
    pub(super) migrator: Migrator,
    /// The versions the stage applies.
    pub(super) versions: Vec<i64>,
    /// A `-- no-transaction` migration, run alone outside any transaction.
    pub(super) alone: bool,
}

/// What a target needs after its migrations, inside the transaction that applied them (after a
/// stage run alone, in a transaction of its own): grants, checks.
#[async_trait]
pub(super) trait AfterStage: Send + Sync {
    async fn after(&self, conn: &mut PgConnection) -> Result<(), ProvisionError>;
}

/// Runs `migrations` into `schema` over `conn` (connected to the right database), stage by
/// stage, with `after` in each; `target` names it in the lock key (`migrate:{target}`) and in
/// errors. Gives the applied version.
pub(super) async fn run(
    migrations: &TenantMigrationSet,
    conn: &mut AdminConnection,
    target: &str,
    schema: &str,
    after: &dyn AfterStage,
) -> Result<i64, ProvisionError> {
    let stages = migrations.stages();
    // With several stages, those the target holds already are skipped: a stage run alone takes
    // session state (a lock, the search_path) that is not taken for nothing.
    let applied = if stages.len() > 1 {
        applied_versions(conn, schema, target).await?
    } else {
        HashSet::new()
    };
    let mut version = applied.iter().copied().max().unwrap_or(0);
    for stage in stages {
        if stages.len() > 1 && stage.versions.iter().all(|v| applied.contains(v)) {
            continue;
        }
        version = if stage.alone {
            // Should the run be cut off, the session's lock and search_path must not go back to
            // the pool with the connection.
            conn.close_on_drop();
            alone(stage, conn, target, schema, after).await?
        } else {
            in_transaction(stage, conn, target, schema, after).await?
        };
    }
    Ok(version)
}

/// The versions `schema`'s history holds.
async fn applied_versions(
    conn: &mut PgConnection,
    schema: &str,
    target: &str,
) -> Result<HashSet<i64>, ProvisionError> {
    let history = format!("{}._sqlx_migrations", quote_ident(schema));
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(&history)
        .fetch_one(&mut *conn)
        .await
        .or_fail(|| format!("failed to look up the migration history of {target}"))?;
    if !exists {
        return Ok(HashSet::new());
    }
    let versions: Vec<i64> =
        sqlx::query_scalar(&format!("SELECT version FROM {history} WHERE success"))
            .fetch_all(&mut *conn)
            .await
            .or_fail(|| format!("failed to read the migration history of {target}"))?;
    Ok(versions.into_iter().collect())
}

async fn schema_present(conn: &mut PgConnection, schema: &str) -> Result<(), ProvisionError> {
    let present: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)")
            .bind(schema)
            .fetch_one(&mut *conn)
            .await
            .or_fail(|| format!("failed to look up schema {schema}"))?;
    if !present {
        return Err(ProvisionError::permanent(anyhow::anyhow!(
            "schema {schema} does not exist: the {} step must come first",
            ProvisioningStep::Schema
        )));
    }
    Ok(())
}

/// The stage's migrations, `after` and the version read in one transaction (each migration in a
/// savepoint of it), under the target's transaction lock, with the search_path set to `schema`
/// for the transaction only.
async fn in_transaction(
    stage: &Stage,
    conn: &mut PgConnection,
    target: &str,
    schema: &str,
    after: &dyn AfterStage,
) -> Result<i64, ProvisionError> {
    let mut tx = conn
        .begin()
        .await
        .or_fail(|| format!("failed to begin migrating {target}"))?;
    schema_present(&mut tx, schema).await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(LOCK_CLASS)
        .bind(format!("migrate:{target}"))
        .execute(&mut *tx)
        .await
        .or_fail(|| format!("failed to lock {target} for migrating"))?;
    tx.execute(sqlx::raw_sql(&format!(
        "SET LOCAL search_path TO {}",
        quote_ident(schema)
    )))
    .await
    .or_fail(|| format!("failed to select schema {schema}"))?;
    stage
        .migrator
        .run_direct(&mut *tx)
        .await
        .or_fail(|| format!("failed to apply the tenant migrations to {target}"))?;
    after.after(&mut tx).await?;
    let version = read_version(&mut tx, target).await?;
    tx.commit()
        .await
        .or_fail(|| format!("failed to commit the migrations of {target}"))?;
    Ok(version)
}

/// A `-- no-transaction` migration alone: under the target's lock held by the session, with the
/// session's search_path set to `schema`, both undone after (the caller closes the connection
/// instead of pooling it, should this be cut off); then `after` in a transaction of its own.
async fn alone(
    stage: &Stage,
    conn: &mut PgConnection,
    target: &str,
    schema: &str,
    after: &dyn AfterStage,
) -> Result<i64, ProvisionError> {
    schema_present(conn, schema).await?;
    let key = format!("migrate:{target}");
    sqlx::query("SELECT pg_advisory_lock($1, hashtext($2))")
        .bind(LOCK_CLASS)
        .bind(&key)
        .execute(&mut *conn)
        .await
        .or_fail(|| format!("failed to lock {target} for migrating"))?;
    let ran = async {
        conn.execute(sqlx::raw_sql(&format!(
            "SET search_path TO {}",
            quote_ident(schema)
        )))
        .await
        .or_fail(|| format!("failed to select schema {schema}"))?;
        stage.migrator.run_direct(&mut *conn).await.or_fail(|| {
            format!("failed to apply a -- no-transaction tenant migration to {target}")
        })?;
        let mut tx = conn
            .begin()
            .await
            .or_fail(|| format!("failed to begin migrating {target}"))?;
        after.after(&mut tx).await?;
        let version = read_version(&mut tx, target).await?;
        tx.commit()
            .await
            .or_fail(|| format!("failed to commit the migrations of {target}"))?;
        Ok::<_, ProvisionError>(version)
    }
    .await;
    let undone = match conn.execute(sqlx::raw_sql("RESET search_path")).await {
        Ok(_) => sqlx::query("SELECT pg_advisory_unlock($1, hashtext($2))")
            .bind(LOCK_CLASS)
            .bind(&key)
            .execute(&mut *conn)
            .await
            .map(drop),
        Err(error) => Err(error),
    };
    let version = ran?;
    undone.or_fail(|| format!("failed to unlock {target} after migrating"))?;
    Ok(version)
}

async fn read_version(conn: &mut PgConnection, target: &str) -> Result<i64, ProvisionError> {
    let version: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *conn)
            .await
            .or_fail(|| format!("failed to read the migration version of {target}"))?;
    Ok(version.unwrap_or(0))
}
