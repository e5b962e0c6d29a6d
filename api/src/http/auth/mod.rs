//! Staff authentication for the control-plane API: login with email and password for a
//! short-lived signed token (JWT), logout (revocation), the [`StaffUser`] extractor that guards
//! every other `/platform/api/*` handler, and [`nest_platform`], which puts routes under
//! `/platform/api` behind the control-plane host check ([`control_plane_only`] does the same for
//! a control-plane route outside it; [`check_well_formed`] refuses malformed hosts everywhere).
//!
//! Login attempts are rate-limited per email and per client IP (the socket peer address, never
//! `X-Forwarded-For`); see `rate_limit`. Every request checks that its token's account is still
//! active, so disabling or deleting an account (`tenantry staff disable|delete`) locks it out at
//! once. Accounts and passwords live in the application's [`StaffService`]; this module deals in
//! tokens and HTTP.

pub(crate) mod handlers;
mod host;
pub(crate) mod principal;
mod rate_limit;
mod signing_key;
mod staff_user;
mod tokens;

pub use host::{check_well_formed, control_plane_only, control_plane_routes, nest_platform};
pub(crate) use principal::{CredentialsRead, DirectoryRead, Principal, StaffOr};
pub use staff_user::StaffUser;
pub use tokens::{IssuedToken, TokenKeys};

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::routing::{get, post};
use chrono::Utc;
use sqlx::PgPool;
use tenantry_application::staff::{StaffError, StaffService, TokenCheck};
use tenantry_infrastructure::service_tokens::{PgServiceTokens, ServiceToken};

use crate::http::{ApiError, AppState};
use crate::settings::Settings;
use host::AllowedHosts;
use rate_limit::LoginLimiter;

/// The routes of staff authentication, relative to `/platform/api` (see [`nest_platform`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(handlers::login))
        .route("/auth/logout", post(handlers::logout))
        .route("/auth/me", get(handlers::me))
}

/// What staff authentication needs at request time.
pub struct Auth {
    staff: StaffService,
    keys: TokenKeys,
    token_ttl: Duration,
    limiter: LoginLimiter,
    hosts: AllowedHosts,
    /// The services' tokens (`tenantry service-token`), for [`StaffOr`].
    service_tokens: PgServiceTokens,
}

impl Auth {
    /// From the settings. Without `TENANTRY_JWT_SECRET`, reads (or generates and stores) the
    /// signing key in the database behind `pool`, so the database must be reachable.
    pub async fn new(
        settings: &Settings,
        staff: StaffService,
        pool: &PgPool,
    ) -> anyhow::Result<Self> {
        let keys = signing_key::load(settings.jwt_secret.as_ref(), pool)
            .await
            .context("failed to load the token signing key")?;
        let per_minute = |n: u32, name: &str| {
            NonZeroU32::new(n).with_context(|| format!("{name} must be at least 1"))
        };
        Ok(Self {
            staff,
            keys,
            token_ttl: Duration::from_secs(settings.access_token_ttl_secs),
            limiter: LoginLimiter::new(
                per_minute(
                    settings.login_rate_per_email,
                    "TENANTRY_LOGIN_RATE_PER_EMAIL",
                )?,
                per_minute(settings.login_rate_per_ip, "TENANTRY_LOGIN_RATE_PER_IP")?,
            ),
            hosts: AllowedHosts::new(settings.control_plane_hosts()),
            service_tokens: PgServiceTokens::new(pool.clone()),
        })
    }

    /// Checks the credentials (after the rate limits) and issues a token.
    pub(crate) async fn login(
        &self,
        email: &str,
        password: &str,
        ip: Option<IpAddr>,
    ) -> Result<IssuedToken, ApiError> {
        let key: String = email.trim().to_lowercase().chars().take(320).collect();
        self.limiter
            .check(&key, ip)
            .map_err(|retry_after| ApiError::TooManyRequests {
                message: "too many login attempts; try again later".into(),
                retry_after,
            })?;
        let Some(account) = self
            .staff
            .authenticate(email, password)
            .await
            .map_err(internal)?
        else {
            tracing::info!(ip = ip.map(tracing::field::display), "staff login refused");
            return Err(ApiError::Unauthorized("invalid email or password".into()));
        };
        let issued = self
            .keys
            .issue(account.id, &account.email, Utc::now(), self.token_ttl)?;
        tracing::info!(staff_id = %account.id, ip = ip.map(tracing::field::display), "staff logged in");
        Ok(issued)
    }

    /// The staff member a presented token stands for: well-formed, signed with our key, meant
    /// for the platform API, not expired, not revoked, and of an account that is neither disabled
    /// nor deleted and was not disabled since the token was issued (checked on every request, in
    /// one query with the revocation).
    pub(crate) async fn authenticate(&self, token: &str) -> Result<StaffUser, ApiError> {
        let claims = self
            .keys
            .verify(token)
            .map_err(|e| ApiError::Unauthorized(e.to_string()))?;
        let issued_at = chrono::DateTime::from_timestamp(claims.iat, 0)
            .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
        match self
            .staff
            .check_token(claims.jti, claims.sub, issued_at)
            .await
            .map_err(internal)?
        {
            TokenCheck::Valid => {}
            TokenCheck::Revoked => return Err(ApiError::Unauthorized("token revoked".into())),
            TokenCheck::AccountInactive => {
                return Err(ApiError::Unauthorized(
                    "the token's staff account is disabled or deleted".into(),
                ));
            }
        }
        Ok(StaffUser {
            id: claims.sub,
            email: claims.email,
            token_id: claims.jti,
            token_expires_at: chrono::DateTime::from_timestamp(claims.exp, 0)
                .unwrap_or(chrono::DateTime::<Utc>::MAX_UTC),
        })
    }

    /// The service token presented: known and not revoked, else 401. Only its id is logged.
    pub(crate) async fn authenticate_service(&self, token: &str) -> Result<ServiceToken, ApiError> {
        let found = self
            .service_tokens
            .authenticate(token)
            .await
            .map_err(ApiError::Internal)?;
        match found {
            Some(service) => {
                tracing::debug!(service_token = %service.id, "service token accepted");
                Ok(service)
            }
            None => Err(ApiError::Unauthorized(
                "unknown or revoked service token".into(),
            )),
        }
    }

    /// Whether `host` is the control plane's own: `base_domain` itself or one of
    /// `TENANTRY_CONTROL_PLANE_HOSTS`. No tenant answers there (`GET /platform/api/resolve`).
    pub(crate) fn is_public_host(&self, host: &str, base_domain: &str) -> bool {
        AllowedHosts::new([base_domain]).names(host) || self.hosts.names(host)
    }

    /// Revokes the token `user` presented.
    pub(crate) async fn revoke(&self, user: &StaffUser) -> Result<(), ApiError> {
        self.staff
            .revoke_token(user.token_id, user.token_expires_at)
            .await
            .map_err(internal)?;
        tracing::info!(staff_id = %user.id, "staff logged out");
        Ok(())
    }
}

fn internal(error: StaffError) -> ApiError {
    ApiError::Internal(anyhow::Error::new(error))
}
