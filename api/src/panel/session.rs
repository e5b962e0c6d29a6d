//! The panel's session: the staff access token of `POST /platform/api/auth/login`, kept in an
//! HttpOnly, SameSite=Strict cookie (Secure, and `__Host-` prefixed, unless the panel is opened on
//! localhost). Nothing of it is stored server side: the token is checked on every request as the
//! API checks a bearer token (signature, expiry, revocation, account still active), and logout
//! revokes it. So the session lasts `TENANTRY_ACCESS_TOKEN_TTL_SECS`; once it is over, a page
//! sends the browser to the login page with `?next=` the page it wanted.
//!
//! CSRF: every form carries a token; for a session it is SHA-256 of the session token (which a
//! page of another origin cannot read, the cookie being HttpOnly), and for the login form (no
//! session yet) a random value also set in its own SameSite=Strict cookie (double submit).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, SameSite};
use sha2::{Digest, Sha256};

use super::i18n::Lang;
use crate::http::AppState;
use crate::http::auth::StaffUser;

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// Whether the request is addressed to this machine (cookies need not be `Secure` there: the
/// panel opened at `http://localhost:8080` must work).
pub(crate) fn is_local(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = host.trim().to_ascii_lowercase();
    let name = if host.starts_with('[') {
        host.split_inclusive(']').next().unwrap_or(&host).to_owned()
    } else {
        host.rsplit_once(':')
            .map_or(host.clone(), |(name, _)| name.to_owned())
    };
    name == "localhost"
        || name.ends_with(".localhost")
        || name == "[::1]"
        || name.starts_with("127.")
}

/// The cookie names, by whether the cookies are `Secure` (then `__Host-`: only this host, over
/// HTTPS, path `/`, so a tenant's subdomain cannot plant one).
pub(crate) struct Names {
    pub(crate) session: &'static str,
    pub(crate) login_csrf: &'static str,
}

pub(crate) fn names(secure: bool) -> Names {
    if secure {
        Names {
            session: "__Host-tenantry_session",
            login_csrf: "__Host-tenantry_login",
        }
    } else {
        Names {
            session: "tenantry_session",
            login_csrf: "tenantry_login",
        }
    }
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, path `/`, Secure unless local; `max_age`
/// `None` deletes the cookie.
pub(crate) fn set_cookie(name: &str, value: &str, max_age: Option<i64>, secure: bool) -> String {
    let mut c = Cookie::build((name.to_owned(), value.to_owned()))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .secure(secure)
        .build();
    match max_age {
        Some(secs) => c.set_max_age(cookie::time::Duration::seconds(secs)),
        None => c.make_removal(),
    }
    c.to_string()
}

/// The CSRF token of the session whose token is `session_token`.
pub(crate) fn csrf_of(session_token: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"tenantry-panel-csrf\0");
    hash.update(session_token.as_bytes());
    URL_SAFE_NO_PAD.encode(hash.finalize())
}

/// A new random value (the login form's CSRF token).
pub(crate) fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// Equal, in time independent of where they differ.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A page that `next` may send the browser back to after login: a path of this site.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// A logged-in staff member's request.
pub(crate) struct Session {
    pub(crate) user: StaffUser,
    pub(crate) csrf: String,
    pub(crate) lang: Lang,
}

impl Session {
    /// Whether `form_token` is this session's CSRF token.
    pub(crate) fn csrf_ok(&self, form_token: &str) -> bool {
        same(&self.csrf, form_token)
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let lang = Lang::from_request_parts(parts, state)
            .await
            .unwrap_or(Lang::En);
        let secure = !is_local(&parts.headers);
        let token = cookie(&parts.headers, names(secure).session);
        if let Some(token) = &token
            && let Ok(user) = state.auth.authenticate(token).await
        {
            return Ok(Self {
                user,
                csrf: csrf_of(token),
                lang,
            });
        }
        // No session, or one that is over: to the login page, then back here.
        let next = if parts.method == Method::GET {
            parts
                .uri
                .path_and_query()
                .map_or("/".to_owned(), |p| p.as_str().to_owned())
        } else {
            referer_path(&parts.headers).unwrap_or_else(|| "/".into())
        };
        let mut target = format!("/login?next={}", encode(&next));
        if token.is_some() {
            target.push_str("&expired=1");
        }
        if parts.uri.path().ends_with("/live") {
            // An event stream cannot follow to a page: it is told, and its page reloads.
            return Err((axum::http::StatusCode::UNAUTHORIZED, "session over").into_response());
        }
        Err(Redirect::to(&target).into_response())
    }
}

/// The path (and query) of a same-site `Referer`.
fn referer_path(headers: &HeaderMap) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let uri: axum::http::Uri = referer.parse().ok()?;
    let host = headers.get(header::HOST)?.to_str().ok()?;
    (uri.authority()?.as_str() == host)
        .then(|| uri.path_and_query().map(|p| p.as_str().to_owned()))
        .flatten()
}

/// `text` percent-encoded for a query value.
pub(crate) fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// What [`encode_value`] leaves as it is: letters, digits and `-._~:` (readable filters, such as
/// `from=2026-12-01T10:00:00`, in a query string).
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':');

/// `text` as a query string's value, percent-encoded but readable.
pub(crate) fn encode_value(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, QUERY_VALUE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/tenants/x?y=1")), "/tenants/x?y=1");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn local_hosts_are_local() {
        let mut h = HeaderMap::new();
        for (host, local) in [
            ("localhost:8080", true),
            ("127.0.0.1:3000", true),
            ("[::1]:80", true),
            ("admin.example.com", false),
            ("localhost.evil.example", false),
        ] {
            h.insert(header::HOST, host.parse().unwrap());
            assert_eq!(is_local(&h), local, "{host}");
        }
    }
}
