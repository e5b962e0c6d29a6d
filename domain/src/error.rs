//! The domain's refusals: a command broke a business rule, and nothing was decided. These are never
//! infrastructure failures; the application layer keeps those apart (its `CommandError` wraps this).

use crate::{IsolationModel, ProvisioningStep, TenantId, TenantStatus};

/// Why the aggregate refused a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The command needs a tenant, and the stream has none.
    #[error("tenant does not exist")]
    NotFound,
    #[error("tenant {tenant_id} already exists")]
    AlreadyExists { tenant_id: TenantId },
    /// The command is not allowed in the tenant's current status.
    #[error("cannot {action} a tenant that is {status}")]
    InvalidState {
        /// What was asked, as a verb phrase: "suspend", "change the plan of", …
        action: &'static str,
        status: TenantStatus,
    },
    #[error("step {step} is not part of this tenant's provisioning ({isolation})")]
    StepNotPlanned {
        step: ProvisioningStep,
        isolation: IsolationModel,
    },
    /// Steps run in order; a saga reporting another step than the next one is confused.
    #[error("cannot record step {step}: {}", match expected {
        Some(next) => format!("the next step is {next}"),
        None => "every step has already succeeded".to_owned(),
    })]
    StepOutOfOrder {
        step: ProvisioningStep,
        expected: Option<ProvisioningStep>,
    },
    /// The step's success was already recorded, with other resources. Recording the second would
    /// lose track of the first, which would then never be released.
    #[error("step {step} already succeeded with other resources")]
    StepAlreadyRecorded { step: ProvisioningStep },
    #[error("cannot schedule a retry of step {step}: it has not failed")]
    NoFailureToRetry { step: ProvisioningStep },
    #[error("cannot complete provisioning: steps not done yet: {}", join(missing))]
    StepsIncomplete { missing: Vec<ProvisioningStep> },
    /// A rotation of the tenant's credentials is still in its grace period (or being applied):
    /// one at a time.
    #[error(
        "rotation {rotation} of the tenant's credentials is still in progress{}",
        match grace_until {
            Some(at) => format!(" (its grace period ends at {})", at.to_rfc3339()),
            None => String::new(),
        }
    )]
    RotationInProgress {
        rotation: u32,
        grace_until: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// A rollback or deletion cannot finish while something is still held.
    #[error("cannot {action}: resources not released yet: {}", join(held))]
    ResourcesHeld {
        action: &'static str,
        held: Vec<ProvisioningStep>,
    },
}

impl DomainError {
    /// A stable, machine-readable code for the API's error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "tenant_not_found",
            Self::AlreadyExists { .. } => "tenant_exists",
            Self::InvalidState { .. } => "invalid_state",
            Self::StepNotPlanned { .. }
            | Self::StepOutOfOrder { .. }
            | Self::StepAlreadyRecorded { .. }
            | Self::NoFailureToRetry { .. } => "invalid_step",
            Self::StepsIncomplete { .. } => "steps_incomplete",
            Self::ResourcesHeld { .. } => "resources_held",
            Self::RotationInProgress { .. } => "rotation_in_progress",
        }
    }
}

fn join(steps: &[ProvisioningStep]) -> String {
    steps
        .iter()
        .map(|step| step.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
