//! Why a command did not go through. "Refused" (bad input, a business rule, a stale version) is
//! kept apart from "failed to record" (`Internal`), so callers can answer 4xx vs 5xx.

use tenantry_domain::{DomainError, FieldError};

use crate::event_store::EventStoreError;

/// A value of the input is invalid; `field` names it as the API does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidInput {
    pub field: &'static str,
    pub code: &'static str,
    pub message: String,
}

impl InvalidInput {
    pub(super) fn from_field(error: &dyn FieldError) -> Self {
        Self {
            field: error.field(),
            code: error.code(),
            message: error.to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// No tenant has this id.
    #[error("no tenant with id {0}")]
    NotFound(uuid::Uuid),
    /// The domain refused the command (e.g. not allowed in the tenant's status).
    #[error(transparent)]
    Rejected(DomainError),
    /// Another live tenant holds the slug.
    #[error("slug {0} is taken")]
    SlugTaken(String),
    /// The caller's `If-Match` version is not the tenant's.
    #[error("the tenant is at version {actual}, not {expected}")]
    StaleVersion { expected: u64, actual: u64 },
    /// Other writers kept appending to the stream; every attempt lost the race.
    #[error("the tenant changed concurrently too often; try again")]
    Contended,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<EventStoreError> for CommandError {
    fn from(error: EventStoreError) -> Self {
        Self::Internal(anyhow::Error::new(error).context("event store"))
    }
}
