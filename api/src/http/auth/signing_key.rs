//! Where the token signing key comes from: `TENANTRY_JWT_SECRET` when it is set, otherwise a key
//! generated on first start and kept in the `platform_secrets` table, so that every replica and
//! every restart signs with the same key (tokens survive restarts).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;

use super::tokens::TokenKeys;

/// The row of `platform_secrets` that holds the generated key.
const SECRET_NAME: &str = "jwt_signing_key";

/// The shortest configured secret accepted: HS256 keys shorter than its 256-bit output are weak.
const MIN_SECRET_BYTES: usize = 32;

/// The keys to sign and verify staff access tokens with.
pub(super) async fn load(
    configured: Option<&SecretString>,
    pool: &PgPool,
) -> anyhow::Result<TokenKeys> {
    let configured = configured.map(ExposeSecret::expose_secret);
    if let Some(secret) = configured.filter(|s| !s.trim().is_empty()) {
        anyhow::ensure!(
            secret.len() >= MIN_SECRET_BYTES,
            "TENANTRY_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long, got {}",
            secret.len()
        );
        return Ok(TokenKeys::from_secret(secret.as_bytes()));
    }
    let (secret, created) =
        tenantry_infrastructure::platform_secrets::get_or_create(pool, SECRET_NAME, || {
            URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
        })
        .await?;
    if created {
        tracing::warn!(
            "TENANTRY_JWT_SECRET is not set: generated a token signing key and stored it in the \
             database (platform_secrets); set TENANTRY_JWT_SECRET explicitly in production"
        );
    } else {
        tracing::warn!(
            "TENANTRY_JWT_SECRET is not set: signing tokens with the key stored in the database \
             (platform_secrets); set TENANTRY_JWT_SECRET explicitly in production"
        );
    }
    Ok(TokenKeys::from_secret(secret.as_bytes()))
}
