//! What can go wrong on the read side, for callers that want to tell the cases apart; background
//! tasks and the CLI wrap these in `anyhow` with context.

use tenantry_application::event_store::EventStoreError;

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("no projector is named {0:?}")]
    UnknownProjector(String),
    /// Another `rebuild` of the same projector holds its rebuild lock.
    #[error("a rebuild of {0} is already running")]
    RebuildInProgress(String),
    /// A projector failed to apply events.
    #[error("projector {projector} failed on the events up to position {position}: {source:#}")]
    Apply {
        projector: String,
        position: u64,
        #[source]
        source: anyhow::Error,
    },
    #[error(transparent)]
    EventStore(#[from] EventStoreError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}
