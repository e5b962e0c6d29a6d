//! Service tokens: how the application's own services (its backend reading a tenant's passwords,
//! a router or TLS proxy resolving a host) call the control plane without a staff account.
//!
//! A token is `tsk_` and 32 random bytes in unpadded base64url, shown once when it is made
//! (`tenantry service-token create`) and never stored: the `service_tokens` table of
//! `migrations/control/20261203010000_service_tokens.sql` keeps its SHA-256 only. A fast hash is
//! right here, unlike for passwords: a token has 256 bits of entropy, so there is nothing to
//! guess from a leaked hash, and a slow hash (argon2) would only slow every request down.
//!
//! Each token has [`Scope`]s, the only routes it is accepted on, and optionally one tenant it is
//! held to. A revoked token is refused at once (every request looks it up).

use std::fmt;
use std::str::FromStr;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

/// What every service token starts with: it tells one apart from a staff token (a JWT) at a
/// glance, and makes a leaked one easy to find with a secret scanner.
pub const TOKEN_PREFIX: &str = "tsk_";

/// What a service token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `GET …/connection` and `POST …/connection/reveal`: a tenant's connection and passwords
    /// (of its own tenant only, for a token held to one).
    CredentialsRead,
    /// `GET /platform/api/resolve`: which tenant a host belongs to.
    DirectoryRead,
}

impl Scope {
    /// Every scope, in the order they are listed.
    pub const ALL: [Scope; 2] = [Scope::CredentialsRead, Scope::DirectoryRead];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CredentialsRead => "credentials:read",
            Self::DirectoryRead => "directory:read",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scope's name that is none of [`Scope::ALL`].
#[derive(Debug, thiserror::Error)]
#[error("unknown scope {0:?}: expected credentials:read or directory:read")]
pub struct UnknownScope(String);

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, UnknownScope> {
        Self::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

/// A service token as stored: everything but the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceToken {
    pub id: Uuid,
    /// What the operator called it (which service holds it).
    pub name: String,
    pub scopes: Vec<Scope>,
    /// The one tenant whose credentials it reaches, if it is held to one.
    pub tenant_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// When a request last presented it (and it was valid).
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ServiceToken {
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// A token just made: the secret is here once, for the operator to hand to the service.
pub struct IssuedServiceToken {
    pub token: ServiceToken,
    /// `tsk_…`: not stored anywhere, not shown again.
    pub secret: String,
}

impl fmt::Debug for IssuedServiceToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedServiceToken")
            .field("token", &self.token)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// What `revoke` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    Now(ServiceToken),
    Already(ServiceToken),
    NotFound,
}

/// The SHA-256 of a token, as stored.
fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Service tokens in PostgreSQL. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PgServiceTokens {
    pool: PgPool,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    name: String,
    scopes: Vec<String>,
    tenant_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, name, scopes, tenant_id, created_at, revoked_at, last_used_at";

impl TryFrom<Row> for ServiceToken {
    type Error = anyhow::Error;

    fn try_from(row: Row) -> anyhow::Result<Self> {
        let scopes = row
            .scopes
            .iter()
            .map(|s| s.parse::<Scope>())
            .collect::<Result<_, _>>()
            .with_context(|| format!("service token {} has a scope this version lacks", row.id))?;
        Ok(Self {
            id: row.id,
            name: row.name,
            scopes,
            tenant_id: row.tenant_id,
            created_at: row.created_at,
            revoked_at: row.revoked_at,
            last_used_at: row.last_used_at,
        })
    }
}

impl PgServiceTokens {
    /// Over `pool`, whose database has the control-plane migrations applied.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Makes a token named `name` with `scopes` (at least one; duplicates dropped), held to
    /// `tenant` when given.
    #[tracing::instrument(skip_all, fields(name = %name))]
    pub async fn create(
        &self,
        name: &str,
        scopes: &[Scope],
        tenant: Option<Uuid>,
    ) -> anyhow::Result<IssuedServiceToken> {
        let name = name.trim();
        anyhow::ensure!(!name.is_empty(), "--name must not be empty");
        anyhow::ensure!(
            name.chars().count() <= 200,
            "--name must be at most 200 characters"
        );
        let mut unique: Vec<Scope> = Vec::new();
        for scope in scopes {
            if !unique.contains(scope) {
                unique.push(*scope);
            }
        }
        anyhow::ensure!(!unique.is_empty(), "at least one --scope is required");
        let secret = format!(
            "{TOKEN_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
        );
        let names: Vec<&str> = unique.iter().map(|s| s.as_str()).collect();
        let row: Row = sqlx::query_as(&format!(
            "INSERT INTO service_tokens (id, name, token_hash, scopes, tenant_id) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
        ))
        .bind(Uuid::now_v7())
        .bind(name)
        .bind(hash(&secret).as_slice())
        .bind(&names)
        .bind(tenant)
        .fetch_one(&self.pool)
        .await
        .context("failed to store the service token")?;
        Ok(IssuedServiceToken {
            token: row.try_into()?,
            secret,
        })
    }

    /// Every token, oldest first, revoked ones too.
    pub async fn list(&self) -> anyhow::Result<Vec<ServiceToken>> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM service_tokens ORDER BY created_at, id"
        ))
        .fetch_all(&self.pool)
        .await
        .context("failed to list the service tokens")?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Revokes the token `id`: it is refused from the next request on.
    #[tracing::instrument(skip(self))]
    pub async fn revoke(&self, id: Uuid) -> anyhow::Result<Revoked> {
        let revoked: Option<Row> = sqlx::query_as(&format!(
            "UPDATE service_tokens SET revoked_at = now() \
             WHERE id = $1 AND revoked_at IS NULL RETURNING {COLUMNS}"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .context("failed to revoke the service token")?;
        if let Some(row) = revoked {
            return Ok(Revoked::Now(row.try_into()?));
        }
        let existing: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM service_tokens WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .context("failed to read the service token")?;
        Ok(match existing {
            Some(row) => Revoked::Already(row.try_into()?),
            None => Revoked::NotFound,
        })
    }

    /// The unrevoked token `presented` is, if any, with its `last_used_at` set to now. The token
    /// is only ever hashed: never logged, never compared in the clear.
    pub async fn authenticate(&self, presented: &str) -> anyhow::Result<Option<ServiceToken>> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "UPDATE service_tokens SET last_used_at = now() \
             WHERE token_hash = $1 AND revoked_at IS NULL RETURNING {COLUMNS}"
        ))
        .bind(hash(presented).as_slice())
        .fetch_optional(&self.pool)
        .await
        .context("failed to look the service token up")?;
        row.map(TryInto::try_into).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_from_their_names_only() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>().unwrap(), scope);
        }
        assert!("credentials:write".parse::<Scope>().is_err());
        assert!("Credentials:Read".parse::<Scope>().is_err());
    }

    #[test]
    fn the_hash_is_sha256_of_the_token() {
        assert_eq!(
            hash("abc")[..4],
            [0xba, 0x78, 0x16, 0xbf],
            "SHA-256(\"abc\") starts ba7816bf"
        );
    }
}
