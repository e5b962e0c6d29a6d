//! The tenants table (`/`), its live rows (`/tenants/live`, server-sent events), the slug check
//! (`/tenants/slug`) and Nova Empresa (`/tenants/new`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form, Json};
use chrono::Utc;
use futures::Stream;
use maud::{Markup, html};
use serde::Deserialize;
use tenantry_application::tenants::{CommandContext, CreateTenantInput};
use tenantry_domain::{Email, IsolationModel, Slug, TenantStatus};
use tenantry_projections::queries::tenants::{self, TenantFilter, TenantView};
use uuid::Uuid;

use super::layout::{badge, page, when};
use super::session::{Session, encode};
use super::{Lang, Panel, refusal};
use crate::http::AppState;
use crate::http::extract::RequestMeta;

/// How often the live table looks at the read model.
const LIVE_EVERY: Duration = Duration::from_millis(400);
/// How far back the live table looks: longer than the read model takes to catch up.
const LIVE_WINDOW: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
/// Tenants per page.
const PAGE: u32 = 50;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    status: Option<String>,
    plan: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
}

impl ListQuery {
    fn filter(&self) -> TenantFilter {
        let nonempty = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
        TenantFilter {
            status: nonempty(&self.status).and_then(|s| TenantStatus::from_str(&s).ok()),
            plan: nonempty(&self.plan),
            q: nonempty(&self.q).map(|q| q.trim().to_owned()),
            include_deleted: false,
            isolation: None,
            limit: Some(PAGE),
            cursor: nonempty(&self.cursor),
        }
    }

    /// The filters as a query string (without the cursor).
    fn filters_query(&self) -> String {
        let mut query = String::new();
        for (name, value) in [
            ("status", &self.status),
            ("plan", &self.plan),
            ("q", &self.q),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                query.push_str(&format!("&{name}={}", encode(v)));
            }
        }
        query
    }
}

/// The main domain and its certificate's status; "—" until the tenant has a domain.
fn domain_cell(lang: Lang, tenant: &TenantView) -> Markup {
    match tenant.domains.first() {
        None => html! { span.none title=(lang.t("main_domain_note")) { "—" } },
        Some(d) => {
            html! { (d.host) " " span class={ "badge st-" (d.tls_status) } { "SSL " (d.tls_status) } }
        }
    }
}

/// The infrastructure provisioning made: schema or database, queue, Redis namespace.
fn infrastructure_cell(tenant: &TenantView) -> Markup {
    let infra = &tenant.infrastructure;
    let store = infra
        .schema
        .as_deref()
        .map(|s| format!("schema {s}"))
        .or_else(|| infra.database.as_deref().map(|d| format!("db {d}")));
    html! {
        @if store.is_none() && infra.queues.is_empty() && infra.redis_namespace.is_none() {
            span.none { "—" }
        } @else {
            ul.infra {
                @if let Some(s) = &store { li { (s) } }
                @for q in &infra.queues { li { "queue " (q) } }
                @if let Some(ns) = &infra.redis_namespace { li { "redis " (ns) } }
            }
        }
    }
}

/// One row of the table (also what the live stream sends).
pub(crate) fn row(lang: Lang, tenant: &TenantView) -> Markup {
    html! {
        tr id={ "row-" (tenant.id) } data-id=(tenant.id) {
            td { a href={ "/tenants/" (tenant.id) } { (tenant.name) } }
            td { code { (tenant.slug) } }
            td { (tenant.plan) }
            td { (tenant.isolation.as_str()) }
            td.status { (badge(lang, tenant.status.as_str())) }
            td { (domain_cell(lang, tenant)) }
            // Workers are not built yet: 0 reads as "not yet".
            td { @if tenant.active_workers == 0 { span.none { "—" } } @else { (tenant.active_workers) } }
            td { (infrastructure_cell(tenant)) }
            td { (when(tenant.created_at)) }
        }
    }
}

