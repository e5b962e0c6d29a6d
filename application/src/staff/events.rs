//! The staff events that go into the event log. They say who was given access and when; they
//! never carry the password or its hash.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The `event_type` of [`StaffAccountCreated`].
pub const STAFF_ACCOUNT_CREATED: &str = "StaffAccountCreated";

/// A platform staff account was created (by `tenantry staff create`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffAccountCreated {
    pub staff_id: Uuid,
    /// Lower-cased.
    pub email: String,
}

/// The stream of one staff account's events: `staff-{uuid}`.
pub fn staff_stream(id: Uuid) -> String {
    format!("staff-{id}")
}
