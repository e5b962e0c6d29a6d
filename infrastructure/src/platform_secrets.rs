//! Secrets Tenantry generates for itself and keeps in the `platform_secrets` table, such as the
//! key that signs staff access tokens when `TENANTRY_JWT_SECRET` is not set. Every API replica
//! must use the same value, so the first one to start stores it and the others read it.

use anyhow::Context;
use sqlx::PgPool;

/// The secret called `name`: the stored one, or else `generate()`'s value, which is stored first.
/// Returns the value and whether this call created it.
///
/// Race-safe: when several processes start at once, each inserts its own candidate with
/// `ON CONFLICT DO NOTHING`, and all then read back the one that won.
pub async fn get_or_create(
    pool: &PgPool,
    name: &str,
    generate: impl FnOnce() -> String,
) -> anyhow::Result<(String, bool)> {
    let created = sqlx::query(
        "INSERT INTO platform_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(generate())
    .execute(pool)
    .await
    .with_context(|| format!("failed to store the platform secret {name}"))?
    .rows_affected()
        == 1;
    let value: String = sqlx::query_scalar("SELECT value FROM platform_secrets WHERE name = $1")
        .bind(name)
        .fetch_one(pool)
        .await
        .with_context(|| format!("failed to read the platform secret {name}"))?;
    Ok((value, created))
}
