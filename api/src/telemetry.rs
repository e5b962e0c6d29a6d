//! Logging: `tracing` to stderr, filtered by `RUST_LOG` (default `info`, PostgreSQL notices at
//! `warn`), as JSON when `TENANTRY_LOG_FORMAT=json`; colours only when stderr is a terminal, so a
//! log file or a pipe gets plain text.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Call once, at start.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(
        |_| // PostgreSQL's notices ("… already exists, skipping") are not news.
        EnvFilter::new("info,sqlx::postgres::notice=warn"),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    if std::env::var("TENANTRY_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}
