//! Which tenant a host belongs to, for the application's router and for a TLS proxy:
//!
//! - `GET /platform/api/resolve?host=H` (staff, or a `directory:read` service token): the
//!   tenant's id, slug, status, and how to reach its data without any secret (the non-secret
//!   half of `GET …/connection`, from the same `TenantAccess::connection`), or `{"public":true}`
//!   for the control plane's own hosts. A suspended tenant is 403 `tenant_suspended` with its
//!   id, slug and the suspension's reason, so that the router can show a "suspended" page.
//! - `GET /internal/tls/ask?domain=H`: a TLS proxy's on-demand "ask" hook (Caddy's
//!   `on_demand_tls { ask … }`): 200 when a certificate may be issued for H, 403
//!   `tenant_suspended`, else 404. No authentication: the proxy asks with no credentials, and the
//!   answer says no more than a TLS handshake with H would. It is not behind the control-plane
//!   host check either: the proxy calls it over an internal address (`http://127.0.0.1:8080/…`),
//!   whose host is none of the control plane's. Keep `/internal/` off the routes the proxy
//!   forwards from the internet.
//!
//! Both answer from the tenant directory as it is (no wait for the read models: routing is the
//! hot path); a tenant created a moment ago resolves once the directory has it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tenantry_domain::{TenantId, TenantStatus};
use tenantry_projections::queries::directory::{self, DirectoryEntry};
use tenantry_projections::queries::tenants;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::{DirectoryRead, StaffOr};
use super::error::{ErrorBody, ErrorDetail};
use super::extract::ApiQuery;
use super::tenants::credentials::QueueConnection;
use super::{ApiError, AppState};

/// The longest host name DNS allows (here with the port, if one is given).
const MAX_HOST: usize = 253;

// The OpenAPI document says what `parse_host` takes (the `pattern` of `host` and `domain`), so
// that tools generate valid hosts: labels of letters, digits and `-`, an optional trailing dot
// and port.

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ResolveQuery {
    /// The host a request came in on (`Host`: a port and the case are ignored), e.g.
    /// `acme.example.com`.
    #[param(
        required = true,
        min_length = 1,
        max_length = 253,
        pattern = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?(:[0-9]{1,5})?$",
        example = "acme.example.com"
    )]
    host: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AskQuery {
    /// The host a certificate is asked for, e.g. `acme.example.com`.
    #[param(
        required = true,
        min_length = 1,
        max_length = 253,
        pattern = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?(:[0-9]{1,5})?$",
        example = "acme.example.com"
    )]
    domain: Option<String>,
}

/// A tenant's host, resolved: who it is and how to reach its data, no secret in it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Resolved {
    tenant_id: Uuid,
    slug: String,
    #[schema(schema_with = tenantry_projections::queries::schema::status)]
    status: String,
    #[schema(schema_with = tenantry_projections::queries::schema::isolation)]
    isolation: String,
    /// The PostgreSQL database the tenant's data is in.
    database: String,
    /// The tenant's schema (`schema_per_tenant`), `shared` (`shared_schema`), or null for a
    /// database of its own.
    schema: Option<String>,
    /// The PostgreSQL login: the tenant's own role, or the shared application login
    /// (`shared_schema`; set `app.tenant_id` per transaction, see `GET …/connection`).
    user: String,
    /// PostgreSQL's host and port.
    host: String,
    port: u16,
    /// Every Redis key and channel of the tenant starts with it.
    redis_namespace: String,
    redis_user: String,
    queues: Vec<QueueConnection>,
    /// `https://{slug}.{base domain}`: where the tenant portal will answer (not built yet).
    portal_url: String,
}

/// What `resolve` answers: a tenant, or a host of the control plane's own.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum ResolveAnswer {
    Tenant(Box<Resolved>),
    Public(PublicHost),
}

/// A host of the control plane itself (the base domain, `TENANTRY_CONTROL_PLANE_HOSTS`): no
/// tenant's.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PublicHost {
    #[schema(example = true)]
    public: bool,
}

