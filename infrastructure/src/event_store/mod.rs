//! The event store adapters: PostgreSQL (always built) and KurrentDB (cargo feature `kurrentdb`).

#[cfg(feature = "kurrentdb")]
pub mod kurrentdb;
pub mod postgres;

pub use postgres::PgEventStore;
