//! The host a request is addressed to, and the control-plane host check.
//!
//! Every request's host must be well-formed ([`check_well_formed`], on the whole router): at most
//! one `Host` header, holding a valid authority (`name` or `name:port`, no user info); and for a
//! request in absolute form (`GET http://admin.example.com/platform/api/… HTTP/1.1`) the URI's
//! authority is the request's host, and a `Host` header beside it must name the same host.
//! Anything else → 400 `invalid_host`.
//!
//! When `TENANTRY_CONTROL_PLANE_HOSTS` is set, `/platform/api/*` and `POST /api/tenants/provision`
//! answer only requests addressed to one of those hosts (e.g. `admin.example.com`), and 403 to
//! the rest — so the control plane is not reachable through a tenant's domain. It runs before
//! authentication: a request to the wrong host is refused whatever it carries.

use std::str::FromStr;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::uri::Authority;
use axum::http::{HeaderMap, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;

use crate::http::{ApiError, AppState};

/// The hosts the control plane answers on; empty: any host.
#[derive(Debug, Clone, Default)]
pub(super) struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    pub(super) fn new<'a>(hosts: impl IntoIterator<Item = &'a str>) -> Self {
        Self(hosts.into_iter().map(normalize).collect())
    }

    /// Whether `host` is one of them (none is, when none is configured).
    pub(super) fn names(&self, host: &str) -> bool {
        self.0.contains(&normalize(host))
    }

    fn allows(&self, host: Option<&str>) -> bool {
        if self.0.is_empty() {
            return true;
        }
        host.map(normalize)
            .is_some_and(|host| self.0.contains(&host))
    }
}

/// `Host` as compared: lower-cased, without the port or a trailing dot. `[::1]:8080` → `[::1]`.
fn normalize(host: &str) -> String {
    let host = host.trim();
    let without_port = if host.starts_with('[') {
        host.split_inclusive(']').next().unwrap_or(host)
    } else {
        match host.rsplit_once(':') {
            Some((name, port))
                if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) =>
            {
                name
            }
            _ => host,
        }
    };
    without_port.trim_end_matches('.').to_ascii_lowercase()
}

fn invalid_host(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        code: "invalid_host",
        message: message.into(),
        field: Some("Host".into()),
    }
}

/// The host a request is addressed to (none: HTTP/1.0 without `Host`), or why it is malformed.
fn request_host(uri: &Uri, headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let mut values = headers.get_all(header::HOST).iter();
    let header = values.next();
    if values.next().is_some() {
        return Err(invalid_host(
            "a request must carry one Host header, not several",
        ));
    }
    let header = match header {
        None => None,
        Some(value) => {
            let text = value
                .to_str()
                .map_err(|_| invalid_host("the Host header must be visible ASCII"))?
                .trim();
            if text.is_empty() {
                None
            } else {
                check_authority(text)?;
                Some(text.to_owned())
            }
        }
    };
    let Some(authority) = uri.authority() else {
        return Ok(header);
    };
    if authority.as_str().contains('@') || authority.host().is_empty() {
        return Err(invalid_host(
            "the request URI's authority must be a host, without user info",
        ));
    }
    if let Some(header) = &header
        && normalize(header) != normalize(authority.as_str())
    {
        return Err(invalid_host(format!(
            "the request URI is addressed to {authority}, but its Host header names {header}"
        )));
    }
    Ok(Some(authority.as_str().to_owned()))
}

/// `name`, `name:port`, `[v6]` or `[v6]:port`; no user info, no path.
fn check_authority(text: &str) -> Result<(), ApiError> {
    let malformed = || invalid_host(format!("the Host header {text:?} is not a valid host"));
    let authority = Authority::from_str(text).map_err(|_| malformed())?;
    if text.contains('@') || authority.host().is_empty() {
        return Err(malformed());
    }
    if text.rsplit_once(':').is_some_and(|(name, port)| {
        (!name.contains(':') || name.ends_with(']')) && port.parse::<u16>().is_err()
    }) {
        return Err(malformed());
    }
    Ok(())
}

