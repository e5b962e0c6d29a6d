//! `Idempotency-Key` on the commands (POST and PATCH), after the IETF draft and Stripe: the first
//! answer to a key is kept and replayed (with `Idempotent-Replayed: true`) to every retry with the
//! same key, so that a client that lost an answer can retry without creating a second tenant.
//!
//! - A key is the caller's: it is looked up after authentication, per staff member and per
//!   method + path. An unauthenticated request passes through untouched (and gets its 401); it
//!   neither uses nor takes a key, so a 401 is never replayed after the client logs in again.
//! - The same key with another body → 422 `idempotency_key_reused`; while the first request with
//!   the key is still running → 409 `idempotency_key_in_progress`.
//! - Only answers of commands that ran are kept: 2xx, and 4xx the domain decided (marked by
//!   [`DomainDecision`]). Malformed requests, 5xx and the like let the key go, so a retry runs.
//! - Nothing secret is kept: a handler whose answer holds a secret shown once gives the body to
//!   replay instead ([`ReplayBody`]); the login is not behind this layer at all.
//!
//! Expired keys are swept by a background task (`tenantry_infrastructure::idempotency::sweeper`).

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{FromRequestParts, OriginalUri, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tenantry_infrastructure::idempotency::{Claim, ClaimId, IdempotencyKey, StoredResponse};
use tracing::Instrument;

use super::auth::StaffUser;
use super::error::DomainDecision;
use super::{ApiError, AppState, MAX_REQUEST_BODY};

const HEADER: &str = "idempotency-key";
/// Largest response body kept for replays.
const MAX_RESPONSE_BODY: usize = 1 << 20;
/// The response headers worth keeping.
const KEPT_HEADERS: [&str; 2] = ["content-type", "location"];

/// The body a replay answers instead of the response's own, for an answer that holds a secret
/// shown once (e.g. an invitation token): the replay says the rest, the secret is not kept.
#[derive(Debug, Clone)]
pub(crate) struct ReplayBody(Bytes);

impl ReplayBody {
    /// `response` replays as `replayed`, serialized as JSON.
    pub(crate) fn attach(
        mut response: Response,
        replayed: &impl Serialize,
    ) -> Result<Response, ApiError> {
        let body = serde_json::to_vec(replayed)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("failed to serialize: {e}")))?;
        response.extensions_mut().insert(Self(body.into()));
        Ok(response)
    }
}

pub(super) async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match handle(&state, request, next).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn handle(state: &AppState, request: Request, next: Next) -> Result<Response, ApiError> {
    if !matches!(*request.method(), Method::POST | Method::PATCH) {
        return Ok(next.run(request).await);
    }
    let Some(raw_key) = request.headers().get(HEADER).cloned() else {
        return Ok(next.run(request).await);
    };
    let (mut parts, body) = request.into_parts();
    // The handler's own `StaffUser` finds the user this leaves in the extensions.
    let Ok(staff) = StaffUser::from_request_parts(&mut parts, state).await else {
        return Ok(next.run(Request::from_parts(parts, body)).await);
    };
    // The whole path: inside a nested router, `parts.uri` has lost its prefix.
    let path = parts
        .extensions
        .get::<OriginalUri>()
        .map_or_else(|| parts.uri.path(), |uri| uri.path());
    let key = IdempotencyKey {
        caller: format!("staff:{}", staff.id),
        scope: format!("{} {path}", parts.method),
        key: key_text(&raw_key)?,
    };
    let body = to_bytes(body, MAX_REQUEST_BODY)
        .await
        .map_err(|_| ApiError::PayloadTooLarge("the request body is too large".into()))?;
    let claim = match state.idempotency.claim(&key, &body).await? {
        Claim::Won(claim) => claim,
        Claim::InFlight { same_body: false }
        | Claim::Done {
            same_body: false, ..
        } => return Err(reused()),
        Claim::InFlight { same_body: true } => {
            return Err(ApiError::conflict(
                "idempotency_key_in_progress",
                "a request with this Idempotency-Key is still running; retry later",
            ));
        }
        Claim::Done { response, .. } => return Ok(stored_response(&response)),
    };
    // Run to the end even when the client goes away meanwhile: the answer it did not get is what
    // its retry will be replayed.
    let run = run_and_keep(
        state.clone(),
        key,
        claim,
        Request::from_parts(parts, Body::from(body)),
        next,
    );
    tokio::spawn(run.in_current_span())
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("an idempotent request failed: {e}")))
}

fn reused() -> ApiError {
    ApiError::unprocessable(
        "idempotency_key_reused",
        "this Idempotency-Key was used with another request body",
        "Idempotency-Key",
    )
}

/// Runs the request that claimed `key`, then keeps its answer or lets the key go. A failure to
/// do either is logged, not answered: the command's own answer is the truth (the key stays
/// claimed until its lease runs out).
async fn run_and_keep(
    state: AppState,
    key: IdempotencyKey,
    claim: ClaimId,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    if !kept(&response) {
        if let Err(error) = state.idempotency.release(&key, claim).await {
            tracing::warn!(
                error = format!("{error:#}"),
                "failed to release an idempotency key"
            );
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    let body = match to_bytes(body, MAX_RESPONSE_BODY).await {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(%error, "failed to buffer a response");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let replayed = parts
        .extensions
        .get::<ReplayBody>()
        .map_or_else(|| body.clone(), |r| r.0.clone());
    let stored = StoredResponse {
        status: parts.status.as_u16(),
        headers: KEPT_HEADERS
            .iter()
            .filter_map(|name| {
                let value = parts.headers.get(*name)?.to_str().ok()?;
                Some(((*name).to_owned(), value.to_owned()))
            })
            .collect(),
        body: replayed.to_vec(),
    };
    match state.idempotency.complete(&key, claim, &stored).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            "an idempotent request outlived its lease and was taken over; its answer is not kept"
        ),
        Err(error) => tracing::warn!(
            error = format!("{error:#}"),
            "failed to keep an idempotent answer"
        ),
    }
    Response::from_parts(parts, Body::from(body))
}

/// Whether an answer is kept for retries: what the command did (2xx) or what the domain decided
/// (a 4xx it refused with). Not malformed input, not 5xx: the retry may well succeed.
fn kept(response: &Response) -> bool {
    let status = response.status();
    status.is_success()
        || (status.is_client_error() && response.extensions().get::<DomainDecision>().is_some())
}

fn key_text(value: &HeaderValue) -> Result<String, ApiError> {
    value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255 && !k.bytes().any(|b| b.is_ascii_control()))
        .map(str::to_owned)
        .ok_or_else(|| ApiError::BadRequest {
            code: "invalid_idempotency_key",
            message: "Idempotency-Key must be 1 to 255 visible ASCII characters".into(),
            field: Some("Idempotency-Key".into()),
        })
}

fn stored_response(stored: &StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body.clone()).into_response();
    for (name, value) in &stored.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response.headers_mut().insert(
        HeaderName::from_static("idempotent-replayed"),
        HeaderValue::from_static("true"),
    );
    response
}
