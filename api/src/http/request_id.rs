//! A request id and a span per HTTP request: every request gets an `x-request-id` (the client's,
//! when it sent one, else a new UUID v7), answered back in the response's `x-request-id`, and is
//! handled inside a `request` span with its method, matched route and id — so that every log line
//! written while handling it (JSON with `TENANTRY_LOG_FORMAT=json`) says which request it was.

use axum::Router;
use axum::extract::MatchedPath;
use axum::http::{Extensions, HeaderValue, Request};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;
use tracing::Span;
use uuid::Uuid;

/// New request ids: UUID v7, like the event ids, so they sort by time.
#[derive(Debug, Clone, Copy, Default)]
struct MakeRequestV7;

impl MakeRequestId for MakeRequestV7 {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&Uuid::now_v7().to_string())
            .ok()
            .map(RequestId::new)
    }
}

/// The id of the request with these extensions, as set by [`with_request_ids`].
pub(crate) fn of(extensions: &Extensions) -> Option<&str> {
    extensions
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
}

/// `router` with request ids and request spans around every route (and the fallback).
pub(super) fn with_request_ids<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    // Layers run from the last added: set the id, answer it back, then open the span.
    router
        .layer(TraceLayer::new_for_http().make_span_with(span))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestV7))
}

/// The request's span. At ERROR level so that it is on whenever any event is: with
/// `RUST_LOG=warn` the warnings still carry the request id.
fn span<B>(request: &Request<B>) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    tracing::error_span!(
        "request",
        method = %request.method(),
        route,
        request_id = of(request.extensions()).unwrap_or("-"),
    )
}
