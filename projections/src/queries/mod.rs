//! The queries the API answers from the read models. Each returns views that serialize to exactly
//! the JSON of `API.md`. Pages are keyset-paginated with opaque cursors: a page's `next` value,
//! passed back, continues right after its last item, however the table changes meanwhile.

pub mod audit;
mod cursor;
pub mod directory;
pub mod drives;
pub mod fleet;
pub mod schema;
pub mod tenants;

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The cursor is not one this API handed out (the API answers 400).
    #[error("invalid cursor")]
    InvalidCursor,
    #[error("the read model holds an invalid value: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// The page size when the caller gives none, and the most it may ask for.
pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

fn page_size(limit: Option<u32>) -> i64 {
    i64::from(limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT))
}

/// Runs a read again (up to three times) when PostgreSQL chose it as the victim of a deadlock. A
/// rebuild's swap locks the live tables of a read model to replace them; a query joining two of
/// them can hold one while the swap holds the other. The swap has moved on by the time the
/// victim's statement has rolled back, so the read succeeds the next time.
async fn retry_deadlock<T, F, Fut>(mut read: F) -> Result<T, QueryError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, QueryError>>,
{
    let mut attempt = 1;
    loop {
        match read().await {
            Err(QueryError::Database(sqlx::Error::Database(db)))
                if attempt < 3 && db.code().as_deref() == Some("40P01") =>
            {
                attempt += 1;
            }
            other => return other,
        }
    }
}
