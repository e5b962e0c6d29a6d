//! The control-plane host check: when `TENANTRY_CONTROL_PLANE_HOSTS` is set, `/platform/api/*`
//! answers only requests addressed to one of those hosts (e.g. `admin.example.com`), and 403 to
//! the rest — so the control plane is not reachable through a tenant's domain. It runs before
//! authentication: a request to the wrong host is refused whatever it carries.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::{ApiError, AppState};

/// The hosts the control plane answers on; empty: any host.
#[derive(Debug, Clone, Default)]
pub(super) struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    pub(super) fn new<'a>(hosts: impl IntoIterator<Item = &'a str>) -> Self {
        Self(hosts.into_iter().map(normalize).collect())
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

/// Nests `routes` (paths relative to `/platform/api`, e.g. `/tenants`) under `/platform/api`,
/// behind the host check. Every control-plane route goes through here, the login included.
pub fn nest_platform(state: &AppState, routes: Router<AppState>) -> Router<AppState> {
    let guarded = routes.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        check_host,
    ));
    Router::new().nest("/platform/api", guarded)
}

async fn check_host(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| request.uri().host());
    if state.auth.hosts.allows(host) {
        next.run(request).await
    } else {
        ApiError::Forbidden("the control plane is not served on this host".into()).into_response()
    }
}

#[cfg(test)]
mod tests {
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
}