/// 403 `tenant_suspended`: the error, and which tenant and why (`reason` null if none given).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SuspendedBody {
    error: ErrorDetail,
    tenant_id: Uuid,
    slug: String,
    reason: Option<String>,
}

/// The host `raw` as looked up (lower case, no trailing dot), or 422 naming `field`: what the
/// parameters' `pattern` says, at most [`MAX_HOST`] characters. A port is allowed and ignored, as
/// in a `Host` header.
fn parse_host(raw: Option<&str>, field: &str) -> Result<String, ApiError> {
    let invalid = |why: String| ApiError::unprocessable("invalid_host", why, field);
    let raw = raw.unwrap_or_default();
    if raw.is_empty() {
        return Err(invalid(format!("{field} is required")));
    }
    if raw.len() > MAX_HOST {
        return Err(invalid(format!(
            "{field} must be at most {MAX_HOST} characters"
        )));
    }
    let name = match raw.rsplit_once(':') {
        Some((name, port))
            if (1..=5).contains(&port.len()) && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            name
        }
        Some(_) => {
            return Err(invalid(format!(
                "{field} must be a host name, with at most a port (digits) after it"
            )));
        }
        None => raw,
    };
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if !name.split('.').all(label_ok) {
        return Err(invalid(format!(
            "{field} must be a host name: dot-separated labels of letters, digits and `-` (not \
             first or last), at most 63 characters each"
        )));
    }
    Ok(name)
}

/// The tenant `host` leads to, as the directory has it, but not one being deleted or gone.
async fn live_entry(state: &AppState, host: &str) -> Result<Option<DirectoryEntry>, ApiError> {
    let entry = directory::resolve(&state.pool, &state.base_domain, host)
        .await
        .map_err(ApiError::from)?;
    Ok(entry.filter(|e| !matches!(e.status, TenantStatus::Deleting | TenantStatus::Deleted)))
}

/// 403 `tenant_suspended` for `entry`, with the reason from the tenant panel.
async fn suspended(state: &AppState, entry: &DirectoryEntry) -> Result<Response, ApiError> {
    let reason = tenants::get(&state.pool, entry.tenant_id)
        .await?
        .and_then(|view| view.suspension)
        .and_then(|suspension| suspension.reason);
    let body = SuspendedBody {
        error: ErrorDetail::new(
            "tenant_suspended",
            format!("tenant {} is suspended", entry.slug),
        ),
        tenant_id: entry.tenant_id,
        slug: entry.slug.clone(),
        reason,
    };
    Ok((StatusCode::FORBIDDEN, Json(body)).into_response())
}

fn not_found(host: &str) -> ApiError {
    ApiError::NotFound(format!("no tenant answers on {host}"))
}

/// Which tenant a host belongs to, and how to reach its data (no secret).
///
/// For the application's router: staff, or a service token with `directory:read`. A host is
/// `{slug}.{base domain}` or a custom domain once it is active. The base domain itself and the
/// control-plane hosts answer `{"public":true}`. Deleting and deleted tenants are 404.
#[utoipa::path(get, path = "/platform/api/resolve", tag = "directory", operation_id = "resolveHost",
    params(ResolveQuery),
    responses((status = 200, body = ResolveAnswer, description = "the tenant, or `{\"public\":true}` for the control plane's own hosts"),
        (status = 401, body = ErrorBody, description = "no valid staff token or `directory:read` service token"),
        (status = 403, body = SuspendedBody, description = "`tenant_suspended`: the host's tenant is suspended (its id, slug and the reason); `forbidden`: a service token without `directory:read`"),
        (status = 404, body = ErrorBody, description = "no tenant answers on this host"),
        (status = 422, body = ErrorBody, description = "`invalid_host`: `host` is missing or not a host name")),
    security(("bearer" = [])))]
