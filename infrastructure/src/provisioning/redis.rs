//! The Redis namespace step: an ACL user `tenant_{hex}` whose keys and channels are only
//! `tenant:{uuid}:*`, with a generated password (kept in the secret store, sent to Redis only as
//! its SHA-256). Release deletes the user (Redis ends its connections) and every key of the
//! namespace (SCAN + UNLINK in batches).
//!
//! The command rules, in order (Redis applies them left to right):
//! - `-@all`, then the data commands: `+@read +@write +@keyspace +@stream +@pubsub +@transaction
//!   +@connection +@scripting +@blocking`. Key and channel patterns are checked on every one of
//!   them, inside Lua scripts too.
//! - then away with whatever reaches past the namespace or the tenant: `-@admin -@dangerous`
//!   (CONFIG, FLUSHALL, KEYS, SORT with BY/GET, MIGRATE, CLIENT KILL/LIST, DEBUG, …), and by name
//!   the commands in the categories above that see or touch the whole server or database:
//!   `SCAN`, `RANDOMKEY` and `DBSIZE` (they reveal other tenants' keys: SCAN's MATCH is not
//!   filtered by the ACL), `SELECT`, `MOVE`, `COPY` and `SWAPDB` (keys in another database escape
//!   release, which cleans database 0: tenants use database 0), `PUBSUB` (lists every channel),
//!   `MEMORY`, `CLIENT TRACKING` (broadcast mode reports other keys' names), `SCRIPT FLUSH/KILL/
//!   DEBUG` and `FUNCTION` (server-wide script state; `FCALL` of functions the operator loaded
//!   stays allowed).
//!
//! Users live in Redis's memory: with an `aclfile` they are saved after each change
//! (`ACL SAVE`); without one, a Redis restart forgets them until the step is applied again — the
//! drift report lists them as missing.

use redis::aio::ConnectionManager;
use tenantry_application::provisioning::{FaultPoint, ProvisionError, SecretValue, TenantSpec};
use tenantry_domain::{
    AccessAction, ProvisionedResource, ProvisioningStep, TenantId, TenantNames, TenantSecret,
};

use super::Ctx;
use super::errors::OrFail;
use super::scram;

/// The command rules after `reset on #<hash> ~<ns>* &<ns>*` (see the module docs).
pub const COMMAND_RULES: &[&str] = &[
    "-@all",
    "+@read",
    "+@write",
    "+@keyspace",
    "+@stream",
    "+@pubsub",
    "+@transaction",
    "+@connection",
    "+@scripting",
    "+@blocking",
    "-@admin",
    "-@dangerous",
    "-keys",
    "-scan",
    "-randomkey",
    "-dbsize",
    "-select",
    "-move",
    "-copy",
    "-swapdb",
    "-pubsub",
    "-memory",
    "-client|tracking",
    "-script|flush",
    "-script|kill",
    "-script|debug",
    "-function",
];

/// Keys per SCAN round and per UNLINK on release.
const SCAN_BATCH: usize = 1_000;

pub(super) async fn apply(
    ctx: &Ctx,
    tenant: &TenantSpec,
) -> Result<ProvisionedResource, ProvisionError> {
    let names = TenantNames::of(tenant.id);
    let (user, namespace, secret) = (
        names.redis_user(),
        names.redis_namespace(),
        names.redis_secret(),
    );
    let password = ctx
        .secrets
        .put_if_absent(&secret, &SecretValue::generate())
        .await
        .or_fail(|| format!("failed to store the password of Redis user {user}"))?;
    ctx.faults.checkpoint(
        FaultPoint::DuringApply,
        tenant.id,
        ProvisioningStep::RedisNamespace,
    );
    let mut conn = ctx.redis_connection().await?;
    redis::cmd("ACL")
        .arg("SETUSER")
        .arg(user)
        .arg("reset")
        .arg("on")
        .arg(format!(
            "#{}",
            scram::redis_password_hash(password.expose())
        ))
        .arg(format!("~{namespace}*"))
        .arg(format!("&{namespace}*"))
        .arg(COMMAND_RULES)
        .query_async::<()>(&mut conn)
        .await
        .or_fail(|| format!("failed to set up Redis user {user}"))?;
    save_acl(&mut conn).await?;
    Ok(ProvisionedResource::RedisNamespace {
        namespace: namespace.to_owned(),
        acl_user: user.to_owned(),
        password_secret: secret,
    })
}

