//! The store behind `Idempotency-Key`: a key, scoped to its caller and to the method and path it
//! was sent to, is claimed by the first request that carries it, and that request's answer is
//! kept for the retries. Of the request only a SHA-256 of its body is kept — enough to refuse the
//! key reused with another body, without keeping anything the body held (a password, say).
//!
//! A claim is a lease: a request that crashed mid-way frees its key when the lease runs out
//! ([`LEASE`]), and a request whose lease ran out and was taken over can no longer complete or
//! release the key. Keys expire after [`TTL`]; the [`sweeper`] deletes them.

pub mod sweeper;

use std::time::Duration;

use anyhow::Context;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

/// How long a running first request holds its key. Longer than any command takes: a request
/// still running past it can be taken over by a retry, which runs the command again.
pub const LEASE: Duration = Duration::from_secs(60);

/// How long a key and its answer are kept (the IETF draft and Stripe: a day).
pub const TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// A key as the store knows it: whose, for which method and path, and the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The authenticated caller, e.g. `staff:{uuid}`.
    pub caller: String,
    /// Method and path, e.g. `POST /platform/api/tenants`.
    pub scope: String,
    pub key: String,
}

/// A kept answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Which claim of a key a request holds; what [`PgIdempotencyStore::complete`] and
/// [`PgIdempotencyStore::release`] need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimId(Uuid);

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is this request's now: run it, then complete or release the claim.
    Won(ClaimId),
    /// The key's first request is still running. `same_body`: whether it has this body.
    InFlight { same_body: bool },
    /// The key's first request has answered.
    Done {
        same_body: bool,
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

    /// Claims `key` for a request with `body`, or says who has it. A key whose lease ran out
    /// while its request was running, or which has expired, is claimed anew.
    pub async fn claim(&self, key: &IdempotencyKey, body: &[u8]) -> anyhow::Result<Claim> {
        let hash = Sha256::digest(body).to_vec();
        // Between a failed claim and the read, the first request may let the key go: claim again.
        loop {
            let claim = Uuid::now_v7();
            let won: Option<Uuid> = sqlx::query_scalar(
                "INSERT INTO idempotency_keys AS k \
                   (caller, scope, key, request_hash, claim, locked_until, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6), \
                         now() + make_interval(secs => $7)) \
                 ON CONFLICT (caller, scope, key) DO UPDATE SET \
                   request_hash = EXCLUDED.request_hash, claim = EXCLUDED.claim, \
                   locked_until = EXCLUDED.locked_until, status = NULL, response_headers = NULL, \
                   response_body = NULL, created_at = now(), expires_at = EXCLUDED.expires_at \
                 WHERE k.expires_at <= now() OR (k.status IS NULL AND k.locked_until <= now()) \
                 RETURNING claim",
            )
            .bind(&key.caller)
            .bind(&key.scope)
            .bind(&key.key)
            .bind(&hash)
            .bind(claim)
            .bind(LEASE.as_secs_f64())
            .bind(TTL.as_secs_f64())
            .fetch_optional(&self.pool)
            .await
            .context("failed to claim an idempotency key")?;
            if won.is_some() {
                return Ok(Claim::Won(ClaimId(claim)));
            }
            if let Some(found) = self.get(key, &hash).await? {
                return Ok(found);
            }
        }
    }

    /// What `key` holds now, compared with a request whose body hashes to `hash`.
    async fn get(&self, key: &IdempotencyKey, hash: &[u8]) -> anyhow::Result<Option<Claim>> {
        type Row = (
            bool,
            Option<i16>,
            Option<Json<Vec<(String, String)>>>,
            Option<Vec<u8>>,
        );
        let row: Option<Row> = sqlx::query_as(
            "SELECT request_hash = $4, status, response_headers, response_body \
               FROM idempotency_keys WHERE caller = $1 AND scope = $2 AND key = $3",
        )
        .bind(&key.caller)
        .bind(&key.scope)
        .bind(&key.key)
        .bind(hash)
        .fetch_optional(&self.pool)
        .await
        .context("failed to read an idempotency key")?;
        Ok(row.map(|(same_body, status, headers, body)| match status {
            Some(status) => Claim::Done {
                same_body,
                response: StoredResponse {
                    status: status as u16,
                    headers: headers.map(|h| h.0).unwrap_or_default(),
                    body: body.unwrap_or_default(),
                },
            },
            None => Claim::InFlight { same_body },
        }))
    }

    /// Keeps the answer of the request holding `claim`. `false`: it no longer held the key (its
    /// lease ran out and a retry took it over), and nothing was kept.
    pub async fn complete(
        &self,
        key: &IdempotencyKey,
        claim: ClaimId,
        response: &StoredResponse,
    ) -> anyhow::Result<bool> {
        let kept = sqlx::query(
            "UPDATE idempotency_keys \
                SET status = $5, response_headers = $6, response_body = $7 \
              WHERE caller = $1 AND scope = $2 AND key = $3 AND claim = $4 AND status IS NULL",
        )
        .bind(&key.caller)
        .bind(&key.scope)
        .bind(&key.key)
        .bind(claim.0)
        .bind(response.status as i16)
        .bind(Json(&response.headers))
        .bind(&response.body)
        .execute(&self.pool)
        .await
        .context("failed to keep an idempotent response")?;
        Ok(kept.rows_affected() == 1)
    }

    /// Lets `key` go, so that a retry runs as a first request (after an answer that is not
    /// kept: a failure that changed nothing, or one the retry may not meet again).
    pub async fn release(&self, key: &IdempotencyKey, claim: ClaimId) -> anyhow::Result<()> {
        sqlx::query(
            "DELETE FROM idempotency_keys \
              WHERE caller = $1 AND scope = $2 AND key = $3 AND claim = $4 AND status IS NULL",
        )
        .bind(&key.caller)
        .bind(&key.scope)
        .bind(&key.key)
        .bind(claim.0)
        .execute(&self.pool)
        .await
        .context("failed to release an idempotency key")?;
        Ok(())
    }

    /// Deletes the keys that have expired; how many.
    pub async fn sweep_expired(&self) -> anyhow::Result<u64> {
        let deleted = sqlx::query("DELETE FROM idempotency_keys WHERE expires_at <= now()")
            .execute(&self.pool)
            .await
            .context("failed to delete expired idempotency keys")?;
        Ok(deleted.rows_affected())
    }
}
