//! Tenantry's read side: the projector runtime and the projectors that build the read models
//! (tenant panel, provisioning steps, audit log, tenant directory) from the event log, the queries
//! the API answers from them, and the tools to rebuild them.
//!
//! A tour: [`Projector`] (what a projector is), [`ProjectionRuntime`] (how projectors are fed:
//! one instance each across processes, checkpoint and rows in one transaction, retry then stall),
//! [`rebuild()`] (replaying the log into fresh tables and swapping them in while the old ones keep
//! answering), [`wait_for_position`] (read-your-writes), then [`projectors`] and [`queries`].

mod checkpoint;
mod error;
mod projector;
pub mod projectors;
pub mod queries;
mod rebuild;
mod runtime;
mod saga_work;
mod status;
mod wait;

pub use checkpoint::ProjectorState;
pub use error::ProjectionError;
pub use projector::{EventTypes, Projector};
pub use projectors::default_projectors;
pub use rebuild::{RebuildOptions, RebuildProgress, RebuildReport, rebuild};
pub use runtime::{ProjectionRuntime, RetryPolicy, RuntimeConfig, RuntimeHandle};
pub use saga_work::ReadModelWork;
pub use status::{ProjectorStatus, status};
pub use wait::wait_for_position;

/// The schema that holds the live read models and the checkpoints.
pub const READ_SCHEMA: &str = "read";
