//! The admin panel: server-rendered pages (maud) for platform operators, served by `tenantry serve`
//! at `/` on the control-plane hosts, beside the JSON API under `/platform/api`. Its handlers call
//! the same application services and read models as the API (no HTTP round trip), so a refusal
//! reads as the API's own message.
//!
//! Pages: login, the overview (tenants by status, the last day's provisioning failures), the
//! tenants table (filters, search, keyset pages, live rows), Nova Empresa (new tenant, with live
//! provisioning progress), the tenant page (overview, steps, actions, history with "state at this
//! point", one request's events), the audit log (filters, keyset pages).
//! Live updates are server-sent events the server feeds by polling the read models. Every response
//! carries a Content-Security-Policy that allows only this origin's script and style: the one
//! script (`static/panel.js`) and the stylesheet are embedded in the binary.

mod audit;
mod i18n;
mod layout;
mod migrations;
mod overview;
mod session;
mod tenant;
mod tenants;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use uuid::Uuid;

use crate::http::{ApiError, AppState};
pub(crate) use i18n::Lang;

/// The Content-Security-Policy of every panel response: script, style and connections from this
/// origin only, no inline script or handler, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'";

/// The panel's routes (absolute paths), for the router to put behind the control-plane host check.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(tenants::list))
        .route("/login", get(layout::login_page).post(layout::login))
        .route("/logout", post(layout::logout))
        .route("/lang/{code}", get(set_language))
        .route("/static/{file}", get(asset))
        .route("/overview", get(overview::show))
        .route("/audit", get(audit::list))
        .route("/migrations", get(migrations::show))
        .route("/tenants/live", get(tenants::live))
        .route("/tenants/slug", get(tenants::slug_check))
        .route("/tenants/new", get(tenants::new_form).post(tenants::create))
        .route("/tenants/{id}", get(tenant::show))
        .route("/tenants/{id}/live", get(tenant::live))
        .route("/tenants/{id}/requests/{correlation}", get(audit::request))
        .route("/tenants/{id}/{action}", post(tenant::action))
        .layer(Extension(Arc::new(Panel::default())))
        .layer(axum::middleware::from_fn(security_headers))
}

/// What the panel keeps in memory: the invitation tokens of tenants just created, each shown once
/// to the staff member who created it (never stored: Tenantry keeps only the hash).
#[derive(Default)]
pub(crate) struct Panel {
    invites: Mutex<HashMap<Uuid, Invite>>,
}

pub(crate) struct Invite {
    pub(crate) staff: Uuid,
    pub(crate) token: String,
    pub(crate) email: String,
    made: Instant,
}

/// How long an invitation token waits in memory for its page to be shown.
const INVITE_KEPT: Duration = Duration::from_secs(10 * 60);

impl Panel {
    fn keep_invite(&self, tenant: Uuid, staff: Uuid, token: String, email: String) {
        let mut invites = self.invites.lock().unwrap_or_else(|e| e.into_inner());
        invites.retain(|_, i| i.made.elapsed() < INVITE_KEPT);
        invites.insert(
            tenant,
            Invite {
                staff,
                token,
                email,
                made: Instant::now(),
            },
        );
    }

    /// The invitation of `tenant` for `staff`, taken out: it is shown this once.
    fn take_invite(&self, tenant: Uuid, staff: Uuid) -> Option<Invite> {
        let mut invites = self.invites.lock().unwrap_or_else(|e| e.into_inner());
        match invites.get(&tenant) {
            Some(i) if i.staff == staff && i.made.elapsed() < INVITE_KEPT => {
                invites.remove(&tenant)
            }
            _ => None,
        }
    }
}

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

const CSS: &str = include_str!("static/panel.css");
const JS: &str = include_str!("static/panel.js");

async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "panel.css" => (CSS, "text/css; charset=utf-8"),
        "panel.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// `GET /lang/{code}?next=`: the language switch (a cookie for a year), then back.
async fn set_language(
    Path(code): Path<String>,
    Query(query): Query<NextQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(lang) = Lang::parse(&code) else {
        return (StatusCode::NOT_FOUND, "unknown language").into_response();
    };
    let secure = !session::is_local(&headers);
    let cookie = cookie::Cookie::build((i18n::COOKIE, lang.code()))
        .path("/")
        .same_site(cookie::SameSite::Lax)
        .secure(secure)
        .max_age(cookie::time::Duration::days(365))
        .build();
    (
        [(header::SET_COOKIE, cookie.to_string())],
        Redirect::to(&session::safe_next(query.next.as_deref())),
    )
        .into_response()
}

/// How long one live stream (`/tenants/live`, `/tenants/{id}/live`) lasts before it ends and the
/// browser reconnects: so that open pages do not hold a stopping server's graceful shutdown for
/// long, and the session is checked again on each reconnection.
pub(crate) const LIVE_FOR: Duration = Duration::from_secs(25);

/// The first event of a live stream: reconnect half a second after the stream ends.
pub(crate) fn reconnect_hint() -> axum::response::sse::Event {
    axum::response::sse::Event::default().retry(Duration::from_millis(500))
}

/// An API error as the API would answer it: its status and its message (5xx: a generic one, the
/// cause logged as the API logs it).
pub(crate) async fn refusal(error: ApiError) -> (StatusCode, String) {
    let response = error.into_response();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let message = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| status.to_string());
    (status, message)
}
