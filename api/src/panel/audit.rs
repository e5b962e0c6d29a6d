//! The audit page (`/audit`): the audit-log read model filtered by tenant, actor, event type, time
//! range and request (correlation id), newest first, in keyset pages; and one request's events as
//! seen from a tenant (`/tenants/{id}/requests/{correlation}`). Both read through the API's own
//! audit query ([`audit::list`]); the filters are a GET form, so a filtered page is a link.

use std::collections::HashMap;

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use tenantry_domain::TenantId;
use tenantry_domain::kernel::registry::all_event_types;
use tenantry_projections::queries::QueryError;
use tenantry_projections::queries::audit::{self, AuditFilter, AuditItem, AuditOrder};
use tenantry_projections::queries::tenants;
use uuid::Uuid;

use super::layout::{page, short, when};
use super::session::{Session, encode_value as encode};
use super::{Lang, refusal};
use crate::http::AppState;

/// Entries per page unless `limit` says otherwise.
const PAGE: u32 = 50;
/// The largest `limit` the page takes.
const MAX_PAGE: u32 = 200;
/// The most events one request's page lists (the rest: in the audit page).
const REQUEST_EVENTS: u32 = 200;

/// The page's query: every filter as typed (so that a wrong one is shown, not a bare 400).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuditQuery {
    tenant: Option<String>,
    actor: Option<String>,
    event_type: Option<String>,
    from: Option<String>,
    to: Option<String>,
    correlation: Option<String>,
    limit: Option<String>,
    after: Option<String>,
}

/// A filter's value, trimmed, when there is one.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl AuditQuery {
    /// The filters (not the page's position) as a query string, for the pages' links.
    fn filters_query(&self) -> String {
        [
            ("tenant", &self.tenant),
            ("actor", &self.actor),
            ("event_type", &self.event_type),
            ("from", &self.from),
            ("to", &self.to),
            ("correlation", &self.correlation),
            ("limit", &self.limit),
        ]
        .into_iter()
        .filter_map(|(name, value)| given(value).map(|v| format!("{name}={}", encode(v))))
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// A time as typed in a `datetime-local` field (UTC), or as RFC 3339, or a bare date.
pub(crate) fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Some(at.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(at) = NaiveDateTime::parse_from_str(raw, format) {
            return Some(at.and_utc());
        }
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|at| at.and_utc())
}

/// A time as a `datetime-local` field's value (UTC, to the second).
pub(crate) fn local_value(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// The filter the query asks for, or what is wrong with it (one message per field, naming it).
async fn filter_of(
    state: &AppState,
    lang: Lang,
    query: &AuditQuery,
) -> Result<AuditFilter, Vec<String>> {
    let mut errors = Vec::new();
    let mut wrong = |field: &str, why: &str| errors.push(format!("{field}: {why}"));
    let tenant = match given(&query.tenant) {
        None => None,
        Some(raw) => match tenants::resolve(&state.pool, raw).await {
            Ok(Some(id)) => Some(id),
            Ok(None) => {
                wrong("tenant", lang.t("unknown_tenant"));
                None
            }
            Err(e) => {
                wrong("tenant", &refusal(e.into()).await.1);
                None
            }
        },
    };
    let event_type = given(&query.event_type).map(str::to_owned);
    if let Some(t) = &event_type
        && !all_event_types().any(|known| known == t)
    {
        wrong("event_type", lang.t("bad_event_type"));
    }
    let mut time = |field: &str, value: &Option<String>| match given(value) {
        None => None,
        Some(raw) => {
            let parsed = parse_time(raw);
            if parsed.is_none() {
                wrong(field, lang.t("bad_time"));
            }
            parsed
        }
    };
    let from = time("from", &query.from);
    let to = time("to", &query.to);
    let correlation_id = match given(&query.correlation) {
        None => None,
        Some(raw) => {
            let parsed = Uuid::parse_str(raw).ok();
            if parsed.is_none() {
                wrong("correlation", lang.t("bad_uuid"));
            }
            parsed
        }
    };
    let limit = match given(&query.limit) {
        None => PAGE,
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                wrong("limit", lang.t("bad_limit"));
                PAGE
            }
        },
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(AuditFilter {
        tenant,
        actor: given(&query.actor).map(str::to_owned),
        event_type,
        correlation_id,
        from,
        to,
        after: given(&query.after).map(str::to_owned),
        limit: Some(limit),
        order: AuditOrder::Desc,
    })
}

