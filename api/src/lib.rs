//! Tenantry's HTTP API (axum) and the pieces of the `tenantry` binary: settings, telemetry and the
//! [`Application`] that binds, serves and shuts down gracefully. `main.rs` only parses the command
//! line and wires the adapters in; the event store adapter is chosen in [`event_store`].

pub mod cli;
pub mod event_store;
pub mod http;
pub mod panel;
pub mod settings;
pub mod startup;
pub mod telemetry;

pub use settings::Settings;
pub use startup::Application;
