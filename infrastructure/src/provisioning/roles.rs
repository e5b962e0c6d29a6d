//! PostgreSQL roles for tenants (`tenant_{hex}`): created or brought back to the wanted state, and
//! dropped with everything they hold in the control-plane database. Roles are cluster-wide.

use sqlx::{Executor, PgConnection};
use tenantry_application::provisioning::{ProvisionError, SecretValue};

use super::errors::OrFail;
use super::ident::quote_ident;
use super::scram;

/// What a tenant role may never do, whatever it was before.
const LIMITS: &str = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT";

/// Makes role `name` exist with `LOGIN` and `password` (given as a SCRAM verifier: the password
/// itself never reaches the server), or `NOLOGIN` without a password when `password` is `None`.
/// An existing role is altered to match, so a re-run fixes whatever a crash left.
pub(super) async fn ensure(
    conn: &mut PgConnection,
    name: &str,
    password: Option<&SecretValue>,
) -> Result<(), ProvisionError> {
    let login = match password {
        Some(password) => format!(
            "LOGIN PASSWORD '{}'",
            scram::postgres_verifier(password.expose())
        ),
        None => "NOLOGIN PASSWORD NULL".to_owned(),
    };
    let role = quote_ident(name);
    if !exists(conn, name).await? {
        let created = sqlx::query(&format!("CREATE ROLE {role} {login} {LIMITS}"))
            .execute(&mut *conn)
            .await;
        match created {
            Ok(_) => return Ok(()),
            // Someone else created it meanwhile: alter theirs below.
            Err(e) if has_code(&e, &["42710", "23505"]) => {}
            Err(e) => return Err(e).or_fail(|| format!("failed to create role {name}")),
        }
    }
    sqlx::query(&format!("ALTER ROLE {role} WITH {login} {LIMITS}"))
        .execute(&mut *conn)
        .await
        .or_fail(|| format!("failed to alter role {name}"))?;
    Ok(())
}

/// Drops role `name` if it exists: ends its sessions, drops what it owns and revokes what it was
/// granted in the control-plane database, then drops it. Fails (permanently) if it still owns or
/// holds something in another database.
pub(super) async fn drop(conn: &mut PgConnection, name: &str) -> Result<(), ProvisionError> {
    if !exists(conn, name).await? {
        return Ok(());
    }
    let role = quote_ident(name);
    let ended = conn
        .execute(sqlx::raw_sql(&format!("ALTER ROLE {role} NOLOGIN")))
        .await;
    ignore_missing(ended).or_fail(|| format!("failed to disable role {name}"))?;
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1")
        .bind(name)
        .execute(&mut *conn)
        .await
        .or_fail(|| format!("failed to end the sessions of role {name}"))?;
    // One implicit transaction: both or neither.
    let dropped = conn
        .execute(sqlx::raw_sql(&format!(
            "DROP OWNED BY {role}; DROP ROLE {role};"
        )))
        .await;
    ignore_missing(dropped).or_fail(|| format!("failed to drop role {name}"))?;
    Ok(())
}

/// Drops the tenant's role and the logins its credential rotations made (`TenantNames::logins`).
pub(super) async fn drop_with_logins(
    conn: &mut PgConnection,
    names: &tenantry_domain::TenantNames,
) -> Result<(), ProvisionError> {
    // The logins first: they are members of the role.
    for login in names.logins().iter().rev() {
        drop(conn, login).await?;
    }
    Ok(())
}

pub(super) async fn exists(conn: &mut PgConnection, name: &str) -> Result<bool, ProvisionError> {
    sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)")
        .bind(name)
        .fetch_one(&mut *conn)
        .await
        .or_fail(|| format!("failed to look up role {name}"))
}

/// Whether `error` is a database error with one of these SQLSTATEs.
pub(super) fn has_code(error: &sqlx::Error, codes: &[&str]) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| codes.contains(&code.as_ref()))
}

/// A concurrent release dropped the role first (undefined_object): nothing left to do.
fn ignore_missing<T: Default>(result: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
    match result {
        Err(e) if has_code(&e, &["42704"]) => Ok(T::default()),
        other => other,
    }
}

/// Whether role `name` is a member of role `group`.
pub(super) async fn is_member(
    conn: &mut PgConnection,
    name: &str,
    group: &str,
) -> Result<bool, ProvisionError> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT FROM pg_auth_members m \
         JOIN pg_roles r ON r.oid = m.member JOIN pg_roles g ON g.oid = m.roleid \
         WHERE r.rolname = $1 AND g.rolname = $2)",
    )
    .bind(name)
    .bind(group)
    .fetch_one(&mut *conn)
    .await
    .or_fail(|| format!("failed to look up the membership of role {name}"))
}