/// The name and slug of the tenants `items` are about.
async fn names_of(state: &AppState, items: &[AuditItem]) -> HashMap<Uuid, (String, String)> {
    let mut ids: Vec<Uuid> = items.iter().filter_map(|i| i.tenant_id).collect();
    ids.sort_unstable();
    ids.dedup();
    tenants::names(&state.pool, &ids).await.unwrap_or_default()
}

/// The entries, as a table: when, event (its payload one click away), tenant (a link to its
/// page), actor, stream and version (a tenant's: a link to its state at that version), position
/// and, with `request_links`, a link to the other events of the entry's request.
pub(crate) fn entries(
    lang: Lang,
    items: &[AuditItem],
    names: &HashMap<Uuid, (String, String)>,
    request_links: bool,
) -> Markup {
    let t = |k| lang.t(k);
    html! {
        div.table-wrap {
            table #audit-entries {
                thead { tr {
                    th scope="col" { (t("when")) }
                    th scope="col" { (t("event")) }
                    th scope="col" { (t("tenant")) }
                    th scope="col" { (t("actor")) }
                    th scope="col" { (t("stream")) }
                    th scope="col" { (t("position")) }
                    @if request_links { th scope="col" { (t("request")) } }
                } }
                tbody {
                    @for item in items {
                        tr data-position=(item.position) data-event-type=(item.event_type)
                            data-correlation=(item.correlation_id) data-actor=(item.actor)
                            data-tenant=[item.tenant_id] {
                            td { (when(item.recorded_at)) }
                            td { details { summary { code { (item.event_type) } }
                                pre { (serde_json::to_string_pretty(&item.payload).unwrap_or_default()) } } }
                            td {
                                @match item.tenant_id {
                                    Some(id) => {
                                        a.tenant-link href={ "/tenants/" (id) } {
                                            @match names.get(&id) {
                                                Some((name, slug)) => { (name) " " code { (slug) } },
                                                None => { code { (short(&id)) } },
                                            }
                                        }
                                    },
                                    None => { span.none { "—" } },
                                }
                            }
                            td { (item.actor) }
                            td {
                                @match TenantId::from_stream_id(&item.stream_id) {
                                    Some(tenant) => {
                                        a.state-link href={ "/tenants/" (tenant) "?at=" (item.stream_version) "#state" }
                                            title={ (t("state_at_link")) " " (item.stream_version) } {
                                            code { "tenant@" (item.stream_version) }
                                        }
                                    },
                                    None => { code { (item.stream_id) "@" (item.stream_version) } },
                                }
                            }
                            td { (item.position) }
                            @if request_links {
                                td {
                                    a.request-link href={ "/audit?correlation=" (item.correlation_id) }
                                        title=(item.correlation_id) {
                                        (t("request_events")) " " code.short { (short(&item.correlation_id)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The filters' form.
fn filters_form(lang: Lang, query: &AuditQuery) -> Markup {
    let t = |k| lang.t(k);
    let mut types: Vec<&str> = all_event_types().collect();
    types.sort_unstable();
    let type_now = given(&query.event_type).unwrap_or("");
    // A time typed in any form we read shows in the field's own (UTC) form, so that submitting
    // the form again keeps it.
    let time_value = |value: &Option<String>| {
        given(value).map(|raw| parse_time(raw).map_or_else(|| raw.to_owned(), local_value))
    };
    html! {
        form.filters.audit-filters #audit-filters method="get" action="/audit" role="search" {
            div {
                label for="f-tenant" { (t("f_tenant")) }
                input #f-tenant name="tenant" value=[given(&query.tenant)] autocomplete="off";
            }
            div {
                label for="f-actor" { (t("actor")) }
                input #f-actor name="actor" value=[given(&query.actor)] aria-describedby="f-actor-hint" autocomplete="off";
                p.hint #f-actor-hint { (t("f_actor_hint")) }
            }
            div {
                label for="f-event-type" { (t("f_event_type")) }
                select #f-event-type name="event_type" {
                    option value="" { (t("any")) }
                    @for name in types {
                        option value=(name) selected[type_now == name] { (name) }
                    }
                }
            }
            div {
                label for="f-from" { (t("f_from")) }
                input #f-from type="datetime-local" step="1" name="from" value=[time_value(&query.from)];
            }
            div {
                label for="f-to" { (t("f_to")) }
                input #f-to type="datetime-local" step="1" name="to" value=[time_value(&query.to)];
            }
            div {
                label for="f-correlation" { (t("f_correlation")) }
                input #f-correlation name="correlation" value=[given(&query.correlation)] autocomplete="off" spellcheck="false";
            }
            div {
                label for="f-limit" { (t("per_page")) }
                input #f-limit type="number" min="1" max=(MAX_PAGE) name="limit" value=(given(&query.limit).unwrap_or("50"));
            }
            div.buttons {
                button type="submit" { (t("filter")) }
                a href="/audit" { (t("clear_filters")) }
            }
        }
    }
}

/// `GET /audit?tenant=&actor=&event_type=&from=&to=&correlation=&limit=&after=`.
pub(crate) async fn list(
    State(state): State<AppState>,
    session: Session,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<AuditQuery>,
) -> Response {
    let lang = session.lang;
    let t = |k| lang.t(k);
    let here = uri
        .path_and_query()
        .map_or("/audit".to_owned(), |p| p.to_string());
    let filters = query.filters_query();
    let (status, listing) = match filter_of(&state, lang, &query).await {
        Err(errors) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            html! {
                div.alert role="alert" #audit-error { ul { @for e in &errors { li { (e) } } } }
            },
        ),
        Ok(filter) => match audit::list(&state.pool, &filter).await {
            Err(QueryError::InvalidCursor) => (
                StatusCode::BAD_REQUEST,
                html! { p.alert role="alert" #audit-error { "after: " (t("bad_cursor")) } },
            ),
            Err(e) => {
                let (status, message) = refusal(e.into()).await;
                (
                    status,
                    html! { p.alert role="alert" #audit-error { (message) } },
                )
            }
            Ok(found) => {
                let names = names_of(&state, &found.items).await;
                let join = if filters.is_empty() { "" } else { "&" };
                (
                    StatusCode::OK,
                    html! {
                        @if found.items.is_empty() {
                            p #no-entries { (t("no_entries")) }
                        } @else {
                            (entries(lang, &found.items, &names, true))
                        }
                        nav.pages aria-label="pages" {
                            @if filter.after.is_some() {
                                a #first-page href={ "/audit?" (filters) } { (t("newest_page")) }
                            }
                            @if let Some(next) = &found.next {
                                a #next-page href={ "/audit?" (filters) (join) "after=" (encode(next)) } { (t("older_page")) }
                            }
                        }
                    },
                )
            }
        },
    };
    let body = html! {
        h1 { (t("audit_title")) }
        p.hint { (t("audit_intro")) }
        (filters_form(lang, &query))
        (listing)
    };
    (
        status,
        page(lang, t("audit_title"), Some(&session), &here, body),
    )
        .into_response()
}

/// `GET /tenants/{id}/requests/{correlation}`: the events of one request, oldest first, from the
/// tenant's page (its history links here).
pub(crate) async fn request(
    State(state): State<AppState>,
    session: Session,
    Path((id, correlation)): Path<(String, String)>,
) -> Response {
    let lang = session.lang;
    let t = |k| lang.t(k);
    let tenant = match super::tenant::find(&state, &id).await {
        Ok(Some(tenant)) => tenant,
        Ok(None) => return super::tenant::not_found(&session),
        Err(e) => return refusal(e).await.into_response(),
    };
    let Ok(correlation) = Uuid::parse_str(correlation.trim()) else {
        return super::tenant::not_found(&session);
    };
    let filter = AuditFilter {
        correlation_id: Some(correlation),
        limit: Some(REQUEST_EVENTS),
        order: AuditOrder::Asc,
        ..AuditFilter::default()
    };
    let found = match audit::list(&state.pool, &filter).await {
        Ok(found) => found,
        Err(e) => return refusal(e.into()).await.into_response(),
    };
    let names = names_of(&state, &found.items).await;
    let tenant_page = format!("/tenants/{}", tenant.id);
    let here = format!("{tenant_page}/requests/{correlation}");
    let body = html! {
        p.crumbs { a #back-to-tenant href=(tenant_page) { "← " (t("back_to_tenant")) " " (tenant.name) } }
        h1 { (t("request_title")) }
        section.card aria-labelledby="h-request" {
            h2 #h-request { (t("request")) " " code #request-correlation { (correlation) } }
            p.hint { (t("request_intro")) }
            @if found.items.is_empty() {
                p #no-entries { (t("no_entries")) }
            } @else {
                (entries(lang, &found.items, &names, false))
            }
            p { a #request-in-audit href={ "/audit?correlation=" (correlation) } { (t("in_audit")) } }
        }
    };
    page(lang, t("request_title"), Some(&session), &here, body).into_response()
}