/// On every route: a request whose host is malformed, doubled or contradicts itself → 400.
pub async fn check_well_formed(request: Request, next: Next) -> Response {
    match request_host(request.uri(), request.headers()) {
        Ok(_) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

/// Nests `routes` (paths relative to `/platform/api`, e.g. `/tenants`) under `/platform/api`,
/// behind the host check. Every control-plane route goes through here, the login included.
pub fn nest_platform(state: &AppState, routes: Router<AppState>) -> Router<AppState> {
    let guarded = routes.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        check_host,
    ));
    Router::new().nest("/platform/api", guarded)
}

/// `routes` (absolute paths) behind the control-plane host check: the admin panel's pages.
pub fn control_plane_routes(state: &AppState, routes: Router<AppState>) -> Router<AppState> {
    routes.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        check_host,
    ))
}

/// `route` behind the control-plane host check, for a control-plane route outside
/// `/platform/api` (`POST /api/tenants/provision`).
pub fn control_plane_only(
    state: &AppState,
    route: MethodRouter<AppState>,
) -> MethodRouter<AppState> {
    route.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        check_host,
    ))
}

async fn check_host(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let host = match request_host(request.uri(), request.headers()) {
        Ok(host) => host,
        Err(error) => return error.into_response(),
    };
    if state.auth.hosts.allows(host.as_deref()) {
        next.run(request).await
    } else {
        ApiError::Forbidden("the control plane is not served on this host".into()).into_response()
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn hosts_match_without_port_case_or_trailing_dot() {
        let allowed = AllowedHosts::new(["Admin.Example.com", "[::1]"]);
        assert!(allowed.allows(Some("admin.example.com")));
        assert!(allowed.allows(Some("ADMIN.example.com:8443")));
        assert!(allowed.allows(Some("admin.example.com.")));
        assert!(allowed.allows(Some("[::1]:8080")));
        assert!(!allowed.allows(Some("acme.example.com")));
        assert!(!allowed.allows(Some("admin.example.com.evil.test")));
        assert!(!allowed.allows(None));
    }

    #[test]
    fn no_configured_hosts_allows_any() {
        assert!(AllowedHosts::new([]).allows(Some("anything")));
        assert!(AllowedHosts::new([]).allows(None));
    }

    fn host_of(uri: &str, hosts: &[&str]) -> Result<Option<String>, String> {
        let mut headers = HeaderMap::new();
        for host in hosts {
            headers.append(header::HOST, HeaderValue::from_str(host).unwrap());
        }
        request_host(&uri.parse().unwrap(), &headers).map_err(|e| format!("{e:?}"))
    }

    #[test]
    fn the_host_is_well_formed_and_said_once() {
        assert_eq!(
            host_of("/x", &["admin.example.com:8443"]),
            Ok(Some("admin.example.com:8443".into()))
        );
        assert_eq!(host_of("/x", &["[::1]:80"]), Ok(Some("[::1]:80".into())));
        assert_eq!(host_of("/x", &[]), Ok(None));
        for bad in [
            "a b",
            "user@admin.example.com",
            "admin.example.com:http",
            "admin.example.com:99999",
            "admin.example.com/x",
            "[::1",
        ] {
            assert!(host_of("/x", &[bad]).is_err(), "{bad}");
        }
        assert!(host_of("/x", &["a.example.com", "a.example.com"]).is_err());
    }

    #[test]
    fn an_absolute_uri_names_the_host() {
        assert_eq!(
            host_of("http://admin.example.com/x", &[]),
            Ok(Some("admin.example.com".into()))
        );
        assert_eq!(
            host_of("http://Admin.example.com/x", &["admin.example.com:80"]),
            Ok(Some("Admin.example.com".into()))
        );
        assert!(host_of("http://evil.example/x", &["admin.example.com"]).is_err());
    }
}
