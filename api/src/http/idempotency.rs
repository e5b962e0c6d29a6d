//! `Idempotency-Key` on POST: the first response to a key is kept and replayed (with
//! `Idempotent-Replayed: true`) to every retry with the same key, so a client that lost an answer
//! can retry without creating a second tenant. A retry that arrives while the first request is
//! still running waits for it (a few seconds, then 409). Reusing a key with another body is
//! refused (422). A first request that fails with a 5xx lets the key go, so the retry runs again.

use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tenantry_infrastructure::idempotency::{Claimed, StoredResponse};

use super::{ApiError, AppState};

const HEADER: &str = "idempotency-key";
/// Largest body (request or response) the middleware buffers.
const MAX_BODY: usize = 1 << 20;
const WAIT_FOR_FIRST: Duration = Duration::from_secs(5);
/// The response headers worth keeping.
const KEPT_HEADERS: [&str; 2] = ["content-type", "location"];

pub(super) async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match handle(&state, request, next).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn handle(state: &AppState, request: Request, next: Next) -> Result<Response, ApiError> {
    let key = match request.headers().get(HEADER) {
        Some(key) if request.method() == Method::POST => key_text(key)?,
        _ => return Ok(next.run(request).await),
    };
    let scope = format!("{} {}", request.method(), request.uri().path());
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| ApiError::PayloadTooLarge("the request body is too large".into()))?;
    let store = &state.idempotency;

    while let Some(claimed) = store.claim(&scope, &key, &body).await? {
        if let Some(response) = replay(state, &scope, &key, &body, claimed).await? {
            return Ok(response);
        }
        // The first request failed and let the key go: claim it again and run this one.
    }
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    if response.status().is_server_error() {
        store.release(&scope, &key).await?;
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let body = to_bytes(body, MAX_BODY)
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("failed to buffer a response: {e}")))?;
    let stored = StoredResponse {
        status: parts.status.as_u16(),
        headers: KEPT_HEADERS
            .iter()
            .filter_map(|name| {
                let value = parts.headers.get(*name)?.to_str().ok()?;
                Some(((*name).to_owned(), value.to_owned()))
            })
            .collect(),
        body: body.to_vec(),
    };
    store.complete(&scope, &key, &stored).await?;
    Ok(Response::from_parts(parts, Body::from(body)))
}

fn key_text(value: &HeaderValue) -> Result<String, ApiError> {
    value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::BadRequest {
            code: "invalid_idempotency_key",
            message: "Idempotency-Key must be 1 to 255 visible ASCII characters".into(),
            field: Some("Idempotency-Key".into()),
        })
}

/// Answers a request whose key was claimed before: the kept response, once there is one.
/// `None`: the key is free again.
async fn replay(
    state: &AppState,
    scope: &str,
    key: &str,
    body: &[u8],
    mut claimed: Claimed,
) -> Result<Option<Response>, ApiError> {
    let deadline = tokio::time::Instant::now() + WAIT_FOR_FIRST;
    loop {
        let (first_body, response) = match &claimed {
            Claimed::InProgress { request_body } => (request_body, None),
            Claimed::Done {
                request_body,
                response,
            } => (request_body, Some(response)),
        };
        if first_body.as_slice() != body {
            return Err(ApiError::unprocessable(
                "idempotency_key_reused",
                "this Idempotency-Key was used with another request body",
                "Idempotency-Key",
            ));
        }
        if let Some(response) = response {
            return Ok(Some(stored_response(response)));
        }
        if tokio::time::Instant::now() > deadline {
            return Err(ApiError::conflict(
                "request_in_progress",
                "a request with this Idempotency-Key is still running; retry later",
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        claimed = match state.idempotency.get(scope, key).await? {
            Some(claimed) => claimed,
            None => return Ok(None),
        };
    }
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
