//! Telling "a dependency is down or saturated" apart from everything else that can fail, from the
//! error types themselves ([`sqlx::Error`], [`redis::RedisError`]) rather than from their text:
//! the API answers the first 503 `unavailable` with `Retry-After` (a retry will succeed once the
//! dependency is back) and the rest 500.
//!
//! [`find_in`] walks an error's `source()` chain, so a `sqlx::Error` wrapped in `anyhow` context,
//! an `EventStoreError::Backend` or a `StaffError::Backend` is found where it is.

use std::fmt;

/// Which dependency is unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    Postgres,
    Redis,
}

impl Dependency {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Redis => "redis",
        }
    }
}

impl fmt::Display for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a dependency is unavailable, in words fit for a client (no hosts, no credentials).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outage {
    pub dependency: Dependency,
    pub reason: Reason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// No pooled connection became free within the acquire timeout: every connection is busy,
    /// or none can be opened (the server is down, refuses, or has no connection slot left).
    PoolTimedOut,
    /// The pool is closed (the process is shutting down).
    PoolClosed,
    /// The connection failed (refused, reset, dropped, timed out).
    Connection,
    /// The server has no connection slot left ("too many clients already").
    TooManyClients,
    /// The server is shutting down, restarting or starting up.
    ShuttingDown,
    /// The server answered that it cannot serve now (e.g. Redis loading its data set).
    Busy,
}

impl fmt::Display for Outage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.dependency {
            Dependency::Postgres => "the database",
            Dependency::Redis => "Redis",
        };
        match self.reason {
            Reason::PoolTimedOut => write!(
                f,
                "{what} is unavailable: no connection became free in time (the server is down or every connection is busy)"
            ),
            Reason::PoolClosed => write!(f, "{what} is unavailable: the service is shutting down"),
            Reason::Connection => write!(f, "{what} is unavailable: the connection failed"),
            Reason::TooManyClients => {
                write!(f, "{what} is unavailable: it has no connection slot left")
            }
            Reason::ShuttingDown => {
                write!(
                    f,
                    "{what} is unavailable: it is shutting down or starting up"
                )
            }
            Reason::Busy => write!(f, "{what} is unavailable: it cannot serve right now"),
        }
    }
}

/// The first outage in `error`'s chain (the error it wraps, then each `source()`), if any.
pub fn find_in(error: &anyhow::Error) -> Option<Outage> {
    error.chain().find_map(|e| {
        if let Some(e) = e.downcast_ref::<sqlx::Error>() {
            of_sqlx(e)
        } else {
            e.downcast_ref::<redis::RedisError>().and_then(of_redis)
        }
    })
}

/// Whether a `sqlx::Error` means PostgreSQL is unreachable or saturated.
pub fn of_sqlx(error: &sqlx::Error) -> Option<Outage> {
    let reason = match error {
        sqlx::Error::PoolTimedOut => Reason::PoolTimedOut,
        sqlx::Error::PoolClosed => Reason::PoolClosed,
        sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed => Reason::Connection,
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // too_many_connections
            Some("53300") => Reason::TooManyClients,
            // admin_shutdown, crash_shutdown, cannot_connect_now
            Some("57P01" | "57P02" | "57P03") => Reason::ShuttingDown,
            // connection_exception and its kinds, but not a protocol violation (a bug)
            Some(code) if code.starts_with("08") && code != "08P01" => Reason::Connection,
            _ => return None,
        },
        _ => return None,
    };
    Some(Outage {
        dependency: Dependency::Postgres,
        reason,
    })
}

/// Whether a `redis::RedisError` means Redis is unreachable or cannot serve now.
pub fn of_redis(error: &redis::RedisError) -> Option<Outage> {
    use redis::ErrorKind;
    let reason = if error.is_connection_refusal()
        || error.is_connection_dropped()
        || error.is_io_error()
        || error.is_timeout()
    {
        Reason::Connection
    } else {
        match error.kind() {
            ErrorKind::BusyLoadingError
            | ErrorKind::TryAgain
            | ErrorKind::MasterDown
            | ErrorKind::ClusterDown => Reason::Busy,
            _ => return None,
        }
    };
    Some(Outage {
        dependency: Dependency::Redis,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use std::io;

    use anyhow::Context;

    use super::*;

    fn io_error(kind: io::ErrorKind) -> io::Error {
        io::Error::new(kind, "test")
    }

    #[test]
    fn pool_timeouts_and_io_errors_are_postgres_outages() {
        let timed_out = of_sqlx(&sqlx::Error::PoolTimedOut).unwrap();
        assert_eq!(timed_out.dependency, Dependency::Postgres);
        assert_eq!(timed_out.reason, Reason::PoolTimedOut);
        let refused = sqlx::Error::Io(io_error(io::ErrorKind::ConnectionRefused));
        assert_eq!(of_sqlx(&refused).unwrap().reason, Reason::Connection);
        assert_eq!(
            of_sqlx(&sqlx::Error::PoolClosed).unwrap().reason,
            Reason::PoolClosed
        );
    }

    #[test]
    fn other_sqlx_errors_are_not() {
        assert_eq!(of_sqlx(&sqlx::Error::RowNotFound), None);
        assert_eq!(of_sqlx(&sqlx::Error::Protocol("bad".into())), None);
        assert_eq!(of_sqlx(&sqlx::Error::ColumnNotFound("x".into())), None);
    }

    #[test]
    fn found_under_context_and_wrappers() {
        #[derive(Debug, thiserror::Error)]
        enum Wrapper {
            #[error("backend: {0:#}")]
            Backend(#[from] anyhow::Error),
        }
        let inner = Err::<(), _>(sqlx::Error::PoolTimedOut)
            .context("failed to check the token")
            .unwrap_err();
        let wrapped = anyhow::Error::new(Wrapper::from(inner)).context("staff store");
        assert_eq!(
            find_in(&wrapped).map(|o| o.reason),
            Some(Reason::PoolTimedOut)
        );
        assert_eq!(find_in(&anyhow::anyhow!("a bug")), None);
    }

    #[test]
    fn redis_connection_failures_are_redis_outages() {
        let refused = redis::RedisError::from(io_error(io::ErrorKind::ConnectionRefused));
        let outage = of_redis(&refused).unwrap();
        assert_eq!(outage.dependency, Dependency::Redis);
        assert_eq!(outage.reason, Reason::Connection);
        let loading = redis::RedisError::from((redis::ErrorKind::BusyLoadingError, "loading"));
        assert_eq!(of_redis(&loading).unwrap().reason, Reason::Busy);
        let wrong = redis::RedisError::from((redis::ErrorKind::TypeError, "wrong type"));
        assert_eq!(of_redis(&wrong), None);
        let wrapped = anyhow::Error::new(refused).context("failed to connect to Redis");
        assert_eq!(
            find_in(&wrapped).map(|o| o.dependency),
            Some(Dependency::Redis)
        );
    }

    #[test]
    fn the_message_names_no_host() {
        let text = Outage {
            dependency: Dependency::Postgres,
            reason: Reason::TooManyClients,
        }
        .to_string();
        assert_eq!(
            text,
            "the database is unavailable: it has no connection slot left"
        );
    }
}
