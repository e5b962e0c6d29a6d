//! The tenant template database (`tenantry_tenant_template` by default): an empty database with
//! the tenant migrations applied, from which `CREATE DATABASE … TEMPLATE` copies each tenant's
//! database in one step instead of migrating each anew.
//!
//! It is built on demand and rebuilt when the migrations change: its comment records the
//! migration set it holds (`COMMENT ON DATABASE`, readable from `pg_database` without connecting).
//! A copy fails while anyone is connected to the template, so nobody ever stays connected: a new
//! template is built under a temporary name, closed to connections (`ALLOW_CONNECTIONS false`),
//! then renamed into place. Within one control-plane database an advisory lock keeps builds apart
//! from copies (copies share it, a build holds it alone); control planes sharing a server (tests)
//! can still meet a template being replaced, and simply try again.

use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};
use tenantry_application::provisioning::ProvisionError;

use super::errors::OrFail;
use super::ident::quote_ident;
use super::roles::has_code;
use super::{AdminConnection, Ctx, LOCK_CLASS};

/// How often a copy is tried when the template is being replaced by another control plane.
const COPY_ATTEMPTS: u32 = 5;

/// Creates database `name` owned by `owner` as a copy of the (up-to-date) template, over `conn`
/// (an admin connection, on which the template lock is taken and given up). A database of that
/// name made meanwhile by someone else is left for the caller to check.
pub(super) async fn create_database(
    ctx: &Ctx,
    conn: &mut AdminConnection,
    name: &str,
    owner: &str,
) -> Result<(), ProvisionError> {
    let result = create_locked(ctx, conn, name, owner).await;
    // The connection goes back to the pool: without the lock, or not at all (closing ends the
    // session, and with it the lock).
    let unlocked = sqlx::query("SELECT pg_advisory_unlock_all()")
        .execute(&mut **conn)
        .await;
    if unlocked.is_err() {
        conn.close_on_drop();
    }
    result
}

async fn create_locked(
    ctx: &Ctx,
    conn: &mut PgConnection,
    name: &str,
    owner: &str,
) -> Result<(), ProvisionError> {
    template_lock(conn, "pg_advisory_lock_shared").await?;
    let template = &ctx.template_database;
    let mut attempt = 1;
    loop {
        if current_stamp(ctx, conn).await?.as_deref() != Some(stamp(ctx).as_str()) {
            // A build needs the template to itself: wait for the copies in flight to finish.
            template_lock(conn, "pg_advisory_unlock_shared").await?;
            template_lock(conn, "pg_advisory_lock").await?;
            let built = ensure_current(ctx, conn).await;
            template_lock(conn, "pg_advisory_unlock").await?;
            template_lock(conn, "pg_advisory_lock_shared").await?;
            built?;
        }
        let created = conn
            .execute(sqlx::raw_sql(&format!(
                "CREATE DATABASE {} TEMPLATE {} OWNER {}",
                quote_ident(name),
                quote_ident(template),
                quote_ident(owner)
            )))
            .await;
        match created {
            Ok(_) => return Ok(()),
            Err(e) if has_code(&e, &["42P04"]) => return Ok(()),
            // The template is in use or missing: another control plane is replacing it.
            Err(e) if has_code(&e, &["55006", "3D000"]) && attempt < COPY_ATTEMPTS => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
            }
            Err(e) => {
                return Err(e).or_fail(|| format!("failed to create database {name}"));
            }
        }
    }
}

/// Makes sure the template holds this binary's migrations, building it if not, over an admin
/// connection: done when a `serve` that may run the saga starts, while the server still has a
/// slot for the build's second connection (under a full server the build could not connect to
/// its new database, and every copy would wait for it).
pub(super) async fn prepare(ctx: &Ctx) -> Result<(), ProvisionError> {
    let mut conn = ctx.admin_connection().await?;
    if current_stamp(ctx, &mut conn).await?.as_deref() == Some(stamp(ctx).as_str()) {
        return Ok(());
    }
    template_lock(&mut conn, "pg_advisory_lock").await?;
    let built = ensure_current(ctx, &mut conn).await;
    let unlocked = sqlx::query("SELECT pg_advisory_unlock_all()")
        .execute(&mut *conn)
        .await;
    if unlocked.is_err() {
        conn.close_on_drop();
    }
    built
}

