//! How a provisioning step can fail: because a dependency is down or not answering (retried
//! without counting), worth retrying (counted), or not until someone changes something. The saga
//! retries the first two kinds with backoff and compensates at once (or after its limit) on the
//! last.

/// Why a step's `apply` or `release` failed. The message is for operators and goes into
/// `ProvisioningStepFailed`: adapters never put a secret into it.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// A dependency is down, unreachable or not answering: connection refused or reset, a
    /// connect or response timeout, a step that did not finish within its time limit, Redis
    /// still loading its data, PostgreSQL refusing connections (too many clients, starting up or
    /// shutting down), a pool timeout. Nothing about the tenant is wrong: the saga retries
    /// without spending the step's tries, up to a deadline (then the failures count).
    #[error("{0:#}")]
    Unavailable(anyhow::Error),
    /// Transient, and counted: a backend was unreachable, busy or in the way (connection lost, deadlock or lock
    /// timeout, a database in use, too many connections, an injected failure). The step may have
    /// done part of its work; running it again (or releasing it) finishes the job.
    #[error("{0:#}")]
    Retryable(anyhow::Error),
    /// A retry will fail the same way until someone changes something: a resource with the
    /// tenant's name exists and is not the tenant's, the step does not belong to the tenant's
    /// isolation model, a migration is broken, the control plane lacks a privilege, a stored
    /// secret cannot be decrypted with the configured key.
    #[error("{0:#}")]
    Permanent(anyhow::Error),
}

impl ProvisionError {
    pub fn retryable(error: impl Into<anyhow::Error>) -> Self {
        Self::Retryable(error.into())
    }

    pub fn permanent(error: impl Into<anyhow::Error>) -> Self {
        Self::Permanent(error.into())
    }

    pub fn unavailable(error: impl Into<anyhow::Error>) -> Self {
        Self::Unavailable(error.into())
    }

    /// Whether running the step again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Retryable(_) | Self::Unavailable(_))
    }

    /// Whether the failure is the infrastructure's, not the tenant's (see [`Self::Unavailable`]).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    /// The same error with `context` in front of its message, keeping its kind.
    pub fn context(self, context: impl std::fmt::Display + Send + Sync + 'static) -> Self {
        match self {
            Self::Unavailable(e) => Self::Unavailable(e.context(context)),
            Self::Retryable(e) => Self::Retryable(e.context(context)),
            Self::Permanent(e) => Self::Permanent(e.context(context)),
        }
    }
}
