//! The page shell (header, navigation, language switch, logout) and the login and logout
//! handlers.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use super::i18n::Lang;
use super::session::{self, Session, names, same, set_cookie};
use crate::http::AppState;

/// A whole page: `title`, the user's header when logged in, and `main`. `here` is the page's path
/// and query (the language switch comes back to it; the navigation marks its path).
pub(crate) fn page(
    lang: Lang,
    title: &str,
    session: Option<&Session>,
    here: &str,
    main: Markup,
) -> Markup {
    let t = |k| lang.t(k);
    let path = here.split(['?', '#']).next().unwrap_or(here);
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Tenantry" }
                link rel="stylesheet" href="/static/panel.css";
                script src="/static/panel.js" defer {}
            }
            body {
                a.skip href="#main" { (t("skip")) }
                header.top {
                    a.brand href="/" { "Tenantry" }
                    @if let Some(s) = session {
                        nav aria-label=(t("title")) {
                            a href="/overview" aria-current=[(path == "/overview").then_some("page")] { (t("overview")) }
                            a href="/" aria-current=[(path == "/").then_some("page")] { (t("tenants")) }
                            a href="/tenants/new" aria-current=[(path == "/tenants/new").then_some("page")] { (t("new_tenant")) }
                            a href="/audit" aria-current=[(path == "/audit").then_some("page")] { (t("audit")) }
                            a href="/migrations" aria-current=[(path == "/migrations").then_some("page")] { (t("migrations")) }
                        }
                        span.who { (s.user.email) }
                    }
                    span.langs aria-label=(t("language")) {
                        a href={ "/lang/pt-BR?next=" (session::encode(here)) } lang="pt-BR" aria-current=[(lang == Lang::PtBr).then_some("true")] { "PT" }
                        a href={ "/lang/en?next=" (session::encode(here)) } lang="en" aria-current=[(lang == Lang::En).then_some("true")] { "EN" }
                    }
                    @if let Some(s) = session {
                        form.logout method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(s.csrf);
                            button type="submit" { (t("logout")) }
                        }
                    }
                }
                main #main { (main) }
            }
        }
    }
}

/// A status badge (tenant, provisioning or step status).
pub(crate) fn badge(lang: Lang, status: &str) -> Markup {
    html! { span class={ "badge st-" (status) } data-status=(status) { (lang.status(status)) } }
}

/// The last 8 hex digits of an id (a UUID v7's first ones are its time: alike for ids made
/// together), for a column too narrow for the whole id.
pub(crate) fn short(id: &uuid::Uuid) -> String {
    let simple = id.simple().to_string();
    simple[simple.len() - 8..].to_owned()
}

/// A time as the panel shows it (UTC, to the second), in a `<time>` element.
pub(crate) fn when(at: DateTime<Utc>) -> Markup {
    html! { time datetime=(at.to_rfc3339()) { (at.format("%Y-%m-%d %H:%M:%S")) } }
}

#[derive(Deserialize)]
pub(crate) struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
}

fn login_form(lang: Lang, csrf: &str, next: &str, email: &str, message: Option<&str>) -> Markup {
    let t = |k| lang.t(k);
    page(
        lang,
        t("login"),
        None,
        &format!("/login?next={}", session::encode(next)),
        html! {
            section.card.narrow {
                h1 { (t("login_title")) }
                @if let Some(m) = message {
                    p.alert role="alert" #login-error { (m) }
                }
                form method="post" action="/login" #login-form {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="next" value=(next);
                    label for="email" { (t("email")) }
                    input #email type="email" name="email" value=(email) autocomplete="username" required autofocus;
                    label for="password" { (t("password")) }
                    input #password type="password" name="password" autocomplete="current-password" required;
                    button type="submit" { (t("login")) }
                }
            }
        },
    )
}

/// `GET /login`: the form, with a fresh login CSRF cookie.
pub(crate) async fn login_page(
    lang: Lang,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Response {
    let secure = !session::is_local(&headers);
    let csrf = session::random_token();
    let next = session::safe_next(query.next.as_deref());
    let message = query.expired.is_some().then(|| lang.t("session_expired"));
    (
        [(
            header::SET_COOKIE,
            set_cookie(names(secure).login_csrf, &csrf, Some(3600), secure),
        )],
        login_form(lang, &csrf, &next, "", message),
    )
        .into_response()
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    csrf: String,
    email: String,
    password: String,
    next: Option<String>,
}

/// `POST /login`: the credentials, through the same checks (and rate limits) as the API's login.
pub(crate) async fn login(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    meta: crate::http::extract::RequestMeta,
    Form(form): Form<LoginForm>,
) -> Response {
    let secure = !session::is_local(&headers);
    let names = names(secure);
    let next = session::safe_next(form.next.as_deref());
    let expected = session::cookie(&headers, names.login_csrf);
    if !expected.is_some_and(|e| same(&e, &form.csrf)) {
        let csrf = session::random_token();
        return (
            StatusCode::FORBIDDEN,
            [(
                header::SET_COOKIE,
                set_cookie(names.login_csrf, &csrf, Some(3600), secure),
            )],
            login_form(lang, &csrf, &next, &form.email, Some(lang.t("bad_form"))),
        )
            .into_response();
    }
    match state.auth.login(&form.email, &form.password, meta.ip).await {
        Ok(issued) => {
            let max_age = (issued.expires_at - Utc::now()).num_seconds().max(1);
            let mut response = Redirect::to(&next).into_response();
            let cookies = response.headers_mut();
            for value in [
                set_cookie(names.session, &issued.token, Some(max_age), secure),
                set_cookie(names.login_csrf, "", None, secure),
            ] {
                if let Ok(value) = value.parse() {
                    cookies.append(header::SET_COOKIE, value);
                }
            }
            response
        }
        Err(error) => {
            let (status, message) = super::refusal(error).await;
            (
                status,
                login_form(lang, &form.csrf, &next, &form.email, Some(&message)),
            )
                .into_response()
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    csrf: String,
}

/// `POST /logout`: revokes the session's token and drops the cookie.
pub(crate) async fn logout(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !session.csrf_ok(&form.csrf) {
        return (StatusCode::FORBIDDEN, session.lang.t("bad_form")).into_response();
    }
    if let Err(error) = state.auth.revoke(&session.user).await {
        let (status, message) = super::refusal(error).await;
        return (status, message).into_response();
    }
    let secure = !session::is_local(&headers);
    (
        [(
            header::SET_COOKIE,
            set_cookie(names(secure).session, "", None, secure),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}
