//! Test support for Tenantry's black-box tests: a fresh PostgreSQL database per test
//! ([`TestDb`]), a running server on port 0 ([`TestApp`]), and the event store conformance suite
//! that every adapter of the port must pass ([`conformance`]), real tenant histories made with
//! the domain's commands ([`lifecycle`]), looking at the log through the port ([`event_log`]),
//! and servers of a test's own that it may stop and restart: a Redis ([`PrivateRedis`]) and a
//! PostgreSQL cluster ([`PrivatePg`]); `tenantry serve` as a child process that a test can freeze
//! and resume ([`ServeProcess`]).

/// The allocator of the `tenantry` binary (`api/src/main.rs`), so that tests and benchmarks run
/// the code as the service does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod browser;
pub mod conformance;
pub mod event_log;
pub mod lifecycle;
pub mod private_pg;
mod private_redis;
pub mod serve_process;
pub mod tenant_access;
mod test_app;
mod test_db;

pub use private_pg::{PrivatePg, PrivatePgOptions};
pub use private_redis::PrivateRedis;
pub use serve_process::ServeProcess;
pub use test_app::{STAFF_PASSWORD, TestApp};
pub use test_db::TestDb;
