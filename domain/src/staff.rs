//! Platform staff accounts as an aggregate (`staff-{uuid}`): who was given access to the control
//! plane, and when. The account's password hash never enters the log: it lives in the credential
//! lookup table that the application's staff handler keeps beside the stream (see
//! `tenantry_application::staff`). Disabling, enabling and deleting accounts will add events here.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::kernel::Aggregate;

/// A platform staff account was created (by `tenantry staff create`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffAccountCreated {
    pub staff_id: Uuid,
    /// Lower-cased.
    pub email: String,
}

crate::domain_events! {
    /// Any event of a staff account.
    pub enum StaffEvent;
    common { staff_id: Uuid }
    tenant: |_| None;
    StaffAccountCreated = 1,
}

/// What may be done with a staff account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffCommand {
    /// Create the account `staff_id` for `email` (already lower-cased and checked unique by the
    /// caller's lookup table).
    Create { staff_id: Uuid, email: String },
}

/// Why a staff command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StaffRefusal {
    #[error("staff account {0} already exists")]
    AlreadyExists(Uuid),
}

/// A staff account as its events describe it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaffAccountState {
    /// `(id, email)` once created.
    pub account: Option<(Uuid, String)>,
}

impl Aggregate for StaffAccountState {
    type Id = Uuid;
    type Command = StaffCommand;
    type Event = StaffEvent;
    type Error = StaffRefusal;
    const STREAM_PREFIX: &'static str = "staff-";

    fn decide(&self, command: StaffCommand) -> Result<Vec<StaffEvent>, StaffRefusal> {
        match (command, &self.account) {
            (StaffCommand::Create { staff_id, .. }, Some((existing, _)))
                if *existing == staff_id =>
            {
                Ok(vec![])
            }
            (StaffCommand::Create { .. }, Some((existing, _))) => {
                Err(StaffRefusal::AlreadyExists(*existing))
            }
            (StaffCommand::Create { staff_id, email }, None) => {
                Ok(vec![StaffAccountCreated { staff_id, email }.into()])
            }
        }
    }

    fn apply(&mut self, event: &StaffEvent) {
        match event {
            StaffEvent::StaffAccountCreated(created) => {
                self.account = Some((created.staff_id, created.email.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_created_once() {
        let id = Uuid::now_v7();
        let create = StaffCommand::Create {
            staff_id: id,
            email: "ops@example.com".into(),
        };
        let events = StaffAccountState::default()
            .decide(create.clone())
            .expect("new");
        let mut state = StaffAccountState::default();
        events.iter().for_each(|e| state.apply(e));
        assert_eq!(state.account, Some((id, "ops@example.com".into())));
        assert_eq!(state.decide(create), Ok(vec![]), "a retry decides nothing");
    }
}
