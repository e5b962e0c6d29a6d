//! The provisioner adapters against real PostgreSQL and Redis: every isolation model's steps apply
//! end to end and the resources work (and keep tenants apart); what they make is what the domain
//! says each model makes, under the names it gives; apply and release are idempotent, also after a
//! crash halfway; after release nothing named for the tenant remains. Also the secret
//! store and the failure injector. Each test gets a fresh control-plane database; tenant roles,
//! databases and Redis users are server-wide, so every test releases its tenants at the end.

mod custom_migrations;
mod faults;
mod inventory;
mod lifecycle;
mod postgres;
mod redis_namespace;
mod secrets;
mod support;