pub(crate) async fn resolve(
    State(state): State<AppState>,
    _caller: StaffOr<DirectoryRead>,
    ApiQuery(query): ApiQuery<ResolveQuery>,
) -> Result<Response, ApiError> {
    let host = parse_host(query.host.as_deref(), "host")?;
    if state.auth.is_public_host(&host, &state.base_domain) {
        return Ok(Json(ResolveAnswer::Public(PublicHost { public: true })).into_response());
    }
    let Some(entry) = live_entry(&state, &host).await? else {
        return Err(not_found(&host));
    };
    if entry.status == TenantStatus::Suspended {
        return suspended(&state, &entry).await;
    }
    let tenant = TenantId::from_uuid(entry.tenant_id);
    let details = state
        .access
        .connection(tenant, entry.isolation, &entry.rotations());
    let base = state.base_domain.trim_end_matches('.').to_ascii_lowercase();
    Ok(Json(ResolveAnswer::Tenant(Box::new(Resolved {
        tenant_id: entry.tenant_id,
        status: entry.status.to_string(),
        isolation: entry.isolation.to_string(),
        database: details.postgres.database,
        schema: details.postgres.schema,
        user: details.postgres.user,
        host: details.postgres.host,
        port: details.postgres.port,
        redis_namespace: details.redis.namespace,
        redis_user: details.redis.user,
        queues: details
            .queues
            .into_iter()
            .map(QueueConnection::from)
            .collect(),
        portal_url: format!("https://{}.{base}", entry.slug),
        slug: entry.slug,
    })))
    .into_response())
}

/// What the ask hook answers when a certificate may be issued.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AskAnswer {
    #[schema(example = true)]
    allowed: bool,
}

/// A TLS proxy's on-demand "ask" hook: may a certificate be issued for `domain`?
///
/// 200 when `domain` is an active host (`{slug}.{base domain}`, or a custom domain once active)
/// of an active tenant; 403 `tenant_suspended` when its tenant is suspended; else 404. No
/// authentication, and no host check: the proxy calls it on an internal address.
#[utoipa::path(get, path = "/internal/tls/ask", tag = "directory", operation_id = "askTls",
    params(AskQuery),
    responses((status = 200, body = AskAnswer, description = "a certificate may be issued"),
        (status = 403, body = ErrorBody, description = "`tenant_suspended`: the host's tenant is suspended"),
        (status = 404, body = ErrorBody, description = "no active tenant answers on this host"),
        (status = 422, body = ErrorBody, description = "`invalid_host`: `domain` is missing or not a host name")))]
pub(crate) async fn ask(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AskQuery>,
) -> Result<Response, ApiError> {
    let host = parse_host(query.domain.as_deref(), "domain")?;
    match live_entry(&state, &host).await? {
        Some(entry) if entry.status == TenantStatus::Active => {
            Ok(Json(AskAnswer { allowed: true }).into_response())
        }
        // The error alone: who the tenant is and why is for authenticated callers (`resolve`).
        Some(entry) if entry.status == TenantStatus::Suspended => Ok((
            StatusCode::FORBIDDEN,
            Json(serde_json::json!({
                "error": ErrorDetail::new("tenant_suspended", format!("{host}'s tenant is suspended")),
            })),
        )
            .into_response()),
        _ => Err(not_found(&host)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_parse_as_host_names_with_an_optional_port() {
        let ok = |raw: &str| parse_host(Some(raw), "host").expect(raw);
        assert_eq!(ok("Acme.Example.com"), "acme.example.com");
        assert_eq!(ok("acme.example.com:8443"), "acme.example.com");
        assert_eq!(ok("acme.example.com."), "acme.example.com");
        assert_eq!(ok("xn--bcher-kva.example:99999"), "xn--bcher-kva.example");
        for bad in [
            "",
            "  ",
            " acme.com",
            "acme.com:",
            "acme.com:123456",
            "a b.com",
            "acme.example.com:http",
            "acme..com",
            "-acme.com",
            "acme.com/x",
            "user@acme.com",
            "[::1]",
            &"a".repeat(64),
            &format!("{}com", "a.".repeat(126)),
        ] {
            assert!(parse_host(Some(bad), "host").is_err(), "{bad:?}");
        }
        assert!(parse_host(None, "host").is_err());
    }
}
