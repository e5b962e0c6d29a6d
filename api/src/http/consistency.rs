//! Read-your-writes (API.md "Consistency"): any GET may carry `min_position=N`; the server waits,
//! up to `TENANTRY_READ_MODEL_WAIT_MS` (5 s by default), until the read models the query uses
//! have processed global position N, then answers, or answers 503 with `Retry-After`.
//!
//! A position no answer can have handed out is refused at once, not waited for: beyond what the
//! event store can hold (`i64::MAX`), or holding no event and beyond the head of the log → 400
//! naming `min_position`. `0` (before the first event) needs no wait.

use std::time::Duration;

use tenantry_projections::wait_for_position;

use super::{ApiError, AppState};

/// The largest global position the event store can hold (PostgreSQL keeps it as a `bigint`).
const MAX_POSITION: u64 = i64::MAX as u64;

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
    let Some(position) = target(state, position).await? else {
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

/// The position of an event to wait for: `position` when an event is stored there; the head when
/// `position` is a gap behind it (positions need not be dense); none for `0` or an empty log.
/// Anything else cannot be a position an answer gave out: 400.
async fn target(state: &AppState, position: u64) -> Result<Option<u64>, ApiError> {
    let out_of_range = |message: String| ApiError::BadRequest {
        code: "invalid_query",
        message,
        field: Some("min_position".into()),
    };
    if position > MAX_POSITION {
        return Err(out_of_range(format!(
            "min_position must be at most {MAX_POSITION}, got {position}"
        )));
    }
    if position == 0 {
        return Ok(None);
    }
    let store_error =
        |e: tenantry_application::event_store::EventStoreError| ApiError::Internal(e.into());
    if state
        .store
        .checkpoint_of(position)
        .await
        .map_err(store_error)?
        .is_some()
    {
        return Ok(Some(position));
    }
    let head = state.store.head().await.map_err(store_error)?;
    if head.position == 0 {
        // Nothing in the log yet that a wait could reach.
        return Err(out_of_range(format!(
            "min_position {position} is beyond the end of the log, which is empty"
        )));
    }
    if position < head.position {
        return Ok(Some(head.position));
    }
    Err(out_of_range(format!(
        "min_position {position} is beyond the end of the log (its last event is at position {}); \
         pass the `position` a command answered",
        head.position
    )))
}
