//! Sorting backend errors into the port's two kinds: retryable (connectivity, locks, contention,
//! resource limits) and permanent (everything a retry would meet again).

use sqlx::migrate::MigrateError;
use tenantry_application::provisioning::{ProvisionError, SecretError};

/// An error that knows whether retrying may help.
pub(super) trait Classify: std::error::Error + Send + Sync + Sized + 'static {
    fn retryable(&self) -> bool;
}

/// `.or_fail(|| "failed to …")`: classify the error and put a message in front of it.
pub(super) trait OrFail<T> {
    fn or_fail<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T, ProvisionError>;
}

impl<T, E: Classify> OrFail<T> for Result<T, E> {
    fn or_fail<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T, ProvisionError> {
        self.map_err(|error| {
            let retryable = error.retryable();
            let error = anyhow::Error::new(error).context(what().into());
            if retryable {
                ProvisionError::Retryable(error)
            } else {
                ProvisionError::Permanent(error)
            }
        })
    }
}

impl Classify for sqlx::Error {
    fn retryable(&self) -> bool {
        match self {
            Self::Io(_)
            | Self::Tls(_)
            | Self::Protocol(_)
            | Self::PoolTimedOut
            | Self::PoolClosed
            | Self::WorkerCrashed => true,
            Self::Database(error) => error.code().is_some_and(|code| transient_sqlstate(&code)),
            _ => false,
        }
    }
}

/// SQLSTATEs a later try can get past.
pub(super) fn transient_sqlstate(code: &str) -> bool {
    // 08: connection exception; 40: serialization failure, deadlock; 53: too many connections,
    // out of memory or disk; 57P: server shutting down or starting.
    ["08", "40", "53", "57P"]
        .iter()
        .any(|class| code.starts_with(class))
        || matches!(
            code,
            // lock_not_available, object_in_use (a database with connections), query_canceled
            "55P03" | "55006" | "57014"
            // a concurrent creator won the race (unique_violation in the catalogs,
            // duplicate_object/_database/_schema): the next try finds what it made
            | "23505" | "42710" | "42P04" | "42P06"
            // invalid_catalog_name: the template database is being replaced right now
            | "3D000"
        )
}

impl Classify for MigrateError {
    fn retryable(&self) -> bool {
        match self {
            Self::Execute(error) | Self::ExecuteMigration(error, _) => error.retryable(),
            _ => false,
        }
    }
}

impl Classify for redis::RedisError {
    fn retryable(&self) -> bool {
        self.is_io_error()
            || self.is_timeout()
            || self.is_connection_dropped()
            || self.is_connection_refusal()
            || matches!(
                self.kind(),
                redis::ErrorKind::BusyLoadingError
                    | redis::ErrorKind::TryAgain
                    | redis::ErrorKind::ClusterDown
                    | redis::ErrorKind::MasterDown
            )
    }
}

impl Classify for SecretError {
    fn retryable(&self) -> bool {
        match self {
            Self::Undecryptable { .. } => false,
            Self::Backend(_) => true,
        }
    }
}
