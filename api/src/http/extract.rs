//! Request extractors that answer bad input in the API's error shape: [`ApiJson`] (JSON bodies:
//! malformed, wrong types, unknown fields → 400 naming the field; too large → 413) and
//! [`RequestMeta`] (where a request came from, for the events' metadata).

use std::net::{IpAddr, SocketAddr};

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::ApiError;

/// A JSON body, refused in the API's error shape.
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_error(rejection)),
        }
    }
}

fn json_error(rejection: JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge("the request body is too large".into());
    }
    match rejection {
        JsonRejection::JsonDataError(e) => {
            // axum's text: "Failed to deserialize the JSON body into the target type: PATH: WHY".
            let text = e.body_text();
            let detail = text
                .split_once("target type: ")
                .map_or(text.as_str(), |(_, d)| d);
            let (field, why) = match detail.split_once(": ") {
                Some((path, why)) if !path.contains(' ') && path != "." => {
                    (Some(path.to_owned()), why)
                }
                _ => (None, detail),
            };
            ApiError::BadRequest {
                code: "invalid_body",
                message: why.to_owned(),
                field,
            }
        }
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(
            "malformed_json",
            e.body_text()
                .replace("Failed to parse the request body as JSON: ", ""),
        ),
        JsonRejection::MissingJsonContentType(_) => ApiError::bad_request(
            "missing_content_type",
            "expected a body with `Content-Type: application/json`",
        ),
        other => ApiError::bad_request("invalid_body", other.body_text()),
    }
}

/// Query parameters, refused in the API's error shape (400 naming the parameter).
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::try_from_uri(&parts.uri) {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => {
                let text = rejection.body_text();
                let detail = text
                    .split_once("query string: ")
                    .map_or(text.as_str(), |(_, d)| d);
                let (field, why) = match detail.split_once(": ") {
                    Some((name, why)) if !name.contains(' ') => (Some(name.to_owned()), why),
                    _ => (None, detail),
                };
                Err(ApiError::BadRequest {
                    code: "invalid_query",
                    message: why.to_owned(),
                    field,
                })
            }
        }
    }
}

/// Where a request came from and which correlation it belongs to.
#[derive(Debug, Clone)]
pub(crate) struct RequestMeta {
    /// The socket peer; `X-Forwarded-For` is not trusted.
    pub(crate) ip: Option<IpAddr>,
    pub(crate) user_agent: Option<String>,
    /// `X-Correlation-Id` when the caller sent a UUID there, else a new one.
    pub(crate) correlation_id: Uuid,
    /// This request's own id (its `x-request-id`, when that is a UUID, else a new one): the
    /// causation of the events it leads to.
    pub(crate) request_id: Uuid,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let request_id = super::request_id::of(&parts.extensions)
            .and_then(|id| Uuid::parse_str(id).ok())
            .unwrap_or_else(Uuid::now_v7);
        Ok(Self {
            ip: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
            user_agent: header("user-agent"),
            correlation_id: header("x-correlation-id")
                .and_then(|v| Uuid::parse_str(&v).ok())
                .unwrap_or(request_id),
            request_id,
        })
    }
}
