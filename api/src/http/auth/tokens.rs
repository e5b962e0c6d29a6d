//! Staff access tokens: short-lived JWTs signed with HS256.
//!
//! Claims: `sub` (the staff id), `email`, `iat`, `exp`, `jti` (a fresh UUID, what logout revokes),
//! `iss` = `tenantry` and `aud` = `platform`. Verification accepts HS256 only (no `none`, no
//! algorithm confusion), requires every one of those claims, and refuses tokens issued by or for
//! anyone else — a future tenant-portal token, signed with the same key, is not a staff token.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const ISSUER: &str = "tenantry";
const AUDIENCE: &str = "platform";
/// Clock skew tolerated between API replicas when checking `exp`.
const LEEWAY_SECS: u64 = 5;

/// The claims of a staff access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Claims {
    pub(crate) sub: Uuid,
    pub(crate) email: String,
    pub(crate) iat: i64,
    pub(crate) exp: i64,
    pub(crate) jti: Uuid,
    iss: String,
    aud: String,
}

/// A token just issued.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The compact JWT, for `Authorization: Bearer …`.
    pub token: String,
    pub jti: Uuid,
    pub expires_at: DateTime<Utc>,
}

/// Why a presented token was refused; each maps to a 401 with its own message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token was not issued for the platform API")]
    Foreign,
    #[error("malformed token")]
    Malformed,
}

/// The signing and verification keys. Public so that tests can mint tokens (expired ones, or ones
/// signed with another key) the way the server does.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    /// Keys from a shared secret; its bytes are the HMAC key.
    pub fn from_secret(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// A token for staff member `id`, issued at `issued_at` and valid for `ttl`.
    pub fn issue(
        &self,
        id: Uuid,
        email: &str,
        issued_at: DateTime<Utc>,
        ttl: Duration,
    ) -> anyhow::Result<IssuedToken> {
        let ttl = chrono::Duration::from_std(ttl).context("token lifetime out of range")?;
        let iat = issued_at.timestamp();
        let exp = iat + ttl.num_seconds();
        let claims = Claims {
            sub: id,
            email: email.to_owned(),
            iat,
            exp,
            jti: Uuid::new_v4(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .context("failed to sign an access token")?;
        Ok(IssuedToken {
            token,
            jti: claims.jti,
            expires_at: DateTime::from_timestamp(exp, 0).context("token expiry out of range")?,
        })
    }

    /// The claims of `token` when it is well-formed, signed with these keys, meant for the
    /// platform API and not expired. Revocation is checked by the caller.
    pub(crate) fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|error| match error.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => TokenError::Foreign,
                _ => TokenError::Malformed,
            })
    }
}
