//! The secret store port: generated passwords (a tenant's database login, its Redis ACL user),
//! kept apart from the event log under a [`SecretRef`], so events and read models can name a
//! secret without holding it. A tenant's secrets are named by
//! [`TenantNames`](tenantry_domain::TenantNames).

use std::fmt;

use async_trait::async_trait;
use rand::Rng;
use rand::distr::Alphanumeric;
use tenantry_domain::SecretRef;

/// A secret's value. Its `Debug` hides it, so it cannot reach a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    /// Length of [`SecretValue::generate`]'s passwords: 32 of 62 symbols, about 190 bits.
    pub const GENERATED_LEN: usize = 32;

    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// A random password of ASCII letters and digits: safe inside SQL literals, URLs and Redis
    /// ACL rules without quoting, and unchanged by PostgreSQL's SASLprep.
    pub fn generate() -> Self {
        let value = rand::rng()
            .sample_iter(Alphanumeric)
            .take(Self::GENERATED_LEN)
            .map(char::from)
            .collect();
        Self(value)
    }

    /// The secret itself. Call only where it is used (to set or check a password).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(***)")
    }
}

/// Why the secret store refused or failed an operation.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The stored value cannot be decrypted with the configured key: the key changed
    /// (`TENANTRY_SECRET_KEY`) or the row was tampered with. Retrying will not help.
    #[error("secret {reference} cannot be decrypted: {reason}")]
    Undecryptable {
        reference: SecretRef,
        reason: String,
    },
    /// The backend failed (connection lost, …).
    #[error("secret store failed: {0:#}")]
    Backend(#[from] anyhow::Error),
}

/// The secret store port. Held as `Arc<dyn SecretStore>`.
#[async_trait]
pub trait SecretStore: Send + Sync {
    /// Stores `value` under `reference`, replacing what was there.
    async fn put(&self, reference: &SecretRef, value: &SecretValue) -> Result<(), SecretError>;

    /// Stores `value` unless a value is stored under `reference` already, and returns the stored
    /// one (the earlier value, or `value`). Race-safe: concurrent callers all get the same value.
    /// What idempotent provisioning uses: a re-run keeps the password of the first run.
    async fn put_if_absent(
        &self,
        reference: &SecretRef,
        value: &SecretValue,
    ) -> Result<SecretValue, SecretError>;

    async fn get(&self, reference: &SecretRef) -> Result<Option<SecretValue>, SecretError>;

    /// Forgets the secret; deleting one that does not exist is not an error.
    async fn delete(&self, reference: &SecretRef) -> Result<(), SecretError>;

    /// The references that start with `prefix` (e.g. `tenant/`), in order.
    async fn list(&self, prefix: &str) -> Result<Vec<SecretRef>, SecretError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_long_alphanumeric_and_distinct() {
        let (a, b) = (SecretValue::generate(), SecretValue::generate());
        assert_eq!(a.expose().len(), SecretValue::GENERATED_LEN);
        assert!(a.expose().chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
        assert_eq!(format!("{a:?}"), "SecretValue(***)");
    }
}
