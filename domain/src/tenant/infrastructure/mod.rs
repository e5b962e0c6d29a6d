//! A tenant's infrastructure, in one place: what each isolation model makes (its provisioning
//! steps in order, and the kinds of resource each step leaves behind) and what every piece is
//! called (its schema, database, roles, Redis namespace, queue, consumer group and secrets), and
//! which of it is the tenant's access, which a suspension switches off (`access.rs`).
//!
//! The provisioners, the sagas, the drift report (`tenantry doctor`), the API's onboarding answer
//! and the tests all read these, so they cannot disagree about a tenant's infrastructure. The
//! names are derived from the tenant id alone: a release, the inventory or the doctor finds what a
//! tenant has without reading any event. They are part of the data existing tenants already have,
//! so a name's format never changes.

mod access;
mod kinds;
mod names;

pub use access::{AccessAction, AccessResource};
pub use kinds::{ResourceKind, StepOutput, TenantLogin};
pub use names::{TenantNames, TenantSecret};
