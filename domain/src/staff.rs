//! Platform staff accounts as an aggregate (`staff-{uuid}`): who was given access to the control
//! plane and when, and who lost it. The account's password hash never enters the log: it lives in
//! the credential lookup table that the application's staff handler keeps beside the stream (see
//! `tenantry_application::staff`), which also mirrors the state decided here.
//!
//! An account is active, disabled or deleted. Disabling and enabling go back and forth; deleting
//! is final (a deleted account is neither disabled nor enabled again; its email may be given to a
//! new account, with a new id and stream). A command whose outcome already holds decides nothing:
//! disabling a disabled account, enabling an active one and deleting a deleted one are no-ops.

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

/// A staff account was disabled: it may not log in, and its tokens stop working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffAccountDisabled {
    pub staff_id: Uuid,
    /// Why, as the operator put it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A disabled staff account was enabled again: it may log in. Tokens issued before it was
/// disabled stay refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffAccountEnabled {
    pub staff_id: Uuid,
}

/// A staff account was deleted, for good: it may not log in, its tokens stop working, and its
/// email is free for a new account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffAccountDeleted {
    pub staff_id: Uuid,
}

crate::domain_events! {
    /// Any event of a staff account.
    pub enum StaffEvent;
    common { staff_id: Uuid }
    tenant: |_| None;
    StaffAccountCreated = 1,
    StaffAccountDisabled = 1,
    StaffAccountEnabled = 1,
    StaffAccountDeleted = 1,
}

/// What may be done with a staff account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffCommand {
    /// Create the account `staff_id` for `email` (already lower-cased and checked unique by the
    /// caller's lookup table).
    Create { staff_id: Uuid, email: String },
    /// Take the account's access away until it is enabled again.
    Disable { reason: Option<String> },
    /// Give a disabled account its access back.
    Enable,
    /// Remove the account for good.
    Delete,
}

/// Why a staff command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StaffRefusal {
    #[error("staff account {0} already exists")]
    AlreadyExists(Uuid),
    #[error("the staff account has no history in the event log")]
    NotFound,
    #[error("staff account {0} is deleted; a deleted account cannot be disabled or enabled")]
    Deleted(Uuid),
}

/// Whether a staff account may be used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StaffStatus {
    #[default]
    Active,
    Disabled,
    Deleted,
}

impl StaffStatus {
    /// `active`, `disabled` or `deleted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
            Self::Deleted => "deleted",
        }
    }
}

impl std::fmt::Display for StaffStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A staff account as its events describe it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaffAccountState {
    /// `(id, email)` once created.
    pub account: Option<(Uuid, String)>,
    /// Meaningful once created.
    pub status: StaffStatus,
}

impl Aggregate for StaffAccountState {
    type Id = Uuid;
    type Command = StaffCommand;
    type Event = StaffEvent;
    type Error = StaffRefusal;
    const STREAM_PREFIX: &'static str = "staff-";

    fn decide(&self, command: StaffCommand) -> Result<Vec<StaffEvent>, StaffRefusal> {
        let (command, staff_id) = match (command, &self.account) {
            (StaffCommand::Create { staff_id, .. }, Some((existing, _)))
                if *existing == staff_id =>
            {
                return Ok(vec![]);
            }
            (StaffCommand::Create { .. }, Some((existing, _))) => {
                return Err(StaffRefusal::AlreadyExists(*existing));
            }
            (StaffCommand::Create { staff_id, email }, None) => {
                return Ok(vec![StaffAccountCreated { staff_id, email }.into()]);
            }
            (_, None) => return Err(StaffRefusal::NotFound),
            (command, Some((staff_id, _))) => (command, *staff_id),
        };
        use StaffStatus::{Active, Deleted, Disabled};
        match (command, self.status) {
            (StaffCommand::Create { .. }, _) => unreachable!("decided above"),
            (StaffCommand::Delete, Deleted) => Ok(vec![]),
            (StaffCommand::Delete, Active | Disabled) => {
                Ok(vec![StaffAccountDeleted { staff_id }.into()])
            }
            (StaffCommand::Disable { .. } | StaffCommand::Enable, Deleted) => {
                Err(StaffRefusal::Deleted(staff_id))
            }
            (StaffCommand::Disable { .. }, Disabled) | (StaffCommand::Enable, Active) => Ok(vec![]),
            (StaffCommand::Disable { reason }, Active) => {
                Ok(vec![StaffAccountDisabled { staff_id, reason }.into()])
            }
            (StaffCommand::Enable, Disabled) => Ok(vec![StaffAccountEnabled { staff_id }.into()]),
        }
    }

