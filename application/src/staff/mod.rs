//! Platform staff: the operators who run Tenantry through `/platform/api` and the CLI.
//!
//! A staff account is an aggregate (`tenantry_domain::staff`, stream `staff-{uuid}`): its events
//! say who was given access and when. Its credential (the email it logs in with and the argon2id
//! password hash) is kept beside the stream in a lookup table behind the [`StaffAccounts`] port,
//! which this handler writes in the same command: a password hash must never enter the
//! append-only log, so that table cannot be a read model rebuilt from it, and login must find an
//! account the moment `tenantry staff create` returns, without waiting for a projector. The
//! table's unique email is what makes two accounts with one email impossible.
//! [`StaffService`] is what callers use: it enforces the password policy, hashes and verifies
//! passwords off the async runtime, and answers a login attempt without revealing whether the
//! email or the password was wrong. Access tokens themselves are the API's business; this module
//! only keeps the list of revoked ones.

mod password;
mod port;
mod service;

pub use password::{MIN_PASSWORD_CHARS, NewPassword, PasswordPolicyError};
pub use port::{StaffAccount, StaffAccounts, StaffError, StoredStaff};
pub use service::{CreateStaffError, StaffService};
