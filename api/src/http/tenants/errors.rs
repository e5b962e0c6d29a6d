//! How the tenant commands' refusals read over HTTP: one mapping, used by every handler. What the
//! domain decided is marked so (`ApiError::decided`): an idempotent retry gets the same answer.

use tenantry_application::tenants::CommandError;
use tenantry_domain::DomainError;

use crate::http::ApiError;

impl From<CommandError> for ApiError {
    fn from(error: CommandError) -> Self {
        match error {
            CommandError::Invalid(invalid) => {
                ApiError::unprocessable(invalid.code, invalid.message, invalid.field).decided()
            }
            CommandError::NotFound(id) => {
                ApiError::NotFound(format!("no tenant with id {id}")).decided()
            }
            CommandError::Rejected(DomainError::NotFound) => {
                ApiError::NotFound("no such tenant".into()).decided()
            }
            CommandError::Rejected(rejected) => {
                ApiError::conflict(rejected.code(), rejected.to_string()).decided()
            }
            CommandError::SlugTaken(slug) => ApiError::Conflict {
                code: "slug_taken",
                message: format!("slug {slug} is taken by another tenant"),
            }
            .decided(),
            CommandError::StaleVersion { .. } => {
                ApiError::conflict("version_mismatch", error.to_string()).decided()
            }
            // Lost races against other writers: a retry may well succeed, so not kept.
            CommandError::Contended => ApiError::conflict("contended", error.to_string()),
            CommandError::Internal(e) => ApiError::Internal(e),
        }
    }
}
