//! Provisioning ports: what the provisioning and deletion sagas (and `tenantry doctor`) need from
//! the systems that hold a tenant's infrastructure, without knowing which systems those are.
//!
//! - [`Provisioner`] applies and releases one [`ProvisioningStep`] for one tenant. Both are
//!   idempotent: run twice, or after a crash halfway, they find what exists and finish the job.
//! - [`SecretStore`] keeps the passwords the steps generate; events carry only their
//!   [`SecretRef`](tenantry_domain::SecretRef).
//! - [`ResourceInventory`] lists what actually exists, for the drift report.
//! - [`Faults`] and [`FaultInjectingProvisioner`] rehearse failures (`TENANTRY_FAULTS`).
//! - [`TimeLimitedProvisioner`] ends every step within its [`StepTimeouts`] limit.

mod error;
mod faults;
mod hooks;
mod inject;
mod inventory;
mod port;
mod secrets;
mod timeout;

pub use error::ProvisionError;
pub use faults::{FaultOp, FaultPoint, Faults, FaultsError};
pub use hooks::{HookAction, HookCall, HookTenant, StepHooks};
pub use inject::FaultInjectingProvisioner;
pub use inventory::{ExistingResource, InventoryError, ResourceInventory};
pub use port::{Provisioner, TenantSpec};
pub use secrets::{SecretError, SecretStore, SecretValue};
/// The kinds of resource, from the domain, which says which step makes each.
pub use tenantry_domain::ResourceKind;
pub use timeout::{StepTimeouts, StepTimeoutsError, TimeLimitedProvisioner};