    fn apply(&mut self, event: &StaffEvent) {
        match event {
            StaffEvent::StaffAccountCreated(created) => {
                self.account = Some((created.staff_id, created.email.clone()));
                self.status = StaffStatus::Active;
            }
            StaffEvent::StaffAccountDisabled(_) => self.status = StaffStatus::Disabled,
            StaffEvent::StaffAccountEnabled(_) => self.status = StaffStatus::Active,
            StaffEvent::StaffAccountDeleted(_) => self.status = StaffStatus::Deleted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created(id: Uuid) -> StaffAccountState {
        let mut state = StaffAccountState::default();
        let events = state
            .decide(StaffCommand::Create {
                staff_id: id,
                email: "ops@example.com".into(),
            })
            .expect("new");
        events.iter().for_each(|e| state.apply(e));
        state
    }

    /// `state` after `command`, and the events it decided.
    fn run(
        state: &StaffAccountState,
        command: StaffCommand,
    ) -> Result<(StaffAccountState, Vec<StaffEvent>), StaffRefusal> {
        let events = state.decide(command)?;
        let mut next = state.clone();
        events.iter().for_each(|e| next.apply(e));
        Ok((next, events))
    }

    #[test]
    fn an_account_is_created_once() {
        let id = Uuid::now_v7();
        let create = StaffCommand::Create {
            staff_id: id,
            email: "ops@example.com".into(),
        };
        let state = created(id);
        assert_eq!(state.account, Some((id, "ops@example.com".into())));
        assert_eq!(state.status, StaffStatus::Active);
        assert_eq!(state.decide(create), Ok(vec![]), "a retry decides nothing");
        let other = StaffCommand::Create {
            staff_id: Uuid::now_v7(),
            email: "ops@example.com".into(),
        };
        assert_eq!(state.decide(other), Err(StaffRefusal::AlreadyExists(id)));
    }

    #[test]
    fn disabling_and_enabling_go_back_and_forth_and_repeat_harmlessly() {
        let id = Uuid::now_v7();
        let reason = Some("left the team".to_owned());
        let (disabled, events) = run(
            &created(id),
            StaffCommand::Disable {
                reason: reason.clone(),
            },
        )
        .expect("disable");
        assert_eq!(
            events,
            vec![
                StaffAccountDisabled {
                    staff_id: id,
                    reason
                }
                .into()
            ]
        );
        assert_eq!(disabled.status, StaffStatus::Disabled);
        assert_eq!(
            disabled.decide(StaffCommand::Disable { reason: None }),
            Ok(vec![]),
            "disabling a disabled account decides nothing"
        );

        let (enabled, events) = run(&disabled, StaffCommand::Enable).expect("enable");
        assert_eq!(events, vec![StaffAccountEnabled { staff_id: id }.into()]);
        assert_eq!(enabled.status, StaffStatus::Active);
        assert_eq!(
            enabled.decide(StaffCommand::Enable),
            Ok(vec![]),
            "enabling an active account decides nothing"
        );
    }

    #[test]
    fn deleting_is_final_and_repeats_harmlessly() {
        let id = Uuid::now_v7();
        let (disabled, _) =
            run(&created(id), StaffCommand::Disable { reason: None }).expect("disable");
        for before in [created(id), disabled] {
            let (deleted, events) = run(&before, StaffCommand::Delete).expect("delete");
            assert_eq!(events, vec![StaffAccountDeleted { staff_id: id }.into()]);
            assert_eq!(deleted.status, StaffStatus::Deleted);
            assert_eq!(deleted.decide(StaffCommand::Delete), Ok(vec![]));
            assert_eq!(
                deleted.decide(StaffCommand::Enable),
                Err(StaffRefusal::Deleted(id))
            );
            assert_eq!(
                deleted.decide(StaffCommand::Disable { reason: None }),
                Err(StaffRefusal::Deleted(id))
            );
        }
    }

    #[test]
    fn an_account_without_history_is_refused() {
        let none = StaffAccountState::default();
        for command in [
            StaffCommand::Disable { reason: None },
            StaffCommand::Enable,
            StaffCommand::Delete,
        ] {
            assert_eq!(none.decide(command), Err(StaffRefusal::NotFound));
        }
    }

    #[test]
    fn a_disabling_without_a_reason_stores_only_the_id() {
        use crate::kernel::DomainEvent;
        let id = Uuid::nil();
        let disabled: StaffEvent = StaffAccountDisabled {
            staff_id: id,
            reason: None,
        }
        .into();
        let encoded = disabled.encode().expect("encode");
        assert_eq!(encoded.event_type, "StaffAccountDisabled");
        assert_eq!(encoded.payload, serde_json::json!({ "staff_id": id }));
        let back = StaffEvent::decode(encoded.event_type, encoded.schema_version, encoded.payload)
            .expect("decode");
        assert_eq!(back, disabled);
    }
}
