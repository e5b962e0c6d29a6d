//! Staff passwords: the policy a new one must meet, and argon2id hashing and verification.
//!
//! Hashes are PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$…`) with argon2's default parameters
//! (OWASP's minimum recommendation), so each stored hash names the parameters it was made with and
//! can still be verified after the defaults change. Verification compares the computed output in
//! constant time (`password_hash::Output`'s `PartialEq` is built on `subtle`).
//!
//! These functions are CPU-heavy (tens of milliseconds) and synchronous: the service calls them
//! through `tokio::task::spawn_blocking`.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, Salt, SaltString};

/// The fewest characters a staff password may have.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// The most characters a staff password may have: long enough for any passphrase or password
/// manager, short enough that nobody can make the server hash a megabyte.
const MAX_PASSWORD_CHARS: usize = 1024;

/// A password that meets the policy, ready to be hashed. Not `Debug`: it must not be logged.
pub struct NewPassword(String);

/// Why a new password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordPolicyError {
    #[error("password must be at least {MIN_PASSWORD_CHARS} characters long, got {len}")]
    TooShort { len: usize },
    #[error("password must be at most {MAX_PASSWORD_CHARS} characters long, got {len}")]
    TooLong { len: usize },
}

impl NewPassword {
    /// Checks `input` against the policy. Nothing is trimmed: spaces are part of a passphrase.
    pub fn parse(input: &str) -> Result<Self, PasswordPolicyError> {
        let len = input.chars().count();
        if len < MIN_PASSWORD_CHARS {
            return Err(PasswordPolicyError::TooShort { len });
        }
        if len > MAX_PASSWORD_CHARS {
            return Err(PasswordPolicyError::TooLong { len });
        }
        Ok(Self(input.to_owned()))
    }

    /// The argon2id PHC string of this password, with a fresh random salt. CPU-heavy.
    pub(super) fn hash(&self) -> anyhow::Result<String> {
        let salt = SaltString::encode_b64(&rand::random::<[u8; Salt::RECOMMENDED_LENGTH]>())
            .map_err(|e| anyhow::anyhow!("failed to encode a password salt: {e}"))?;
        let hash = Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .map_err(|e| anyhow::anyhow!("failed to hash a password: {e}"))?;
        Ok(hash.to_string())
    }
}

/// Whether `password` matches the PHC string `hash`. A malformed hash matches nothing. CPU-heavy.
pub(super) fn verify(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(error) => {
            tracing::error!(%error, "a stored staff password hash is malformed");
            false
        }
    }
}

/// Spends the same effort as [`verify`] against a real account, for a login whose email is
/// unknown: the answer then takes as long as a wrong password would, giving no hint that the
/// email does not exist.
pub(super) fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let hash = DUMMY.get_or_init(|| {
        NewPassword("a password that no account has".to_owned())
            .hash()
            .unwrap_or_default()
    });
    let _ = verify(password, hash);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_counts_characters_not_bytes() {
        assert_eq!(
            NewPassword::parse("short").err(),
            Some(PasswordPolicyError::TooShort { len: 5 })
        );
        assert!(
            NewPassword::parse("ção ção ção!").is_ok(),
            "12 characters, 18 bytes"
        );
        assert!(NewPassword::parse(&"x".repeat(1025)).is_err());
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = NewPassword::parse("correct horse battery")
            .map(|p| p.hash())
            .expect("policy")
            .expect("hash");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify("correct horse battery", &hash));
        assert!(!verify("correct horse battery!", &hash));
        assert!(!verify("correct horse battery", "not a hash"));
    }
}
