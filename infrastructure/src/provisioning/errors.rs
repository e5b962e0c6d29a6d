//! Sorting backend errors into the port's three kinds: unavailable (a dependency down,
//! unreachable or not answering: retried without counting), retryable (locks, contention, races:
//! counted) and permanent (everything a retry would meet again).

use sqlx::migrate::MigrateError;
use tenantry_application::provisioning::{ProvisionError, SecretError};

use crate::outage;

/// What kind of failure an error is (see [`ProvisionError`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Unavailable,
    Retryable,
    Permanent,
}

/// An error that knows whether retrying may help, and whether the fault is the infrastructure's.
pub(super) trait Classify: std::error::Error + Send + Sync + Sized + 'static {
    fn kind(&self) -> Kind;
}

/// `.or_fail(|| "failed to …")`: classify the error and put a message in front of it.
pub(super) trait OrFail<T> {
    fn or_fail<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T, ProvisionError>;
}

impl<T, E: Classify> OrFail<T> for Result<T, E> {
    fn or_fail<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T, ProvisionError> {
        self.map_err(|error| {
            let kind = error.kind();
            let error = anyhow::Error::new(error).context(what().into());
            match kind {
                Kind::Unavailable => ProvisionError::Unavailable(error),
                Kind::Retryable => ProvisionError::Retryable(error),
                Kind::Permanent => ProvisionError::Permanent(error),
            }
        })
    }
}

impl Classify for sqlx::Error {
    /// Unavailable: what the API answers 503 for ([`outage::of_sqlx`]: the server down,
    /// unreachable, full or restarting, the pool timed out).
    fn kind(&self) -> Kind {
        if outage::of_sqlx(self).is_some() {
            return Kind::Unavailable;
        }
        match self {
            Self::Tls(_) | Self::Protocol(_) => Kind::Retryable,
            Self::Database(error) => match error.code() {
                Some(code) if transient_sqlstate(&code) => Kind::Retryable,
                _ => Kind::Permanent,
            },
            _ => Kind::Permanent,
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
    fn kind(&self) -> Kind {
        match self {
            Self::Execute(error) | Self::ExecuteMigration(error, _) => error.kind(),
            _ => Kind::Permanent,
        }
    }
}

impl Classify for redis::RedisError {
    /// Unavailable: what the API answers 503 for ([`outage::of_redis`]: refused, reset, dropped
    /// or timed-out connections, any other IO error, a server that cannot serve yet). A refusal
    /// (`NOPERM`, a wrong type, a bad argument) is permanent.
    fn kind(&self) -> Kind {
        if outage::of_redis(self).is_some() {
            Kind::Unavailable
        } else {
            Kind::Permanent
        }
    }
}

impl Classify for SecretError {
    fn kind(&self) -> Kind {
        match self {
            Self::Undecryptable { .. } => Kind::Permanent,
            // The secret store's database down, full, or its pool timed out.
            Self::Backend(error) if outage::find_in(error).is_some() => Kind::Unavailable,
            Self::Backend(_) => Kind::Retryable,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    fn io_error(kind: io::ErrorKind) -> redis::RedisError {
        redis::RedisError::from(io::Error::from(kind))
    }

    #[test]
    fn redis_down_or_not_answering_is_unavailable() {
        for kind in [
            io::ErrorKind::ConnectionRefused,
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::BrokenPipe,
            io::ErrorKind::TimedOut,
            io::ErrorKind::UnexpectedEof,
        ] {
            assert_eq!(
                Classify::kind(&io_error(kind)),
                Kind::Unavailable,
                "{kind:?}"
            );
        }
        let loading = redis::RedisError::from((
            redis::ErrorKind::BusyLoadingError,
            "Redis is loading the dataset in memory",
        ));
        assert_eq!(Classify::kind(&loading), Kind::Unavailable);
    }

    #[test]
    fn a_refusal_by_redis_is_permanent() {
        let refused = redis::RedisError::from((redis::ErrorKind::ResponseError, "NOPERM"));
        assert_eq!(Classify::kind(&refused), Kind::Permanent);
    }

    #[test]
    fn postgres_unreachable_or_full_is_unavailable_and_contention_counts() {
        assert_eq!(
            sqlx::Error::Io(io::Error::from(io::ErrorKind::ConnectionRefused)).kind(),
            Kind::Unavailable
        );
        assert_eq!(sqlx::Error::PoolTimedOut.kind(), Kind::Unavailable);
        assert!(transient_sqlstate("40P01"), "a deadlock counts");
        let store = SecretError::Backend(
            anyhow::Error::new(sqlx::Error::PoolTimedOut).context("failed to store secret"),
        );
        assert_eq!(
            store.kind(),
            Kind::Unavailable,
            "the secret store's pool timed out"
        );
        assert!(!transient_sqlstate("42501"), "insufficient privilege");
    }

    #[test]
    fn kinds_become_the_ports_kinds() {
        let failed: Result<(), _> = Err(io_error(io::ErrorKind::ConnectionRefused));
        let error = failed.or_fail(|| "failed to connect to Redis").unwrap_err();
        assert!(error.is_transient() && error.is_retryable(), "{error}");
        assert!(
            error
                .to_string()
                .starts_with("failed to connect to Redis: "),
            "{error}"
        );
        let failed: Result<(), _> = Err(redis::RedisError::from((
            redis::ErrorKind::ResponseError,
            "NOPERM",
        )));
        let error = failed.or_fail(|| "no").unwrap_err();
        assert!(!error.is_retryable(), "{error}");
    }
}
