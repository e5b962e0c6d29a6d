//! Read-your-writes (API.md "Consistency"): any GET may carry `min_position=N`; the server waits,
//! up to `TENANTRY_READ_MODEL_WAIT_MS` (5 s by default), until the read models the query uses
//! have processed global position N, then answers, or answers 503 with `Retry-After`.

use std::time::Duration;

use tenantry_projections::wait_for_position;

use super::{ApiError, AppState};

/// Waits until `projectors` have passed `position` (when given).
pub(crate) async fn wait(
    state: &AppState,
    position: Option<u64>,
    projectors: &[&str],
) -> Result<(), ApiError> {
    // Position 0 comes before the first event: every read model has processed it.
    let Some(position) = position.filter(|p| *p > 0) else {
        return Ok(());
    };
    let caught_up = wait_for_position(
        &state.pool,
        &*state.store,
        position,
        projectors,
        state.read_model_wait,
    )
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    if caught_up {
        Ok(())
    } else {
        Err(ApiError::Unavailable {
            code: "not_caught_up",
            message: format!(
                "the read models have not processed position {position} yet; retry shortly"
            ),
            retry_after: Some(Duration::from_secs(1)),
        })
    }
}
