//! The PostgreSQL secret store: the `secrets` table, each value encrypted at rest with
//! XChaCha20-Poly1305 under the [`SecretKey`], a fresh random nonce per value, and the secret's
//! reference as associated data (a ciphertext moved to another reference does not decrypt).

mod key;

pub use key::{SecretKey, SecretKeyError};

use anyhow::Context;
use async_trait::async_trait;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sqlx::PgPool;
use tenantry_application::provisioning::{SecretError, SecretStore, SecretValue};
use tenantry_domain::SecretRef;

/// The [`SecretStore`] adapter over the control-plane database.
#[derive(Clone)]
pub struct PgSecretStore {
    pool: PgPool,
    cipher: XChaCha20Poly1305,
    key_id: String,
}

/// A value as stored.
#[derive(sqlx::FromRow)]
struct Sealed {
    key_id: String,
    nonce: Vec<u8>,
    ciphertext: Vec<u8>,
}

impl PgSecretStore {
    pub fn new(pool: PgPool, key: &SecretKey) -> Self {
        Self {
            pool,
            cipher: XChaCha20Poly1305::new(key.bytes().into()),
            key_id: key.id(),
        }
    }

    fn seal(&self, reference: &SecretRef, value: &SecretValue) -> Result<Sealed, SecretError> {
        let nonce: [u8; 24] = rand::random();
        let payload = Payload {
            msg: value.expose().as_bytes(),
            aad: reference.as_str().as_bytes(),
        };
        let ciphertext = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), payload)
            .map_err(|_| anyhow::anyhow!("failed to encrypt secret {reference}"))?;
        Ok(Sealed {
            key_id: self.key_id.clone(),
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    fn open(&self, reference: &SecretRef, sealed: Sealed) -> Result<SecretValue, SecretError> {
        let undecryptable = |reason: String| SecretError::Undecryptable {
            reference: reference.clone(),
            reason,
        };
        if sealed.key_id != self.key_id {
            return Err(undecryptable(format!(
                "it was encrypted with key {}, and the configured TENANTRY_SECRET_KEY is key {}",
                sealed.key_id, self.key_id
            )));
        }
        if sealed.nonce.len() != 24 {
            return Err(undecryptable("its nonce is malformed".to_owned()));
        }
        let payload = Payload {
            msg: &sealed.ciphertext,
            aad: reference.as_str().as_bytes(),
        };
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(&sealed.nonce), payload)
            .map_err(|_| undecryptable("authentication failed (tampered or moved)".to_owned()))?;
        String::from_utf8(plain)
            .map(SecretValue::new)
            .map_err(|_| undecryptable("it is not UTF-8".to_owned()))
    }
}

#[async_trait]
impl SecretStore for PgSecretStore {
    async fn put(&self, reference: &SecretRef, value: &SecretValue) -> Result<(), SecretError> {
        let sealed = self.seal(reference, value)?;
        sqlx::query(
            "INSERT INTO secrets (reference, key_id, nonce, ciphertext) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (reference) DO UPDATE SET key_id = excluded.key_id, \
             nonce = excluded.nonce, ciphertext = excluded.ciphertext, updated_at = now()",
        )
        .bind(reference.as_str())
        .bind(&sealed.key_id)
        .bind(&sealed.nonce)
        .bind(&sealed.ciphertext)
        .execute(&self.pool)
        .await
        .with_context(|| format!("failed to store secret {reference}"))?;
        Ok(())
    }

    async fn put_if_absent(
        &self,
        reference: &SecretRef,
        value: &SecretValue,
    ) -> Result<SecretValue, SecretError> {
        let sealed = self.seal(reference, value)?;
        let inserted = sqlx::query(
            "INSERT INTO secrets (reference, key_id, nonce, ciphertext) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (reference) DO NOTHING",
        )
        .bind(reference.as_str())
        .bind(&sealed.key_id)
        .bind(&sealed.nonce)
        .bind(&sealed.ciphertext)
        .execute(&self.pool)
        .await
        .with_context(|| format!("failed to store secret {reference}"))?
        .rows_affected()
            == 1;
        if inserted {
            return Ok(value.clone());
        }
        self.get(reference).await?.ok_or_else(|| {
            // Deleted between our insert and our read: a concurrent release won.
            SecretError::Backend(anyhow::anyhow!(
                "secret {reference} was deleted while it was being stored"
            ))
        })
    }

    async fn get(&self, reference: &SecretRef) -> Result<Option<SecretValue>, SecretError> {
        let sealed: Option<Sealed> =
            sqlx::query_as("SELECT key_id, nonce, ciphertext FROM secrets WHERE reference = $1")
                .bind(reference.as_str())
                .fetch_optional(&self.pool)
                .await
                .with_context(|| format!("failed to read secret {reference}"))?;
        sealed.map(|s| self.open(reference, s)).transpose()
    }

    async fn delete(&self, reference: &SecretRef) -> Result<(), SecretError> {
        sqlx::query("DELETE FROM secrets WHERE reference = $1")
            .bind(reference.as_str())
            .execute(&self.pool)
            .await
            .with_context(|| format!("failed to delete secret {reference}"))?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<SecretRef>, SecretError> {
        let references: Vec<String> = sqlx::query_scalar(
            "SELECT reference FROM secrets WHERE starts_with(reference, $1) ORDER BY reference",
        )
        .bind(prefix)
        .fetch_all(&self.pool)
        .await
        .context("failed to list secrets")?;
        references
            .iter()
            .map(|r| {
                SecretRef::parse(r)
                    .with_context(|| format!("the secrets table holds an invalid reference {r:?}"))
                    .map_err(SecretError::Backend)
            })
            .collect()
    }
}
