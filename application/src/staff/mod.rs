//! Platform staff: the operators who run Tenantry through `/platform/api` and the CLI.
//!
//! A staff account is an email and an argon2id password hash, kept behind the [`StaffAccounts`]
//! port (not event-sourced: a password hash must never enter the append-only log). Creating an
//! account still records a [`StaffAccountCreated`] event, so the audit log shows who exists.
//! [`StaffService`] is what callers use: it enforces the password policy, hashes and verifies
//! passwords off the async runtime, and answers a login attempt without revealing whether the
//! email or the password was wrong. Access tokens themselves are the API's business; this module
//! only keeps the list of revoked ones.

mod events;
mod password;
mod port;
mod service;

pub use events::{STAFF_ACCOUNT_CREATED, StaffAccountCreated, staff_stream};
pub use password::{MIN_PASSWORD_CHARS, NewPassword, PasswordPolicyError};
pub use port::{StaffAccount, StaffAccounts, StaffError, StoredStaff};
pub use service::{CreateStaffError, StaffService};