/// Takes or gives up (`function`) the advisory lock on the template of this control-plane
/// database: copies share it, a build takes it alone. (Copies from one template may run at once:
/// a copy reads the template's files without connecting to it. Side by side they made four
/// databases in half the time of four in a row.)
async fn template_lock(conn: &mut PgConnection, function: &str) -> Result<(), ProvisionError> {
    sqlx::query(&format!(
        "SELECT {function}($1, hashtext('tenant template'))"
    ))
    .bind(LOCK_CLASS)
    .execute(&mut *conn)
    .await
    .or_fail(|| format!("failed to lock the tenant template ({function})"))?;
    Ok(())
}

/// Makes sure the template exists and holds the current migration set; (re)builds it if not.
async fn ensure_current(ctx: &Ctx, conn: &mut PgConnection) -> Result<(), ProvisionError> {
    let template = &ctx.template_database;
    let stamp = stamp(ctx);
    if current_stamp(ctx, conn).await?.as_deref() == Some(stamp.as_str()) {
        return Ok(());
    }
    tracing::info!(template = %template, %stamp, "building the tenant template database");
    let build = format!("{template}_{:08x}", rand::random::<u32>());
    let result = build_as(ctx, conn, &build, &stamp).await;
    if result.is_err() {
        let _ = conn
            .execute(sqlx::raw_sql(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&build)
            )))
            .await;
        // Another control plane may have installed the same template meanwhile.
        if current_stamp(ctx, conn).await?.as_deref() == Some(stamp.as_str()) {
            return Ok(());
        }
    }
    result
}

/// The template's comment, if the template exists.
async fn current_stamp(
    ctx: &Ctx,
    conn: &mut PgConnection,
) -> Result<Option<String>, ProvisionError> {
    let current: Option<Option<String>> = sqlx::query_scalar(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
    )
    .bind(&ctx.template_database)
    .fetch_optional(&mut *conn)
    .await
    .or_fail(|| "failed to look up the tenant template")?;
    Ok(current.flatten())
}

/// Builds a migrated database named `build`, then puts it in the template's place.
async fn build_as(
    ctx: &Ctx,
    conn: &mut PgConnection,
    build: &str,
    stamp: &str,
) -> Result<(), ProvisionError> {
    let (build_ident, template) = (quote_ident(build), quote_ident(&ctx.template_database));
    conn.execute(sqlx::raw_sql(&format!("CREATE DATABASE {build_ident}")))
        .await
        .or_fail(|| format!("failed to create database {build}"))?;
    let mut build_conn = ctx.connect_unbounded(build).await?;
    let migrated = migrate_template(ctx, &mut build_conn, build).await;
    build_conn.close().await.ok();
    migrated?;
    for statement in [
        format!(
            "COMMENT ON DATABASE {build_ident} IS '{}'",
            stamp.replace('\'', "''")
        ),
        format!("ALTER DATABASE {build_ident} WITH ALLOW_CONNECTIONS false"),
        format!("DROP DATABASE IF EXISTS {template}"),
        format!("ALTER DATABASE {build_ident} RENAME TO {template}"),
    ] {
        conn.execute(sqlx::raw_sql(&statement))
            .await
            .or_fail(|| format!("failed to install the tenant template: {statement}"))?;
    }
    Ok(())
}

/// The template holds the migrated tables only: each tenant's role is granted their use after the
/// copy, by the tenant migrations step.
async fn migrate_template(
    ctx: &Ctx,
    conn: &mut PgConnection,
    build: &str,
) -> Result<(), ProvisionError> {
    conn.execute(sqlx::raw_sql("SET search_path TO public"))
        .await
        .or_fail(|| "failed to select schema public")?;
    ctx.migrations
        .migrator()
        .run_direct(&mut *conn)
        .await
        .or_fail(|| format!("failed to apply the tenant migrations to {build}"))
}

/// What the template's comment says when it holds the configured tenant migrations (built-in or
/// the SaaS's own): the newest version and a hash of every migration's version and checksum, so
/// that a changed set (a new file, an edited one, another directory) rebuilds the template.
fn stamp(ctx: &Ctx) -> String {
    format!(
        "tenantry tenant template: migrations up to {} ({})",
        ctx.migrations.latest_version(),
        ctx.migrations.fingerprint()
    )
}
