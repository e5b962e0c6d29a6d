//! The application side of the aggregate kernel: [`Repository`] loads any
//! [`Aggregate`](tenantry_domain::Aggregate) from its stream, lets it decide, appends what it
//! decided with the expected version (deciding again when another writer got there first), fills
//! every event's metadata from the [`CommandContext`], and tells [`AppendObserver`]s what was
//! appended. Command handlers (tenants, slug claims, staff, invitations) are thin layers over it.

mod context;
mod observer;
mod repository;

pub use context::CommandContext;
pub use observer::{AppendObserver, Appended};
pub use repository::{Cause, ExecuteError, Executed, Loaded, Repository, TryError};
