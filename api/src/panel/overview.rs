//! The overview page (`/overview`): tenants by status (the tenant panel's counts, each a link to
//! the table filtered by it), the provisioning failures of the last 24 hours (from the audit log:
//! the attempts that ended rolled back, each with its tenant now), and a plain note that the
//! cross-tenant KPIs come with Analytics, which is not built yet.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use maud::{Markup, html};
use tenantry_projections::queries::audit::{self, AuditFilter, AuditOrder};
use tenantry_projections::queries::tenants::{self, TenantView};
use uuid::Uuid;

use super::audit::local_value;
use super::layout::{badge, page, when};
use super::session::{Session, encode_value as encode};
use super::{Lang, refusal};
use crate::http::AppState;

/// The event that ends a failed provisioning attempt (the tenant is `failed`, nothing left).
const ROLLED_BACK: &str = "ProvisioningRolledBack";
/// A failed try of one step (retried, or the last before the rollback).
const STEP_FAILED: &str = "ProvisioningStepFailed";
/// How many of the last 24 hours' failures the page lists (the rest: in the audit page).
const FAILURES: u32 = 20;

fn counts_part(lang: Lang, counts: &[(String, i64)]) -> Markup {
    let t = |k| lang.t(k);
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    html! {
        section.card aria-labelledby="h-by-status" {
            h2 #h-by-status { (t("by_status")) }
            div.table-wrap.counts {
                table #status-counts {
                    thead { tr { th scope="col" { (t("status")) } th scope="col" { (t("tenants")) } } }
                    tbody {
                        @for (status, count) in counts {
                            tr data-status=(status) {
                                th scope="row" { a href={ "/?status=" (encode(status)) } { (badge(lang, status)) } }
                                td.count data-count=(count) { (count) }
                            }
                        }
                    }
                    tfoot { tr { th scope="row" { (t("total")) } td.count #status-total { (total) } } }
                }
            }
        }
    }
}

/// The failed step's error, when the tenant's last attempt is the one that failed.
fn failed_step(view: &TenantView, attempt: u64) -> Option<(&str, &str)> {
    if u64::from(view.provisioning.attempt) != attempt {
        return None;
    }
    view.provisioning
        .steps
        .iter()
        .find_map(|s| s.last_error.as_deref().map(|e| (s.name.as_str(), e)))
}

/// `GET /overview`.
pub(crate) async fn show(State(state): State<AppState>, session: Session) -> Response {
    let lang = session.lang;
    let t = |k| lang.t(k);
    let error = |message: String| {
        page(
            lang,
            t("page_error"),
            Some(&session),
            "/overview",
            html! { p.alert role="alert" { (message) } },
        )
        .into_response()
    };
    let counts = match tenants::count_by_status(&state.pool).await {
        Ok(counts) => counts,
        Err(e) => return error(refusal(e.into()).await.1),
    };
    let since = Utc::now() - Duration::hours(24);
    let filter = AuditFilter {
        event_type: Some(ROLLED_BACK.into()),
        from: Some(since),
        limit: Some(FAILURES),
        order: AuditOrder::Desc,
        ..AuditFilter::default()
    };
    let failures = match audit::list(&state.pool, &filter).await {
        Ok(found) => found,
        Err(e) => return error(refusal(e.into()).await.1),
    };
    let mut views: HashMap<Uuid, TenantView> = HashMap::new();
    for id in failures.items.iter().filter_map(|i| i.tenant_id) {
        if !views.contains_key(&id)
            && let Ok(Some(view)) = tenants::get(&state.pool, id).await
        {
            views.insert(id, view);
        }
    }
    let from = encode(&local_value(since));
    let body = html! {
        h1 { (t("overview")) }
        (counts_part(lang, &counts))
        section.card aria-labelledby="h-failures" {
            h2 #h-failures { (t("failures_24h")) }
            p.hint { (t("failures_intro")) }
            @if failures.items.is_empty() {
                p #no-failures { (t("no_failures")) }
            } @else {
                div.table-wrap {
                    table #failures {
                        thead { tr {
                            th scope="col" { (t("failed_at")) }
                            th scope="col" { (t("tenant")) }
                            th scope="col" { (t("attempt")) }
                            th scope="col" { (t("error")) }
                            th scope="col" { (t("status_now")) }
                            th scope="col" { (t("request")) }
                        } }
                        tbody {
                            @for item in &failures.items {
                                @let attempt = item.payload["attempt"].as_u64().unwrap_or(0);
                                @let view = item.tenant_id.and_then(|id| views.get(&id));
                                tr data-tenant=[item.tenant_id] {
                                    td { (when(item.recorded_at)) }
                                    td { @match (item.tenant_id, view) {
                                        (Some(id), Some(v)) => { a.tenant-link href={ "/tenants/" (id) } { (v.name) " " code { (v.slug) } } },
                                        (Some(id), None) => { a.tenant-link href={ "/tenants/" (id) } { code { (id) } } },
                                        (None, _) => { "—" },
                                    } }
                                    td { (attempt) }
                                    td.error { @if let Some((step, e)) = view.and_then(|v| failed_step(v, attempt)) { code { (step) } ": " (e) } }
                                    td { @if let Some(v) = view { (badge(lang, v.status.as_str())) } }
                                    td { a.request-link href={ "/audit?correlation=" (item.correlation_id) } title=(item.correlation_id) {
                                        (t("request_events")) } }
                                }
                            }
                        }
                    }
                }
            }
            ul.links {
                li { a #failures-in-audit href={ "/audit?event_type=" (ROLLED_BACK) "&from=" (from) } { (t("failures_all")) } }
                li { a #step-failures-in-audit href={ "/audit?event_type=" (STEP_FAILED) "&from=" (from) } { (t("step_failures_link")) } }
            }
        }
        section.card aria-labelledby="h-kpis" {
            h2 #h-kpis { (t("kpis")) }
            p #kpis-note { (t("kpis_note")) }
        }
    };
    page(lang, t("overview"), Some(&session), "/overview", body).into_response()
}
