//! The migrations page (`/migrations`): the fleet migration's progress, as
//! `GET /platform/api/migrations` answers it (one computation for both) — the target version,
//! tenants per version, how many are behind, and the latest run (`tenantry migrations
//! apply|resume|pause`) with its counts and last error. While a run is under way the page reloads
//! itself every 5 seconds (a `refresh` meta element: no script).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::layout::{badge, page, when};
use super::session::Session;
use super::{Lang, refusal};
use crate::http::AppState;
use crate::http::migrations::{FleetProgress, RunView, fleet_progress};

/// `GET /migrations`.
pub(crate) async fn show(State(state): State<AppState>, session: Session) -> Response {
    let lang = session.lang;
    let t = |k| lang.t(k);
    let body = match fleet_progress(&state).await {
        Ok(progress) => content(lang, &progress),
        Err(e) => html! { p.alert role="alert" { (refusal(e).await.1) } },
    };
    page(lang, t("migrations"), Some(&session), "/migrations", body).into_response()
}

fn content(lang: Lang, progress: &FleetProgress) -> Markup {
    let t = |k| lang.t(k);
    let running = progress
        .latest_run
        .as_ref()
        .is_some_and(|run| run.status == "running");
    html! {
        @if running { meta http-equiv="refresh" content="5"; }
        h1 { (t("migrations")) }
        section.card aria-labelledby="h-fleet" {
            h2 #h-fleet { (t("fleet")) }
            dl.overview {
                dt { (t("target_version")) } dd #fleet-target { code { (progress.target_version) } }
                dt { (t("tenants")) } dd #fleet-tenants { (progress.tenants) }
                dt { (t("behind")) } dd #fleet-behind { (progress.behind) }
                @if progress.unknown > 0 {
                    dt { (t("version_unknown")) } dd #fleet-unknown { (progress.unknown) }
                }
            }
            @if progress.by_version.is_empty() {
                p.hint { (t("no_fleet")) }
            } @else {
                div.table-wrap {
                    table #fleet-versions {
                        thead { tr {
                            th scope="col" { (t("version")) }
                            th scope="col" { (t("tenants")) }
                            th scope="col" { (t("status")) }
                        } }
                        tbody {
                            @for count in &progress.by_version {
                                tr {
                                    td { @match count.version { Some(v) => { code { (v) } }, None => { "—" } } }
                                    td.count { (count.tenants) }
                                    td { @if count.up_to_date { (badge(lang, "completed")) } @else { (badge(lang, "pending")) } }
                                }
                            }
                        }
                    }
                }
            }
            p.hint { (t("fleet_hint")) }
        }
        section.card aria-labelledby="h-run" {
            h2 #h-run { (t("latest_run")) }
            @match &progress.latest_run {
                None => { p #run-none { (t("no_run")) } },
                Some(run) => { (run_part(lang, run)) },
            }
        }
    }
}

fn run_part(lang: Lang, run: &RunView) -> Markup {
    let t = |k| lang.t(k);
    let done = run.migrated + run.failed;
    html! {
        dl.overview #run {
            dt { (t("run")) } dd #run-id { (run.id) " " (badge(lang, &run.status)) }
            dt { (t("target_version")) } dd { code { (run.target_version) } }
            dt { (t("progress")) } dd #run-progress {
                progress max=(run.total.max(1)) value=(done.min(run.total)) {}
                " " (run.migrated) " " (t("migrated")) " · " (run.failed) " " (t("failed_count"))
                " · " (run.total) " " (t("total_count"))
            }
            dt { (t("started")) } dd { (when(run.started_at)) }
            dt { (t("updated")) } dd { (when(run.updated_at)) }
            @if let Some(at) = run.finished_at { dt { (t("finished")) } dd { (when(at)) } }
            @if let Some(error) = &run.last_error { dt { (t("last_error")) } dd.error #run-error { (error) } }
        }
    }
}
