//! Value objects: the small, self-validating types that commands and events are made of.
//!
//! Each one *parses* rather than validates: `X::parse(input) -> Result<X, XError>` is the only way
//! to make one from untrusted input, so holding an `X` proves the input met the rules. The errors
//! are written for the person who sent the input, and name the field they concern
//! ([`FieldError`]), so the API can answer a 422 without knowing the rules itself. Free text
//! (names, reasons, emails) shares one set of character rules, [`TextFault`].

mod catalog;
mod email;
mod field;
mod isolation;
mod name;
mod plan;
mod reason;
mod reserved;
mod secret_ref;
mod slug;
mod text;

pub use catalog::{PlanCatalog, PlanCatalogError, PlanError};
pub use email::{Email, EmailError};
pub use field::FieldError;
pub use isolation::{IsolationModel, IsolationModelError};
pub use name::{TenantName, TenantNameError};
pub use plan::{Plan, PlanLimits, PlanName, PlanNameError};
pub use reason::{Reason, ReasonError};
pub use reserved::ReservedSubdomains;
pub use secret_ref::{SecretRef, SecretRefError};
pub use slug::{Slug, SlugError};
pub use text::TextFault;