/// `GET /`: the tenants table.
pub(crate) async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<ListQuery>,
) -> Response {
    let lang = session.lang;
    let t = |k| lang.t(k);
    let page_result = tenants::list(&state.pool, &query.filter()).await;
    let tenants_page = match page_result {
        Ok(p) => p,
        Err(e) => {
            let (status, message) = refusal(e.into()).await;
            return (
                status,
                page(
                    lang,
                    t("page_error"),
                    Some(&session),
                    "/",
                    html! { p.alert role="alert" { (message) } },
                ),
            )
                .into_response();
        }
    };
    let status_now = query.status.clone().unwrap_or_default();
    let plan_now = query.plan.clone().unwrap_or_default();
    let first_page = query.cursor.as_deref().is_none_or(str::is_empty);
    let live = format!("/tenants/live?x=1{}", query.filters_query());
    let statuses = TenantStatus::ALL
        .iter()
        .filter(|s| **s != TenantStatus::Deleted);
    let body = html! {
        h1 { (t("tenants")) " " span.live-dot #live-state title=(t("live")) {} }
        form.filters method="get" action="/" role="search" {
            div {
                label for="f-q" { (t("search")) }
                input #f-q type="search" name="q" value=[query.q.as_deref()] placeholder=(t("search_hint"));
            }
            div {
                label for="f-status" { (t("status")) }
                select #f-status name="status" {
                    option value="" { (t("any")) }
                    @for s in statuses {
                        option value=(s.as_str()) selected[status_now == s.as_str()] { (lang.status(s.as_str())) }
                    }
                }
            }
            div {
                label for="f-plan" { (t("plan")) }
                select #f-plan name="plan" {
                    option value="" { (t("any")) }
                    @for p in state.tenants.catalog().plans() {
                        option value=(p.name.as_str()) selected[plan_now == p.name.as_str()] { (p.name.as_str()) }
                    }
                }
            }
            button type="submit" { (t("filter")) }
        }
        div.table-wrap {
            table #tenants data-live=(live) data-first-page=(first_page) {
                thead { tr {
                    th scope="col" { (t("name")) }
                    th scope="col" { (t("slug")) }
                    th scope="col" { (t("plan")) }
                    th scope="col" { (t("isolation")) }
                    th scope="col" { (t("status")) }
                    th scope="col" { (t("domain_ssl")) }
                    th scope="col" { (t("workers")) }
                    th scope="col" { (t("infrastructure")) }
                    th scope="col" { (t("created")) }
                } }
                tbody {
                    @for tenant in &tenants_page.items { (row(lang, tenant)) }
                }
            }
        }
        @if tenants_page.items.is_empty() { p #no-tenants { (t("no_tenants")) } }
        nav.pages aria-label="pages" {
            @if !first_page { a href={ "/?x=1" (query.filters_query()) } { (t("first_page")) } }
            @if let Some(next) = &tenants_page.next_cursor {
                a #next-page href={ "/?cursor=" (encode(next)) (query.filters_query()) } { (t("next_page")) }
            }
        }
    };
    page(lang, t("tenants"), Some(&session), "/", body).into_response()
}

