//! The API's one error type. Every 4xx/5xx body has the shape of `shared/API.md`:
//! `{"error": {"code", "message", "field"?}}`. Client errors say precisely what was wrong; 5xx
//! bodies are generic and the cause goes to the log.
//!
//! An [`ApiError::Internal`] whose cause is a dependency that is down or saturated (PostgreSQL
//! unreachable, its pool exhausted, "too many clients", an admin shutdown; Redis unreachable:
//! see `tenantry_infrastructure::outage`) answers 503 `unavailable` with `Retry-After`, never
//! 500: a retry will succeed once the dependency is back.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The body of every 4xx/5xx answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorDetail {
    /// Stable and machine-readable, e.g. `invalid_slug`.
    code: &'static str,
    /// For people: what was wrong and why.
    message: String,
    /// The input field concerned, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

#[derive(Debug)]
pub enum ApiError {
    /// 400: malformed JSON, wrong types, unknown fields, a bad header or query parameter.
    BadRequest {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    /// 401: missing, expired, revoked, forged or foreign token; wrong credentials.
    Unauthorized(String),
    /// 403: authenticated but not allowed, or a host not in the control-plane list.
    Forbidden(String),
    /// 404: no such resource (also one the caller may not see), or no such route.
    NotFound(String),
    /// 405: the route exists, but not with this method.
    MethodNotAllowed(String),
    /// 409: stale `If-Match`, duplicate slug, command not allowed in the current state.
    Conflict { code: &'static str, message: String },
    /// 413: the body is larger than the API accepts.
    PayloadTooLarge(String),
    /// 422: well-formed but invalid value; `field` names it.
    Unprocessable {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    /// 429: too many attempts; retry after the given time.
    TooManyRequests {
        message: String,
        retry_after: Duration,
    },
    /// 503: a dependency is not ready, or a read model has not caught up in time.
    Unavailable {
        code: &'static str,
        message: String,
        retry_after: Option<Duration>,
    },
    /// 500: anything unexpected; logged, never shown. 503 `unavailable` instead when its cause is
    /// an outage of PostgreSQL or Redis (see the module docs).
    Internal(anyhow::Error),
    /// A refusal the domain decided (the command ran and said no: a taken slug, a deleted
    /// tenant): answered as the error inside, marked [`DomainDecision`] so that an idempotent
    /// retry is answered the same.
    Decided(Box<ApiError>),
}

/// What `Retry-After` says when a dependency is unavailable: about the time a restarted
/// PostgreSQL or Redis takes to answer again, and long enough not to hammer a saturated pool.
pub(crate) const OUTAGE_RETRY_AFTER: Duration = Duration::from_secs(2);

/// On a response: the domain decided this 4xx (see [`ApiError::Decided`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct DomainDecision;

impl ErrorDetail {
    /// A detail without a field (for bodies that carry more than the error, like `/readyz`'s).
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
        }
    }
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn unprocessable(
        code: &'static str,
        message: impl Into<String>,
        field: impl Into<String>,
    ) -> Self {
        Self::Unprocessable {
            code,
            message: message.into(),
            field: Some(field.into()),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    /// This error, as decided by the domain (see [`ApiError::Decided`]).
    pub fn decided(self) -> Self {
        Self::Decided(Box::new(self))
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        Self::Internal(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut retry = None;
        let (status, code, message, field) = match self {
            Self::BadRequest {
                code,
                message,
                field,
            } => (StatusCode::BAD_REQUEST, code, message, field),
            Self::Unauthorized(m) => (StatusCode::UNAUTHORIZED, "unauthorized", m, None),
            Self::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m, None),
            Self::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m, None),
            Self::MethodNotAllowed(m) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                m,
                None,
            ),
            Self::Conflict { code, message } => (StatusCode::CONFLICT, code, message, None),
            Self::PayloadTooLarge(m) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", m, None)
            }
            Self::Unprocessable {
                code,
                message,
                field,
            } => (StatusCode::UNPROCESSABLE_ENTITY, code, message, field),
            Self::TooManyRequests {
                message,
                retry_after,
            } => {
                retry = Some(retry_after);
                (StatusCode::TOO_MANY_REQUESTS, "rate_limited", message, None)
            }
            Self::Unavailable {
                code,
                message,
                retry_after,
            } => {
                retry = retry_after;
                (StatusCode::SERVICE_UNAVAILABLE, code, message, None)
            }
            Self::Decided(inner) => {
                let mut response = inner.into_response();
                response.extensions_mut().insert(DomainDecision);
                return response;
            }
            Self::Internal(error) => match tenantry_infrastructure::outage::find_in(&error) {
                Some(outage) => {
                    tracing::warn!(
                        dependency = %outage.dependency,
                        error = format!("{error:#}"),
                        "dependency unavailable"
                    );
                    metrics::counter!("tenantry_http_unavailable_total", "dependency" => outage.dependency.as_str())
                        .increment(1);
                    retry = Some(OUTAGE_RETRY_AFTER);
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "unavailable",
                        outage.to_string(),
                        None,
                    )
                }
                None => {
                    tracing::error!(error = format!("{error:#}"), "internal error");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        "internal error".to_owned(),
                        None,
                    )
                }
            },
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message,
                field,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(after) = retry {
            let seconds = after.as_secs_f64().ceil().max(1.0) as u64;
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use anyhow::Context;

    use super::*;

    async fn body_of(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("a body");
        serde_json::from_slice(&bytes).expect("a JSON body")
    }

    #[tokio::test]
    async fn a_pool_timeout_is_503_unavailable_with_retry_after() {
        let error = Err::<(), _>(sqlx::Error::PoolTimedOut)
            .context("failed to check the token")
            .unwrap_err();
        let response = ApiError::Internal(error).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        let body = body_of(response).await;
        assert_eq!(body["error"]["code"], "unavailable");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("the database is unavailable")),
            "{body}"
        );
    }

    #[tokio::test]
    async fn redis_refusing_connections_is_503_unavailable() {
        let refused = redis::RedisError::from(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "refused",
        ));
        let response = ApiError::Internal(anyhow::Error::new(refused)).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key(header::RETRY_AFTER));
        let body = body_of(response).await;
        assert_eq!(body["error"]["code"], "unavailable");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("Redis is unavailable")),
            "{body}"
        );
    }

    #[tokio::test]
    async fn other_failures_stay_500_internal() {
        let error = anyhow::Error::new(sqlx::Error::RowNotFound).context("a bug");
        let response = ApiError::Internal(error).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!response.headers().contains_key(header::RETRY_AFTER));
        assert_eq!(body_of(response).await["error"]["code"], "internal");
    }
}
