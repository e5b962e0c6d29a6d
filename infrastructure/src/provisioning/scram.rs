//! Password verifiers computed here rather than by the servers, so that a generated password
//! never appears in SQL or Redis command text (server logs, `pg_stat_activity`, error reports,
//! `MONITOR`): PostgreSQL gets a SCRAM-SHA-256 verifier (RFC 5802/7677, as `pg_authid` stores it)
//! and Redis a SHA-256 hash (`ACL SETUSER … #<hex>`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// PostgreSQL's default (`scram_iterations` in PostgreSQL 16+).
const ITERATIONS: u32 = 4096;

type HmacSha256 = Hmac<Sha256>;

/// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` for `password` with a random salt.
/// `password` must be ASCII letters and digits (what SASLprep leaves unchanged), as generated
/// secrets are.
pub(super) fn postgres_verifier(password: &str) -> String {
    postgres_verifier_with(password, &rand::random::<[u8; 16]>(), ITERATIONS)
}

pub(super) fn postgres_verifier_with(password: &str, salt: &[u8], iterations: u32) -> String {
    let salted = hi(password.as_bytes(), salt, iterations);
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = Sha256::digest(client_key);
    let server_key = hmac(&salted, b"Server Key");
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        STANDARD.encode(salt),
        STANDARD.encode(stored_key),
        STANDARD.encode(server_key)
    )
}

/// The hex SHA-256 of `password`, as `ACL SETUSER … #<hash>` takes it.
pub(super) fn redis_password_hash(password: &str) -> String {
    Sha256::digest(password.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// PBKDF2-HMAC-SHA-256 with one block of output (RFC 5802's `Hi`).
fn hi(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(password).expect("HMAC takes keys of any length");
    mac.update(salt);
    mac.update(&1u32.to_be_bytes());
    let mut u = mac.finalize().into_bytes();
    let mut result = u;
    for _ in 1..iterations {
        let mut mac = HmacSha256::new_from_slice(password).expect("HMAC takes keys of any length");
        mac.update(&u);
        u = mac.finalize().into_bytes();
        result.iter_mut().zip(u.iter()).for_each(|(r, x)| *r ^= x);
    }
    result.into()
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677's example: user "user", password "pencil", salt and iteration count from its
    /// server-first-message. StoredKey and ServerKey follow from the exchange's proofs; these are
    /// the values PostgreSQL itself stores for that password, salt and count.
    #[test]
    fn matches_the_rfc_7677_example() {
        let salt = STANDARD.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let verifier = postgres_verifier_with("pencil", &salt, 4096);
        assert_eq!(
            verifier,
            "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$\
             WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:\
             wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="
        );
    }

    #[test]
    fn redis_hash_is_hex_sha256() {
        assert_eq!(
            redis_password_hash("password"),
            "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"
        );
    }
}
