//! Platform staff: the operators who run Tenantry through `/platform/api` and the CLI.
//!
//! A staff account is an aggregate (`tenantry_domain::staff`, stream `staff-{uuid}`): its events
//! say who was given access and when, and who lost it (disabled, enabled, deleted). Its
//! credential (the email it logs in with and the argon2id password hash) is kept beside the
//! stream in a lookup table behind the [`StaffAccounts`] port, which this handler writes in the
//! same command: a password hash must never enter the append-only log, so that table cannot be a
//! read model rebuilt from it, and login must find an account the moment `tenantry staff create`
//! returns, without waiting for a projector. The table's unique email is what makes two live
//! accounts with one email impossible.
//!
//! The table also mirrors the account's state (active, disabled, deleted), written right after
//! the event by the same command and guarded by the stream version, so that every request checks
//! its token's account with one indexed lookup: a disabled or deleted account's tokens stop
//! working at once. A deleted account's row stays (without its password hash) and no longer
//! holds its email.
//!
//! [`StaffService`] is what callers use: it enforces the password policy, hashes and verifies
//! passwords off the async runtime, and answers a login attempt without revealing whether the
//! email or the password was wrong, or the account disabled. Access tokens themselves are the
//! API's business; this module keeps the list of revoked ones and says whether a token's account
//! may still use it.

mod password;
mod port;
mod service;

pub use password::{MIN_PASSWORD_CHARS, NewPassword, PasswordPolicyError};
pub use port::{StaffAccount, StaffAccounts, StaffError, StaffKey, StoredStaff, TokenCheck};
pub use service::{ChangeStaffError, CreateStaffError, StaffChange, StaffService};
pub use tenantry_domain::staff::StaffStatus;
