//! Request extractors that answer bad input in the API's error shape, naming the field:
//!
//! - [`ApiJson`]: JSON bodies. Not valid UTF-8, malformed, not an object, a NUL character in any
//!   string, wrong types, unknown or missing fields → 400 (`field`: the path of the value, e.g.
//!   `name`); too large → 413.
//! - [`ApiQuery`]: query parameters. Not valid UTF-8 once percent-decoded, a control or
//!   bidirectional character, unknown (every query struct denies unknown fields), repeated, or of
//!   the wrong type → 400 `invalid_query` naming the parameter.
//! - [`ApiPath`]: path segments (a tenant's id or slug). Not valid UTF-8, or a control or
//!   bidirectional character → 400 `invalid_path` naming the segment.
//! - [`RequestMeta`]: where a request came from, for the events' metadata; an `X-Correlation-Id`
//!   that is not a UUID → 400.
//!
//! These checks come before anything reaches the database: PostgreSQL refuses NUL in text, and a
//! refusal there would be a 500.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tenantry_domain::TextFault;
use uuid::Uuid;

use super::ApiError;

/// A JSON object body, refused in the API's error shape.
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::bad_request(
                "missing_content_type",
                "expected a body with `Content-Type: application/json`",
            ));
        }
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge("the request body is too large".into())
            } else {
                ApiError::bad_request("invalid_body", rejection.body_text())
            }
        })?;
        parse_json(&body).map(Self)
    }
}

/// `application/json`, or another `application/…+json` type.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A JSON object body as `T`, with the checks of [`ApiJson`] (but not the content type's).
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| not_utf8(body))?;
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ApiError::bad_request("malformed_json", e.to_string()))?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!("the body must be a JSON object, not {}", kind(&value)),
        ));
    }
    if let Some(path) = nul_in(&value, "") {
        return Err(invalid_body(
            format!("{path} must not contain a NUL character (U+0000)"),
            path,
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let why = error.into_inner().to_string();
        let field = if path == "." {
            named_in(&why).map(str::to_owned)
        } else {
            Some(path)
        };
        ApiError::BadRequest {
            code: "invalid_body",
            message: why,
            field,
        }
    })
}

fn invalid_body(message: String, field: String) -> ApiError {
    ApiError::BadRequest {
        code: "invalid_body",
        message,
        field: (!field.is_empty()).then_some(field),
    }
}

/// The answer to a body that is not UTF-8, naming the value that holds the bad bytes when the
/// rest of the body is JSON enough to tell.
fn not_utf8(body: &[u8]) -> ApiError {
    let message = "the body must be UTF-8 (JSON text), and it is not".to_owned();
    let lossy = String::from_utf8_lossy(body);
    let field = serde_json::from_str::<Value>(&lossy)
        .ok()
        .and_then(|value| find_string(&value, "", &|s| s.contains('\u{FFFD}')));
    ApiError::BadRequest {
        code: "invalid_body",
        message,
        field: field.filter(|f| !f.is_empty()),
    }
}

/// The path (`a.b[2]`) of the first string or key in `value` that holds a NUL.
fn nul_in(value: &Value, path: &str) -> Option<String> {
    find_string(value, path, &|s| s.contains('\0'))
}

fn find_string(value: &Value, path: &str, bad: &dyn Fn(&str) -> bool) -> Option<String> {
    match value {
        Value::String(s) => bad(s).then(|| path.to_owned()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| find_string(item, &format!("{path}[{i}]"), bad)),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            let here = if path.is_empty() {
                key.replace('\0', "\\u0000")
            } else {
                format!("{path}.{}", key.replace('\0', "\\u0000"))
            };
            if bad(key) {
                return Some(here);
            }
            find_string(item, &here, bad)
        }),
        _ => None,
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The field serde names in an "unknown field `x`", "missing field `x`" or "duplicate field `x`".
fn named_in(message: &str) -> Option<&str> {
    let rest = ["unknown field `", "missing field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))?;
    rest.split_once('`').map(|(name, _)| name)
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
        check_query(parts.uri.query().unwrap_or_default())?;
        match axum::extract::Query::<T>::try_from_uri(&parts.uri) {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => {
                let text = rejection.body_text();
                let detail = text
                    .split_once("query string: ")
                    .map_or(text.as_str(), |(_, d)| d);
                let (field, why) = match detail.split_once(": ") {
                    Some((name, why)) if !name.contains(' ') => (Some(name.to_owned()), why),
                    _ => (named_in(detail).map(str::to_owned), detail),
                };
                Err(invalid_query(why.to_owned(), field))
            }
        }
    }
}

fn invalid_query(message: String, field: Option<String>) -> ApiError {
    ApiError::BadRequest {
        code: "invalid_query",
        message,
        field,
    }
}

