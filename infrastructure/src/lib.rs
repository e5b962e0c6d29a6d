//! Tenantry's adapters: the implementations of the application's ports against real systems
//! (PostgreSQL, KurrentDB, Redis). Nothing here decides anything; it stores, reads and provisions.

pub mod event_store;
pub mod fleet_runs;
pub mod hooks;
pub mod idempotency;
pub mod invitations;
pub mod lease;
pub mod outage;
pub mod platform_secrets;
pub mod postgres;
pub mod provisioning;
pub mod redact;
pub mod redis_config;
pub mod redis_persistence;
pub mod secrets;
pub mod service_tokens;
pub mod shared_redis;
pub mod staff;
