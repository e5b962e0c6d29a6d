//! The Tenant aggregate: one customer of the SaaS product and everything its life is made of, from
//! creation through provisioning, suspension and deletion.
//!
//! It follows the decide/apply shape: [`TenantState::decide`] turns a [`TenantCommand`] into
//! [`TenantEvent`]s or refuses it with a [`DomainError`](crate::DomainError);
//! [`TenantState::apply`] records an event; [`TenantState::fold`] rebuilds the state from a stream.

mod apply;
mod commands;
mod decide;
pub(crate) mod events;
mod id;
mod infrastructure;
mod resource;
mod state;
mod status;
mod steps;

pub use commands::{CreateTenant, TenantCommand};
pub use events::TenantEvent;
pub use id::TenantId;
pub use infrastructure::{
    AccessAction, AccessResource, ResourceKind, StepOutput, TenantLogin, TenantNames, TenantSecret,
};
pub use resource::ProvisionedResource;
pub use state::{
    AccessProgress, CredentialRotations, DomainState, ProvisioningProgress, Suspension, Tenant,
    TenantState, TransientStreak,
};
pub use status::{TenantStatus, TenantStatusError};
pub use steps::{HookName, HookNameError, ProvisioningStep};
