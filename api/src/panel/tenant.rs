//! The tenant page (`/tenants/{id}`): overview, provisioning steps and attempts, actions, event
//! history with "state at this point" (`?at={version}`: the tenant folded by the domain from its
//! events up to that version); its live part (`/tenants/{id}/live`, server-sent events); the
//! actions (`POST /tenants/{id}/{retry|suspend|reactivate|rotate|delete}`). One request's events, linked
//! from the history, are in [`super::audit::request`].

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::Utc;
use futures::Stream;
use maud::{Markup, html};
use serde::Deserialize;
use tenantry_application::tenants::CommandContext;
use tenantry_domain::{Tenant, TenantId, TenantNames};
use tenantry_projections::queries::tenants::{self, StepView, TenantView};
use uuid::Uuid;

use super::layout::{badge, page, short, when};
use super::session::Session;
use super::{Invite, Lang, Panel, refusal};
use crate::http::extract::RequestMeta;
use crate::http::{ApiError, AppState};

/// How often the live part looks at the read models.
const LIVE_EVERY: Duration = Duration::from_millis(200);
/// The most events the history shows (the latest ones).
const HISTORY: u64 = 200;

/// The tenant `raw` names (id or live slug), waiting a moment for a tenant created just now to
/// reach the read models.
pub(crate) async fn find(state: &AppState, raw: &str) -> Result<Option<TenantView>, ApiError> {
    let Some(id) = tenants::resolve(&state.pool, raw).await? else {
        return Ok(None);
    };
    let deadline = Instant::now() + state.read_model_wait;
    loop {
        if let Some(view) = tenants::get(&state.pool, id).await? {
            return Ok(Some(view));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn duration(step: &StepView) -> String {
    let Some(started) = step.started_at else {
        return "—".into();
    };
    let end = step.finished_at.unwrap_or_else(Utc::now);
    let ms = (end - started).num_milliseconds().max(0);
    if ms < 10_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{} s", ms / 1000)
    }
}

/// The part of the page that changes as the tenant does: heading, overview, provisioning.
fn live_part(lang: Lang, tenant: &TenantView, base_domain: &str) -> Markup {
    let t = |k| lang.t(k);
    let p = &tenant.provisioning;
    let infra = &tenant.infrastructure;
    html! {
        h1 { (tenant.name) " " span #tenant-status { (badge(lang, tenant.status.as_str())) } }
        section.card aria-labelledby="h-overview" {
            h2 #h-overview { (t("overview")) }
            dl.overview {
                dt { (t("slug")) } dd { code #tenant-slug { (tenant.slug) } }
                dt { "Id" } dd { code { (tenant.id) } }
                dt { (t("plan")) } dd { (tenant.plan) }
                dt { (t("isolation")) } dd { (tenant.isolation.as_str()) }
                dt { (t("default_host")) } dd { code { (tenant.slug) "." (base_domain) } }
                dt { (t("domain_ssl")) } dd {
                    @if tenant.domains.is_empty() { "—" }
                    @for d in &tenant.domains { (d.host) " (" (d.status) ", SSL " (d.tls_status) ") " }
                }
                dt { (t("workers")) } dd { @if tenant.active_workers == 0 { "—" } @else { (tenant.active_workers) } }
                dt { (t("infrastructure")) } dd #tenant-infra {
                    @if let Some(s) = &infra.schema { "schema " code { (s) } " " }
                    @if let Some(d) = &infra.database { "db " code { (d) } " " }
                    @for q in &infra.queues { "queue " code { (q) } " " }
                    @if let Some(ns) = &infra.redis_namespace { "redis " code { (ns) } }
                    @if infra.schema.is_none() && infra.database.is_none() && infra.queues.is_empty() && infra.redis_namespace.is_none() { "—" }
                }
                @if let Some(suspension) = &tenant.suspension {
                    dt { (t("suspension")) } dd #tenant-suspension {
                        (when(suspension.suspended_at)) " · " (t("suspension_reason")) ": "
                        @match &suspension.reason { Some(r) => { q #suspension-reason { (r) } }, None => { (t("no_reason")) } }
                    }
                }
                @if !tenant.access.suspended.is_empty() || tenant.access.pending {
                    dt { (t("access_off")) } dd #tenant-access {
                        @for a in &tenant.access.suspended { code { (a) } " " }
                        @if tenant.access.pending { "(" (t("access_pending")) ")" }
                    }
                }
                @if tenant.credentials.rotation > 0 {
                    dt { (t("credentials")) } dd #tenant-credentials {
                        (t("rotation")) " " (tenant.credentials.rotation) " · "
                        @match tenant.credentials.status.as_str() {
                            "applying" => { (t("cred_applying")) },
                            "in_grace" => {
                                (t("cred_in_grace")) " "
                                @if let Some(at) = tenant.credentials.grace_until { (when(at)) }
                            },
                            _ => { (t("cred_done")) },
                        }
                        @if let Some(error) = &tenant.credentials.last_error { " · " span.error { (error) } }
                    }
                }
                dt { (t("created")) } dd { (when(tenant.created_at)) }
                dt { (t("updated")) } dd { (when(tenant.updated_at)) }
                dt { (t("version")) } dd { (tenant.version) }
            }
        }
        section.card aria-labelledby="h-prov" {
            h2 #h-prov { (t("provisioning")) " " span #provisioning-status { (badge(lang, &p.status)) } }
            p { (t("attempt")) " " (p.attempt)
                @if let Some(step) = &p.current_step { " · " (t("step")) " " code { (step) } } }
            @if p.status == "rolling_back" { p.alert role="status" #rollback { (t("rolling_back")) } }
            @if p.status == "failed" { p.alert role="status" #rollback { (t("rollback")) } }
            div.table-wrap {
                table #steps {
                    thead { tr {
                        th scope="col" { (t("step")) } th scope="col" { (t("status")) }
                        th scope="col" { (t("attempts")) } th scope="col" { (t("started")) }
                        th scope="col" { (t("duration")) } th scope="col" { (t("error")) }
                    } }
                    tbody {
                        @for s in &p.steps {
                            tr data-step=(s.name) data-status=(s.status) {
                                td { code { (s.name) }
                                    @if let Some(outputs) = &s.outputs {
                                        br; span.outputs { (t("outputs")) " " code.outputs { (outputs.to_string()) } }
                                    } }
                                td { (badge(lang, &s.status)) }
                                td { (s.attempts) }
                                td { @if let Some(at) = s.started_at { (when(at)) } @else { "—" } }
                                td { (duration(s)) }
                                td.error { @if let Some(e) = &s.last_error { (e) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The latest events of the tenant's stream, newest first; each version links to the tenant's
/// state at that version (`at`: the one shown), each correlation to that request's events.
async fn history(state: &AppState, tenant: &TenantView, lang: Lang, at: Option<u64>) -> Markup {
    let t = |k| lang.t(k);
    let stream = TenantId::from_uuid(tenant.id).stream_id();
    let from = tenant.version.saturating_sub(HISTORY - 1).max(1);
    let events = state
        .store
        .read_stream(&stream, from, HISTORY as usize)
        .await
        .unwrap_or_default();
    let base = format!("/tenants/{}", tenant.id);
    html! {
        p.hint { (t("time_travel_hint")) }
        div.table-wrap {
            table #history {
                thead { tr {
                    th scope="col" { (t("version")) } th scope="col" { (t("event")) }
                    th scope="col" { (t("when")) } th scope="col" { (t("actor")) }
                    th scope="col" { (t("correlation")) } th scope="col" { (t("position")) }
                } }
                tbody {
                    @for e in events.iter().rev() {
                        tr data-version=(e.stream_version) aria-current=[(at == Some(e.stream_version)).then_some("true")] {
                            td { a.version-link href={ (base) "?at=" (e.stream_version) "#state" }
                                aria-label={ (t("state_at_link")) " " (e.stream_version) } { (e.stream_version) } }
                            td { details { summary { code { (e.event_type) } } pre { (serde_json::to_string_pretty(&e.payload).unwrap_or_default()) } } }
                            td { (when(e.recorded_at)) }
                            td { (e.metadata.actor.to_string()) }
                            td { a.request-link href={ (base) "/requests/" (e.metadata.correlation_id) }
                                title=(e.metadata.correlation_id) aria-label={ (t("request_events")) " " (e.metadata.correlation_id) } {
                                code.short { (short(&e.metadata.correlation_id)) } } }
                            td { (e.position) }
                        }
                    }
                }
            }
        }
    }
}

/// The fields of a tenant as folded from its events.
fn state_fields(lang: Lang, tenant: &Tenant) -> Markup {
    let t = |k| lang.t(k);
    let p = &tenant.provisioning;
    let steps: Vec<String> = p.steps.iter().map(ToString::to_string).collect();
    html! {
        dl.overview #state-fields {
            dt { (t("name")) } dd #state-name { (tenant.name) }
            dt { (t("slug")) } dd { code #state-slug { (tenant.slug) } }
            dt { (t("plan")) } dd #state-plan { (tenant.plan) }
            dt { (t("isolation")) } dd { (tenant.isolation.as_str()) }
            dt { (t("status")) } dd #state-status { (badge(lang, tenant.status.as_str())) }
            dt { (t("provisioning")) } dd {
                (t("attempt")) " " (p.attempt)
                @if !steps.is_empty() { " · " (t("steps")) ": " code { (steps.join(", ")) } }
                @if let Some(step) = tenant.next_step() { " · " (t("step")) " " code { (step) } }
            }
            @if let Some(error) = &p.last_error { dt { (t("last_error")) } dd.error { (error) } }
            @if let Some(at) = p.next_retry_at { dt { (t("next_retry")) } dd { (when(at)) } }
            dt { (t("held")) } dd #state-resources {
                @if tenant.resources.is_empty() { "—" }
                @else { ul.infra { @for (step, resource) in &tenant.resources {
                    li { code { (step) } " " code.outputs { (serde_json::to_string(resource).unwrap_or_default()) } }
                } } }
            }
            @if !tenant.domains.is_empty() {
                dt { (t("domains")) } dd { @for (host, d) in &tenant.domains {
                    (host) " (" (if d.active { "active" } else { "pending" }) ") "
                } }
            }
            dt { (t("workers")) } dd { @if tenant.active_workers.is_empty() { "—" } @else { (tenant.active_workers.len()) } }
            @if let Some(suspension) = &tenant.suspension {
                dt { (t("suspension")) } dd {
                    (when(suspension.since)) " · " (t("suspension_reason")) ": "
                    @match &suspension.reason { Some(r) => { q { (r) } }, None => { (t("no_reason")) } }
                }
            }
            @if !tenant.access.suspended.is_empty() {
                dt { (t("access_off")) } dd { @for a in &tenant.access.suspended { code { (a) } " " } }
            }
            dt { (t("created")) } dd { (when(tenant.created_at)) }
            dt { (t("updated")) } dd { (when(tenant.updated_at)) }
        }
    }
}

/// "State at this point": the tenant as its first `raw` events describe it (`?at=`), folded by
/// the domain through the application's [`TenantService::state_at`]; or why there is none.
///
/// [`TenantService::state_at`]: tenantry_application::tenants::TenantService::state_at
async fn state_at(state: &AppState, view: &TenantView, lang: Lang, raw: &str) -> Markup {
    let t = |k| lang.t(k);
    let now = format!("/tenants/{}", view.id);
    let shown: Result<Markup, String> = match raw.trim().parse::<u64>() {
        Ok(version) if version >= 1 => {
            let id = TenantId::from_uuid(view.id);
            match state.tenants.state_at(id, version).await {
                Err(e) => Err(refusal(ApiError::Internal(e)).await.1),
                Ok(loaded) if loaded.version < version => {
                    Err(format!("{} {}.", t("state_beyond"), loaded.version))
                }
                Ok(loaded) => {
                    let event = state
                        .store
                        .read_stream(&id.stream_id(), version, 1)
                        .await
                        .unwrap_or_default();
                    Ok(html! {
                        h2 #h-state { (t("state_at")) " " span #state-version { (version) } }
                        @if let Some(e) = event.first() {
                            p #state-event { (t("state_after")) " " code { (e.event_type) } " · " (when(e.recorded_at))
                                " · " (e.metadata.actor.to_string()) " · " (t("position")) " " (e.position) }
                        }
                        @match loaded.state.tenant() {
                            Some(tenant) => { (state_fields(lang, tenant)) },
                            None => { p { "—" } },
                        }
                        p.hint { (t("state_note")) }
                    })
                }
            }
        }
        _ => Err(t("bad_version").to_owned()),
    };
    html! {
        section.card.state #state aria-labelledby="h-state" {
            @match shown {
                Ok(markup) => { (markup) },
                Err(message) => {
                    h2 #h-state { (t("state_at")) }
                    p.alert role="alert" #state-error { (message) }
                },
            }
            p { a #back-to-now href=(now) { (t("back_to_now")) } }
        }
    }
}

fn actions(lang: Lang, session: &Session, tenant: &TenantView) -> Markup {
    let t = |k| lang.t(k);
    let base = format!("/tenants/{}", tenant.id);
    html! {
        section.card aria-labelledby="h-actions" {
            h2 #h-actions { (t("actions")) }
            div.actions {
                form method="post" action={ (base) "/retry" } {
                    input type="hidden" name="csrf" value=(session.csrf);
                    button #action-retry type="submit" { (t("retry")) }
                }
                form method="post" action={ (base) "/suspend" } {
                    input type="hidden" name="csrf" value=(session.csrf);
                    label for="reason" { (t("reason")) }
                    input #reason name="reason" maxlength="500";
                    button #action-suspend type="submit" { (t("suspend")) }
                }
                form method="post" action={ (base) "/reactivate" } {
                    input type="hidden" name="csrf" value=(session.csrf);
                    button #action-reactivate type="submit" { (t("reactivate")) }
                }
                form method="post" action={ (base) "/rotate" } {
                    input type="hidden" name="csrf" value=(session.csrf);
                    label for="grace" { (t("grace")) }
                    input #grace name="grace" type="number" min="0" max="604800" value="3600" required;
                    button #action-rotate type="submit" { (t("rotate")) }
                }
                form.danger method="post" action={ (base) "/delete" } {
                    input type="hidden" name="csrf" value=(session.csrf);
                    label for="confirm" { (t("delete_confirm")) " (" code { (tenant.slug) } ")" }
                    input #confirm name="confirm" autocomplete="off" required;
                    button #action-delete type="submit" { (t("delete")) }
                }
            }
        }
    }
}

fn invite_part(lang: Lang, invite: &Invite, tenant: &TenantView) -> Markup {
    let t = |k| lang.t(k);
    let names = TenantNames::of(TenantId::from_uuid(tenant.id));
    html! {
        section.card.invite #invite aria-labelledby="h-invite" {
            h2 #h-invite { (t("invitation")) }
            p { (invite.email) " · " strong { (t("invitation_once")) } }
            p.token { code #invite-token { (invite.token) } " "
                button #copy-token type="button" data-copy="invite-token" data-copied=(t("copied")) { (t("copy")) } }
            p { (t("worker_instructions")) " " code { (names.queue()) } " (redis " code { (names.redis_namespace()) } ")." }
        }
    }
}

/// The tenant page, with `message` (an action's outcome) on top.
async fn render(
    state: &AppState,
    session: &Session,
    tenant: &TenantView,
    invite: Option<&Invite>,
    message: Option<(&str, bool)>,
    at: Option<&str>,
) -> Markup {
    let lang = session.lang;
    let base = format!("/tenants/{}", tenant.id);
    let at = at.map(str::trim).filter(|a| !a.is_empty());
    let version = at.and_then(|a| a.parse::<u64>().ok());
    let (here, live) = match at {
        Some(a) => (
            format!("{base}?at={}", super::session::encode(a)),
            format!("{base}/live?at={}", version.unwrap_or(0)),
        ),
        None => (base.clone(), format!("{base}/live")),
    };
    let history = history(state, tenant, lang, version).await;
    let state_card = match at {
        Some(a) => Some(state_at(state, tenant, lang, a).await),
        None => None,
    };
    let body = html! {
        @if let Some((text, refused)) = message {
            @if refused { p.alert role="alert" #action-error { (lang.t("refused")) ": " (text) } }
            @else { p.ok role="status" #action-done { (text) } }
        }
        div #tenant-live data-live=(live) {
            (live_part(lang, tenant, &state.base_domain))
        }
        @if let Some(invite) = invite { (invite_part(lang, invite, tenant)) }
        (actions(lang, session, tenant))
        @if let Some(card) = state_card { (card) }
        section.card aria-labelledby="h-history" {
            h2 #h-history { (lang.t("history")) }
            div #tenant-history { (history) }
        }
    };
    page(lang, &tenant.name, Some(session), &here, body)
}

pub(crate) fn not_found(session: &Session) -> Response {
    let lang = session.lang;
    (
        StatusCode::NOT_FOUND,
        page(
            lang,
            lang.t("not_found"),
            Some(session),
            "/",
            html! { p.alert role="alert" { (lang.t("not_found")) } },
        ),
    )
        .into_response()
}

/// `GET /tenants/{id}`.
pub(crate) async fn page_handler(
    state: AppState,
    panel: Arc<Panel>,
    session: Session,
    id: String,
    at: Option<String>,
) -> Response {
    match find(&state, &id).await {
        Ok(Some(tenant)) => {
            let invite = panel.take_invite(tenant.id, session.user.id);
            render(
                &state,
                &session,
                &tenant,
                invite.as_ref(),
                None,
                at.as_deref(),
            )
            .await
            .into_response()
        }
        Ok(None) => not_found(&session),
        Err(e) => refusal(e).await.into_response(),
    }
}

/// The tenant page's query: `at`, the version whose state to show.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TenantQuery {
    at: Option<String>,
}

pub(crate) async fn show(
    State(state): State<AppState>,
    Extension(panel): Extension<Arc<Panel>>,
    session: Session,
    Path(id): Path<String>,
    Query(query): Query<TenantQuery>,
) -> Response {
    page_handler(state, panel, session, id, query.at).await
}

/// `GET /tenants/{id}/live`: event `tenant` (the live part's HTML) whenever it changes, and
/// `history` (the history's HTML) whenever the tenant's version does.
pub(crate) async fn live(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(query): Query<TenantQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Response> {
    let at = query.at.and_then(|a| a.trim().parse::<u64>().ok());
    let Ok(Some(uuid)) = tenants::resolve(&state.pool, &id).await else {
        return Err(StatusCode::NOT_FOUND.into_response());
    };
    let lang = session.lang;
    struct Live {
        state: AppState,
        id: Uuid,
        part: String,
        version: u64,
        pending: Vec<Event>,
        first: bool,
    }
    let start = Live {
        state,
        id: uuid,
        part: String::new(),
        version: 0,
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
            let Ok(Some(tenant)) = tenants::get(&live.state.pool, live.id).await else {
                continue;
            };
            if tenant.version != live.version {
                live.version = tenant.version;
                let html = history(&live.state, &tenant, lang, at).await.into_string();
                live.pending
                    .push(Event::default().event("history").data(html));
            }
            let part = live_part(lang, &tenant, &live.state.base_domain).into_string();
            if part != live.part {
                live.part = part.clone();
                live.pending
                    .push(Event::default().event("tenant").data(part));
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ActionForm {
    #[serde(default)]
    csrf: String,
    reason: Option<String>,
    confirm: Option<String>,
    /// `rotate`: the grace period in seconds.
    grace: Option<String>,
}

/// `POST /tenants/{id}/{action}`: the command, then back to the page; a refusal shows there with
/// the API's message.
pub(crate) async fn action(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let lang = session.lang;
    let tenant = match find(&state, &id).await {
        Ok(Some(tenant)) => tenant,
        Ok(None) => return not_found(&session),
        Err(e) => return refusal(e).await.into_response(),
    };
    let refused = async |status: StatusCode, message: String| {
        let page = render(
            &state,
            &session,
            &tenant,
            None,
            Some((&message, true)),
            None,
        )
        .await;
        (status, page).into_response()
    };
    if !session.csrf_ok(&form.csrf) {
        return refused(StatusCode::FORBIDDEN, lang.t("bad_form").into()).await;
    }
    let context = CommandContext {
        actor: session.user.actor(),
        correlation_id: meta.correlation_id,
        causation_id: Some(meta.request_id),
        ip: meta.ip.map(|ip| ip.to_string()),
        user_agent: meta.user_agent.clone(),
    };
    let target = TenantId::from_uuid(tenant.id);
    let outcome = match action.as_str() {
        "retry" => state.tenants.request_provisioning(target, &context).await,
        "suspend" => {
            let reason = form.reason.clone().filter(|r| !r.trim().is_empty());
            state.tenants.suspend(target, reason, &context).await
        }
        "reactivate" => state.tenants.reactivate(target, &context).await,
        "rotate" => {
            let grace = form.grace.as_deref().map(str::trim).unwrap_or("3600");
            let Some(secs) = grace.parse::<u64>().ok().filter(|s| *s <= 604_800) else {
                return refused(StatusCode::UNPROCESSABLE_ENTITY, lang.t("bad_grace").into()).await;
            };
            state
                .tenants
                .rotate_credentials(target, std::time::Duration::from_secs(secs), &context)
                .await
                .map(|(outcome, _)| outcome)
        }
        "delete" => {
            if form.confirm.as_deref().map(str::trim) != Some(tenant.slug.as_str()) {
                return refused(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    lang.t("delete_mismatch").into(),
                )
                .await;
            }
            state.tenants.request_deletion(target, None, &context).await
        }
        _ => return not_found(&session),
    };
    match outcome {
        Ok(_) => Redirect::to(&format!("/tenants/{}", tenant.id)).into_response(),
        Err(error) => {
            let (status, message) = refusal(error.into()).await;
            refused(status, message).await
        }
    }
}