/// Every parameter's name and value, percent-decoded, must be UTF-8 without control or
/// bidirectional characters (the shared text rules; a value may be blank).
fn check_query(query: &str) -> Result<(), ApiError> {
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decoded_name = decode(name);
        let field = match &decoded_name {
            Ok(name) => name.replace('\0', "\\u0000"),
            Err(lossy) => lossy.clone(),
        };
        if decoded_name.is_err() {
            return Err(invalid_query(
                format!(
                    "the query parameter name {field:?} is not valid UTF-8 once percent-decoded"
                ),
                Some(field),
            ));
        }
        let value = decode(value).map_err(|_| {
            invalid_query(
                format!("query parameter {field} must be valid UTF-8 once percent-decoded"),
                Some(field.clone()),
            )
        })?;
        for text in [decoded_name.as_deref().unwrap_or_default(), &*value] {
            if let Err(fault) = TextFault::check_characters(text) {
                return Err(invalid_query(
                    format!("query parameter {field} {fault}"),
                    Some(field),
                ));
            }
        }
    }
    Ok(())
}

/// `application/x-www-form-urlencoded` decoding of one name or value: its text, or (not UTF-8)
/// the text with the bad bytes replaced, for messages.
fn decode(raw: &str) -> Result<String, String> {
    let spaced: Cow<'_, str> = if raw.contains('+') {
        Cow::Owned(raw.replace('+', " "))
    } else {
        Cow::Borrowed(raw)
    };
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(&spaced).collect();
    String::from_utf8(bytes).map_err(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Path parameters, refused in the API's error shape (400 `invalid_path` naming the segment).
pub(crate) struct ApiPath<T>(pub(crate) T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(params) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(path_error)?;
        for (name, value) in &params {
            if let Err(fault) = TextFault::check_characters(value) {
                return Err(invalid_path(format!("{name} {fault}"), name));
            }
        }
        let Path(value) = Path::<T>::from_request_parts(parts, state)
            .await
            .map_err(path_error)?;
        Ok(Self(value))
    }
}

fn invalid_path(message: String, field: &str) -> ApiError {
    ApiError::BadRequest {
        code: "invalid_path",
        message,
        field: Some(field.to_owned()),
    }
}

fn path_error(rejection: PathRejection) -> ApiError {
    let PathRejection::FailedToDeserializePathParams(error) = rejection else {
        return ApiError::Internal(anyhow::anyhow!(
            "path parameters: {}",
            rejection.body_text()
        ));
    };
    match error.kind() {
        ErrorKind::InvalidUtf8InPathParam { key } => invalid_path(
            format!("{key} must be valid UTF-8 once percent-decoded"),
            key,
        ),
        ErrorKind::ParseErrorAtKey { key, .. } | ErrorKind::DeserializeError { key, .. } => {
            invalid_path(error.body_text(), key)
        }
        _ => ApiError::bad_request("invalid_path", error.body_text()),
    }
}

/// Where a request came from and which correlation it belongs to.
#[derive(Debug, Clone)]
pub(crate) struct RequestMeta {
    /// The socket peer; `X-Forwarded-For` is not trusted.
    pub(crate) ip: Option<IpAddr>,
    pub(crate) user_agent: Option<String>,
    /// `X-Correlation-Id` when the caller sent one (it must be a UUID), else the request's id.
    pub(crate) correlation_id: Uuid,
    /// This request's own id (its `x-request-id`, when that is a UUID, else a new one): the
    /// causation of the events it leads to.
    pub(crate) request_id: Uuid,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestMeta {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let request_id = super::request_id::of(&parts.extensions)
            .and_then(|id| Uuid::parse_str(id).ok())
            .unwrap_or_else(Uuid::now_v7);
        let correlation_id = match parts.headers.get("x-correlation-id") {
            None => request_id,
            Some(value) => value
                .to_str()
                .ok()
                .and_then(|v| Uuid::parse_str(v.trim()).ok())
                .ok_or_else(|| ApiError::BadRequest {
                    code: "invalid_correlation_id",
                    message: "X-Correlation-Id must be a UUID".into(),
                    field: Some("X-Correlation-Id".into()),
                })?,
        };
        Ok(Self {
            ip: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            correlation_id,
            request_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_decode_as_forms_do() {
        assert_eq!(decode("a+b%20c"), Ok("a b c".to_owned()));
        assert_eq!(decode("%2B"), Ok("+".to_owned()));
        assert_eq!(decode("x%FFy"), Err("x\u{FFFD}y".to_owned()));
    }

    #[test]
    fn serde_names_the_field_it_means() {
        assert_eq!(
            named_in("unknown field `colour`, expected one of `name`"),
            Some("colour")
        );
        assert_eq!(named_in("missing field `name`"), Some("name"));
        assert_eq!(named_in("invalid type: integer"), None);
    }

    #[test]
    fn a_nul_is_found_where_it_is() {
        let value = serde_json::json!({"a": {"b": ["x", "y\u{0}"]}});
        assert_eq!(nul_in(&value, "").as_deref(), Some("a.b[1]"));
        assert_eq!(nul_in(&serde_json::json!({"ok": "fine"}), ""), None);
    }
}