pub(super) async fn release(ctx: &Ctx, tenant: TenantId) -> Result<(), ProvisionError> {
    let names = TenantNames::of(tenant);
    let user = names.redis_user();
    let mut conn = ctx.redis_connection().await?;
    // First the user, so nothing writes new keys while they are deleted.
    redis::cmd("ACL")
        .arg("DELUSER")
        .arg(user)
        .query_async::<()>(&mut conn)
        .await
        .or_fail(|| format!("failed to delete Redis user {user}"))?;
    save_acl(&mut conn).await?;
    ctx.faults.checkpoint(
        FaultPoint::DuringRelease,
        tenant,
        ProvisioningStep::RedisNamespace,
    );
    delete_keys(&mut conn, &format!("{}*", names.redis_namespace())).await?;
    super::rotation::forget(ctx, &names, TenantSecret::Redis).await?;
    ctx.secrets
        .delete(&names.redis_secret())
        .await
        .or_fail(|| format!("failed to delete the password of Redis user {user}"))
}

/// Switches the ACL user `user` off (and ends its clients) or on again, if it exists (a missing
/// user is left alone: `ACL SETUSER` would create one). See `access.rs`.
pub(super) async fn set_enabled(
    ctx: &Ctx,
    user: &str,
    action: AccessAction,
) -> Result<(), ProvisionError> {
    let mut conn = ctx.redis_connection().await?;
    if !user_exists(&mut conn, user).await? {
        return Ok(());
    }
    let flag = match action {
        AccessAction::Suspend => "off",
        AccessAction::Restore => "on",
    };
    redis::cmd("ACL")
        .arg("SETUSER")
        .arg(user)
        .arg(flag)
        .query_async::<()>(&mut conn)
        .await
        .or_fail(|| format!("failed to switch Redis user {user} {flag}"))?;
    if action == AccessAction::Suspend {
        // `off` only stops new authentications: end the clients already in.
        kill_clients(&mut conn, user).await?;
    }
    save_acl(&mut conn).await
}

/// Adds `password` (as its SHA-256) to the ACL user `user`'s passwords (a credential rotation's new one), if the
/// user exists.
pub(super) async fn add_password(
    ctx: &Ctx,
    user: &str,
    password: &SecretValue,
) -> Result<(), ProvisionError> {
    let rule = format!("#{}", scram::redis_password_hash(password.expose()));
    set_password(ctx, user, &[rule], false).await
}

/// Leaves `password` as the ACL user `user`'s only one and ends its clients (a rotation's
/// retirement), if the user exists.
pub(super) async fn keep_only_password(
    ctx: &Ctx,
    user: &str,
    password: &SecretValue,
) -> Result<(), ProvisionError> {
    let rules = [
        "resetpass".to_owned(),
        format!("#{}", scram::redis_password_hash(password.expose())),
    ];
    set_password(ctx, user, &rules, true).await
}

async fn set_password(
    ctx: &Ctx,
    user: &str,
    rules: &[String],
    end_clients: bool,
) -> Result<(), ProvisionError> {
    let mut conn = ctx.redis_connection().await?;
    if !user_exists(&mut conn, user).await? {
        return Ok(());
    }
    // The rules hold the password's SHA-256 only, as the step's do.
    redis::cmd("ACL")
        .arg("SETUSER")
        .arg(user)
        .arg(rules)
        .query_async::<()>(&mut conn)
        .await
        .or_fail(|| format!("failed to change the passwords of Redis user {user}"))?;
    if end_clients {
        kill_clients(&mut conn, user).await?;
    }
    save_acl(&mut conn).await
}

/// Ends every client authenticated as `user`.
async fn kill_clients(conn: &mut ConnectionManager, user: &str) -> Result<(), ProvisionError> {
    redis::cmd("CLIENT")
        .arg("KILL")
        .arg("USER")
        .arg(user)
        .query_async::<i64>(conn)
        .await
        .or_fail(|| format!("failed to end the clients of Redis user {user}"))?;
    Ok(())
}

async fn user_exists(conn: &mut ConnectionManager, user: &str) -> Result<bool, ProvisionError> {
    let found: redis::Value = redis::cmd("ACL")
        .arg("GETUSER")
        .arg(user)
        .query_async(conn)
        .await
        .or_fail(|| format!("failed to look up Redis user {user}"))?;
    Ok(!matches!(found, redis::Value::Nil))
}

/// Deletes every key matching `pattern` (a namespace prefix and `*`).
async fn delete_keys(conn: &mut ConnectionManager, pattern: &str) -> Result<(), ProvisionError> {
    let what = || format!("failed to delete the Redis keys {pattern}");
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(SCAN_BATCH)
            .query_async(conn)
            .await
            .or_fail(what)?;
        if !keys.is_empty() {
            redis::cmd("UNLINK")
                .arg(keys)
                .query_async::<()>(conn)
                .await
                .or_fail(what)?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

/// Persists the users when Redis has an ACL file; without one there is nothing to save.
async fn save_acl(conn: &mut ConnectionManager) -> Result<(), ProvisionError> {
    match redis::cmd("ACL").arg("SAVE").query_async::<()>(conn).await {
        Err(e) if e.to_string().contains("ACL file") => Ok(()),
        result => result.or_fail(|| "failed to save the Redis ACL file"),
    }
}
