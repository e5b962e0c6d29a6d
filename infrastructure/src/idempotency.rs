//! The store behind `Idempotency-Key`: a key is claimed by the first request that carries it, and
//! its response is kept for the retries. Keys expire after a day.

use anyhow::Context;
use sqlx::PgPool;
use sqlx::types::Json;

/// A kept response.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What a key holds when a request finds it claimed already.
#[derive(Debug, Clone)]
pub enum Claimed {
    /// The first request is still running.
    InProgress { request_body: Vec<u8> },
    Done {
        request_body: Vec<u8>,
        response: StoredResponse,
    },
}

#[derive(Clone)]
pub struct PgIdempotencyStore {
    pool: PgPool,
}

impl PgIdempotencyStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Claims `key` in `scope` for a request with `body`. `Ok(None)`: claimed, run the request;
    /// `Ok(Some(..))`: someone claimed it before.
    pub async fn claim(
        &self,
        scope: &str,
        key: &str,
        body: &[u8],
    ) -> anyhow::Result<Option<Claimed>> {
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < now() - interval '1 day'")
            .execute(&self.pool)
            .await
            .context("failed to expire idempotency keys")?;
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (scope, key, request_body) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(scope)
        .bind(key)
        .bind(body)
        .execute(&self.pool)
        .await
        .context("failed to claim an idempotency key")?
        .rows_affected()
            == 1;
        if claimed {
            return Ok(None);
        }
        self.get(scope, key).await
    }

    /// What `key` holds now (`None`: nothing, e.g. its first request failed and let it go).
    pub async fn get(&self, scope: &str, key: &str) -> anyhow::Result<Option<Claimed>> {
        type Row = (
            Vec<u8>,
            Option<i16>,
            Option<Json<Vec<(String, String)>>>,
            Option<Vec<u8>>,
        );
        let row: Option<Row> = sqlx::query_as(
            "SELECT request_body, status, response_headers, response_body FROM idempotency_keys \
             WHERE scope = $1 AND key = $2",
        )
        .bind(scope)
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .context("failed to read an idempotency key")?;
        Ok(
            row.map(|(request_body, status, headers, body)| match status {
                Some(status) => Claimed::Done {
                    request_body,
                    response: StoredResponse {
                        status: status as u16,
                        headers: headers.map(|h| h.0).unwrap_or_default(),
                        body: body.unwrap_or_default(),
                    },
                },
                None => Claimed::InProgress { request_body },
            }),
        )
    }

    /// Keeps the response of the request that claimed `key`.
    pub async fn complete(
        &self,
        scope: &str,
        key: &str,
        response: &StoredResponse,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE idempotency_keys SET status = $3, response_headers = $4, response_body = $5 \
             WHERE scope = $1 AND key = $2",
        )
        .bind(scope)
        .bind(key)
        .bind(response.status as i16)
        .bind(Json(&response.headers))
        .bind(&response.body)
        .execute(&self.pool)
        .await
        .context("failed to keep an idempotent response")?;
        Ok(())
    }

    /// Lets `key` go, so a retry runs again (after a failure that changed nothing).
    pub async fn release(&self, scope: &str, key: &str) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2")
            .bind(scope)
            .bind(key)
            .execute(&self.pool)
            .await
            .context("failed to release an idempotency key")?;
        Ok(())
    }
}
