//! The page size the list endpoints take (`limit`): 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when
//! absent. One outside that range is refused (400 naming `limit`), not quietly clamped: the
//! caller would otherwise get another page size than it asked for.

use tenantry_projections::queries::{DEFAULT_LIMIT, MAX_LIMIT};

use super::ApiError;

/// `limit` as asked, checked.
pub(crate) fn limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n @ 1..=MAX_LIMIT) => Ok(n),
        Some(n) => Err(ApiError::BadRequest {
            code: "invalid_query",
            message: format!("limit must be between 1 and {MAX_LIMIT}, got {n}"),
            field: Some("limit".into()),
        }),
    }
}