/// `GET /tenants/live?status=&plan=&q=`: the rows of the filtered table as they change (event
/// `row`, data: the row's HTML), read from the tenant panel read model every 400 ms.
pub(crate) async fn live(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<ListQuery>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let lang = session.lang;
    let mut filter = query.filter();
    filter.cursor = None;
    struct Live {
        pool: sqlx::PgPool,
        filter: TenantFilter,
        sent: HashMap<Uuid, String>,
        pending: Vec<Event>,
        first: bool,
    }
    let start = Live {
        pool: state.pool.clone(),
        filter,
        sent: HashMap::new(),
        pending: vec![super::reconnect_hint()],
        first: true,
    };
    let started = std::time::Instant::now();
    let stream = futures::stream::unfold(start, move |mut live| async move {
        loop {
            if let Some(event) = live.pending.pop() {
                return Some((Ok(event), live));
            }
            if started.elapsed() > super::LIVE_FOR {
                return None;
            }
            if !live.first {
                tokio::time::sleep(LIVE_EVERY).await;
            }
            live.first = false;
            let since = Utc::now() - LIVE_WINDOW;
            let Ok(changed) = tenants::changed_since(&live.pool, &live.filter, since, 200).await
            else {
                continue;
            };
            for tenant in changed.iter().rev() {
                let html = row(lang, tenant).into_string();
                if live.sent.get(&tenant.id) != Some(&html) {
                    live.sent.insert(tenant.id, html.clone());
                    live.pending.push(Event::default().event("row").data(html));
                }
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

#[derive(Debug, Deserialize)]
pub(crate) struct SlugQuery {
    name: Option<String>,
    slug: Option<String>,
}

/// `GET /tenants/slug?name=&slug=`: the slug the form would use (the typed one, else the one
/// derived from the name), whether it is valid, and whether a live tenant has it already.
pub(crate) async fn slug_check(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<SlugQuery>,
) -> Response {
    let lang = session.lang;
    let reserved = state.tenants.reserved();
    let typed = query
        .slug
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let parsed = match typed {
        Some(slug) => Slug::parse(slug, reserved),
        None => Slug::from_name(query.name.as_deref().unwrap_or(""), reserved),
    };
    let slug = match parsed {
        Ok(slug) => slug,
        Err(e) => {
            return Json(serde_json::json!({
                "slug": typed.unwrap_or(""), "valid": false, "available": false,
                "message": e.to_string(),
            }))
            .into_response();
        }
    };
    match tenants::id_of_slug(&state.pool, slug.as_str()).await {
        Ok(taken) => Json(serde_json::json!({
            "slug": slug.as_str(), "valid": true, "available": taken.is_none(),
            "message": if taken.is_none() { lang.t("slug_available") } else { lang.t("slug_taken") },
        }))
        .into_response(),
        Err(e) => refusal(e.into()).await.into_response(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct NewTenantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    plan: String,
    #[serde(default)]
    isolation: String,
    #[serde(default)]
    admin_email: String,
}

fn new_tenant_page(
    state: &AppState,
    session: &Session,
    form: &NewTenantForm,
    error: Option<(&str, Option<&str>)>,
) -> Markup {
    let lang = session.lang;
    let t = |k| lang.t(k);
    let catalog = state.tenants.catalog();
    let plan_now = if form.plan.is_empty() {
        catalog.default_plan().name.as_str().to_owned()
    } else {
        form.plan.clone()
    };
    let isolation_now = if form.isolation.is_empty() {
        catalog
            .plan(&plan_now)
            .map(|p| p.default_isolation.as_str())
            .unwrap_or("")
            .to_owned()
    } else {
        form.isolation.clone()
    };
    let bad = |field: &str| error.is_some_and(|(_, f)| f == Some(field));
    let body = html! {
        h1 { (t("new_tenant")) }
        @if let Some((message, _)) = error {
            p.alert role="alert" #form-error { (message) }
        }
        form.card #new-tenant method="post" action="/tenants/new" data-base-domain=(state.base_domain) {
            input type="hidden" name="csrf" value=(session.csrf);
            label for="name" { (t("name")) }
            input #name name="name" value=(form.name) required maxlength="200" autocomplete="organization" aria-invalid=[bad("name").then_some("true")];
            label for="slug" { (t("slug")) }
            input #slug name="slug" value=(form.slug) maxlength="63" pattern="[a-z0-9-]{3,63}" aria-describedby="slug-status" aria-invalid=[bad("slug").then_some("true")] autocomplete="off";
            p.hint #slug-status aria-live="polite" { (t("slug_hint")) }
            p.hint #main-domain {
                (t("main_domain")) ": " (t("main_domain_note")) " "
                code #default-host { (if form.slug.is_empty() { "{slug}" } else { &form.slug }) "." (state.base_domain) }
            }
            label for="plan" { (t("plan")) }
            select #plan name="plan" aria-invalid=[bad("plan").then_some("true")] {
                @for p in catalog.plans() {
                    option value=(p.name.as_str()) data-isolation=(p.default_isolation.as_str()) selected[plan_now == p.name.as_str()] { (p.name.as_str()) }
                }
            }
            label for="isolation" { (t("isolation")) }
            select #isolation name="isolation" aria-describedby="isolation-hint" aria-invalid=[bad("isolation").then_some("true")] {
                @for i in IsolationModel::ALL {
                    option value=(i.as_str()) selected[isolation_now == i.as_str()] { (i.as_str()) }
                }
            }
            p.hint #isolation-hint { (t("isolation_hint")) }
            label for="admin_email" { (t("admin_email")) }
            input #admin_email type="email" name="admin_email" value=(form.admin_email) required autocomplete="off" aria-invalid=[bad("admin_email").then_some("true")];
            button type="submit" { (t("create")) }
        }
    };
    page(lang, t("new_tenant"), Some(session), "/tenants/new", body)
}

/// `GET /tenants/new`: Nova Empresa.
pub(crate) async fn new_form(State(state): State<AppState>, session: Session) -> Markup {
    new_tenant_page(&state, &session, &NewTenantForm::default(), None)
}

/// `POST /tenants/new`: what `POST /api/tenants/provision` does (create, provision, invite the
/// admin), then to the tenant's page, which shows the progress and, this once, the invitation.
pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(panel): Extension<Arc<Panel>>,
    session: Session,
    meta: RequestMeta,
    Form(form): Form<NewTenantForm>,
) -> Response {
    let lang = session.lang;
    if !session.csrf_ok(&form.csrf) {
        let page = new_tenant_page(&state, &session, &form, Some((lang.t("bad_form"), None)));
        return (StatusCode::FORBIDDEN, page).into_response();
    }
    let refused = |status: StatusCode, message: String, field: Option<String>| {
        let page = new_tenant_page(&state, &session, &form, Some((&message, field.as_deref())));
        (status, page).into_response()
    };
    let email = match Email::parse(form.admin_email.trim()) {
        Ok(email) => email,
        Err(e) => {
            return refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("admin_email: {e}"),
                Some("admin_email".into()),
            );
        }
    };
    let context = CommandContext {
        actor: session.user.actor(),
        correlation_id: meta.correlation_id,
        causation_id: Some(meta.request_id),
        ip: meta.ip.map(|ip| ip.to_string()),
        user_agent: meta.user_agent,
    };
    let some = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let input = CreateTenantInput {
        name: form.name.clone(),
        slug: some(&form.slug),
        plan: some(&form.plan),
        isolation: some(&form.isolation),
        admin_email: Some(form.admin_email.trim().to_owned()),
    };
    let created = match state.tenants.create(input, &context).await {
        Ok(created) => created,
        Err(error) => {
            let field = match &error {
                tenantry_application::tenants::CommandError::Invalid(i) => {
                    Some(i.field.to_string())
                }
                tenantry_application::tenants::CommandError::SlugTaken(_) => Some("slug".into()),
                _ => None,
            };
            let (status, message) = refusal(error.into()).await;
            return refused(status, message, field);
        }
    };
    let tenant = created.tenant_id;
    if let Err(error) = state.tenants.request_provisioning(tenant, &context).await {
        let (status, message) = refusal(error.into()).await;
        return refused(status, message, None);
    }
    match state.invitations.issue_admin(tenant, email, &context).await {
        Ok((invitation, token)) => panel.keep_invite(
            tenant.as_uuid(),
            session.user.id,
            token,
            invitation.email.as_str().to_owned(),
        ),
        Err(error) => {
            let (status, message) = refusal(error.into()).await;
            return refused(status, message, None);
        }
    }
    Redirect::to(&format!("/tenants/{tenant}")).into_response()
}
