//! Credential rotation (`POST …/credentials/rotate`), carried out by the saga in two changes:
//!
//! - **apply** rotation `n`: new passwords, generated once into `tenant/{uuid}/{kind}.r{n}` (so a
//!   retried apply uses the same ones). PostgreSQL keeps one password per role, so the new one
//!   goes to another login: `TenantNames::login(n)`, `{role}_a` and `{role}_b` in turn, a member
//!   of the tenant's role that acts as it (`ALTER ROLE … SET role`: what it creates belongs to the
//!   tenant's role), made or brought back with `LOGIN`, the password and `VALID UNTIL
//!   'infinity'`. The old login keeps working. Redis keeps several passwords per user: the new
//!   one is added (`ACL SETUSER … >new`). A `shared_schema` tenant logs in with the shared
//!   application login, which is not the tenant's to rotate: only its Redis password changes.
//! - **retire** rotation `n` (after its grace period): the previous login becomes `NOLOGIN` with
//!   `VALID UNTIL 'epoch'` (the mark that it is retired: reactivating a suspended tenant gives
//!   `LOGIN` back only to logins without it) and its sessions are ended; the Redis user keeps only
//!   the new password (`resetpass >new`) and its clients are ended (Redis cannot tell which
//!   password a client used: they reconnect with the current one). The new passwords are copied
//!   to the provisioned references (`tenant/{uuid}/{kind}`), which hold the current ones again,
//!   and the previous rotation's copies are deleted.

use sqlx::Executor;
use tenantry_application::provisioning::{ProvisionError, SecretValue, TenantSpec};
use tenantry_domain::events::CredentialsChange;
use tenantry_domain::{TenantLogin, TenantNames, TenantSecret};

use super::errors::OrFail;
use super::ident::quote_ident;
use super::{Ctx, redis, roles};

pub(super) async fn change(
    ctx: &Ctx,
    tenant: &TenantSpec,
    rotation: u32,
    change: CredentialsChange,
) -> Result<(), ProvisionError> {
    let names = TenantNames::of(tenant.id);
    let own_login = tenant.isolation.login() == TenantLogin::OwnRole;
    match change {
        CredentialsChange::Apply => {
            let redis_password = password(ctx, &names, TenantSecret::Redis, rotation).await?;
            if own_login {
                let postgres_password =
                    password(ctx, &names, TenantSecret::Postgres, rotation).await?;
                apply_login(ctx, &names, rotation, &postgres_password).await?;
            }
            redis::add_password(ctx, names.redis_user(), &redis_password).await
        }
        CredentialsChange::Retire => {
            let redis_password = password(ctx, &names, TenantSecret::Redis, rotation).await?;
            if own_login {
                let postgres_password =
                    password(ctx, &names, TenantSecret::Postgres, rotation).await?;
                retire_login(ctx, &names.login(rotation - 1)).await?;
                settle(
                    ctx,
                    &names,
                    TenantSecret::Postgres,
                    rotation,
                    &postgres_password,
                )
                .await?;
            }
            redis::keep_only_password(ctx, names.redis_user(), &redis_password).await?;
            settle(ctx, &names, TenantSecret::Redis, rotation, &redis_password).await
        }
    }
}

/// The password of `kind` of `rotation`, made on first use.
async fn password(
    ctx: &Ctx,
    names: &TenantNames,
    kind: TenantSecret,
    rotation: u32,
) -> Result<SecretValue, ProvisionError> {
    let reference = names.rotated_secret(kind, rotation);
    ctx.secrets
        .put_if_absent(&reference, &SecretValue::generate())
        .await
        .or_fail(|| format!("failed to store the new password {reference}"))
}

/// Makes the login of `rotation` log in with `password`, acting as the tenant's role.
async fn apply_login(
    ctx: &Ctx,
    names: &TenantNames,
    rotation: u32,
    password: &SecretValue,
) -> Result<(), ProvisionError> {
    let login = names.login(rotation);
    let mut conn = ctx.admin_connection().await?;
    roles::ensure(&mut conn, &login, Some(password)).await?;
    let (login_ident, role_ident) = (quote_ident(&login), quote_ident(names.role()));
    conn.execute(sqlx::raw_sql(&format!(
        "GRANT {role_ident} TO {login_ident};
         ALTER ROLE {login_ident} VALID UNTIL 'infinity';
         ALTER ROLE {login_ident} SET role = {};",
        quote_literal(names.role())
    )))
    .await
    .or_fail(|| format!("failed to make {login} a login of role {}", names.role()))?;
    Ok(())
}

/// Switches `login` off for good (see the module docs) and ends its sessions.
async fn retire_login(ctx: &Ctx, login: &str) -> Result<(), ProvisionError> {
    let mut conn = ctx.admin_connection().await?;
    if !roles::exists(&mut conn, login).await? {
        return Ok(());
    }
    conn.execute(sqlx::raw_sql(&format!(
        "ALTER ROLE {} NOLOGIN VALID UNTIL 'epoch'",
        quote_ident(login)
    )))
    .await
    .or_fail(|| format!("failed to retire login {login}"))?;
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1")
        .bind(login)
        .execute(&mut *conn)
        .await
        .or_fail(|| format!("failed to end the sessions of login {login}"))?;
    Ok(())
}

/// After a retirement: the provisioned reference holds the current password again, and the
/// previous rotation's copy is gone.
async fn settle(
    ctx: &Ctx,
    names: &TenantNames,
    kind: TenantSecret,
    rotation: u32,
    password: &SecretValue,
) -> Result<(), ProvisionError> {
    let current = names.secret(kind);
    ctx.secrets
        .put(&current, password)
        .await
        .or_fail(|| format!("failed to store the current password {current}"))?;
    if rotation > 1 {
        let previous = names.rotated_secret(kind, rotation - 1);
        ctx.secrets
            .delete(&previous)
            .await
            .or_fail(|| format!("failed to delete the old password {previous}"))?;
    }
    Ok(())
}

/// Deletes every rotation's copy of the tenant's passwords of `kind` (its deletion).
pub(super) async fn forget(
    ctx: &Ctx,
    names: &TenantNames,
    kind: TenantSecret,
) -> Result<(), ProvisionError> {
    let prefix = format!("{}.r", names.secret(kind));
    let copies = ctx
        .secrets
        .list(&prefix)
        .await
        .or_fail(|| format!("failed to list the secrets {prefix}*"))?;
    for copy in copies {
        ctx.secrets
            .delete(&copy)
            .await
            .or_fail(|| format!("failed to delete the secret {copy}"))?;
    }
    Ok(())
}

/// `'…'` with quotes doubled.
fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}
