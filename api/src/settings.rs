//! Typed settings: defaults, overridden by `TENANTRY_…` environment variables, overridden by
//! command-line flags (clap does the layering, so there is one place that names each setting).
//! The secrets among them are [`SecretString`]s: `Debug` shows `[REDACTED]`, and their text is
//! reached only through `expose_secret()` where it is used.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use secrecy::SecretString;

use tenantry_application::provisioning::{Faults, FaultsError, StepTimeouts};
use tenantry_application::sagas::{Backoff, TransientRetries};
use tenantry_infrastructure::provisioning::{ProvisioningOptions, TenantMigrationSet};
use tenantry_infrastructure::redis_config::RedisConfig;

/// Every subcommand takes these; `--help` lists them apart, after the subcommand's own options.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Global options")]
pub struct Settings {
    /// The control-plane database; `tenantry migrate` creates it when it does not exist.
    #[arg(
        long,
        global = true,
        env = "TENANTRY_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/tenantry"
    )]
    pub database_url: String,

    /// Where the event log lives: a `postgres://` URL (unset: the control-plane database), or a
    /// `kurrentdb://` / `esdb://` URL (`…+discover://` too), which needs a build with the
    /// `kurrentdb` feature. Read models, checkpoints, leases and idempotency keys stay in the
    /// control-plane database either way.
    #[arg(
        long,
        global = true,
        env = "TENANTRY_EVENT_STORE_URL",
        hide_env_values = true
    )]
    pub event_store_url: Option<String>,

    /// Redis, for tenant namespaces and queues.
    #[arg(
        long,
        global = true,
        env = "TENANTRY_REDIS_URL",
        default_value = "redis://127.0.0.1:6379"
    )]
    pub redis_url: String,

    /// Where the HTTP API listens (port 0: any free port).
    #[arg(
        long,
        global = true,
        env = "TENANTRY_HTTP_ADDR",
        default_value = "127.0.0.1:8080"
    )]
    pub http_addr: SocketAddr,

    /// Most connections the process opens to the control-plane database.
    #[arg(
        long,
        global = true,
        env = "TENANTRY_DATABASE_MAX_CONNECTIONS",
        default_value_t = 16
    )]
    pub database_max_connections: u32,

    /// How long a request waits for a pooled database connection, in milliseconds, before it
    /// answers 503 `unavailable` (with `Retry-After`). A PostgreSQL that is down or has no
    /// connection slot left shows after this long, so keep it short.
    #[arg(
        long,
        global = true,
        env = "TENANTRY_DATABASE_ACQUIRE_TIMEOUT_MS",
        default_value_t = 1_500,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub database_acquire_timeout_ms: u64,

    /// Signing key for staff access tokens. When unset, one is generated on first start and kept
    /// in the database (with a warning: set it explicitly in production).
    #[arg(
        long,
        global = true,
        env = "TENANTRY_JWT_SECRET",
        hide_env_values = true,
        value_parser = secret
    )]
    pub jwt_secret: Option<SecretString>,

    /// Lifetime of a staff access token, in seconds.
    #[arg(
        long,
        global = true,
        env = "TENANTRY_ACCESS_TOKEN_TTL_SECS",
        default_value_t = 900
    )]
    pub access_token_ttl_secs: u64,

    /// Hosts (comma-separated) on which `/platform/api/*` answers; others get 403. Empty: any.
    #[arg(
        long,
        global = true,
        env = "TENANTRY_CONTROL_PLANE_HOSTS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub control_plane_hosts: Vec<String>,

    /// Extra subdomains (comma- or space-separated) no tenant slug may take, besides the built-in
    /// `admin`, `api`, `www`, `platform`, `sistema`, `static`, `mail`.
    #[arg(
        long,
        global = true,
        env = "TENANTRY_RESERVED_SUBDOMAINS",
        default_value = ""
    )]
    pub reserved_subdomains: String,

    /// The domain under which every tenant gets `{slug}.{base domain}`.
    #[arg(
        long,
        global = true,
        env = "TENANTRY_BASE_DOMAIN",
        default_value = "localhost"
    )]
    pub base_domain: String,

    /// How long a query with `min_position` waits for its read models before answering 503, in
    /// milliseconds. They are usually there within milliseconds; a long transaction anywhere on
    /// the PostgreSQL server holds them back (README: "Positions and checkpoints").
    #[arg(
        long,
        global = true,
        env = "TENANTRY_READ_MODEL_WAIT_MS",
        default_value_t = 5_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub read_model_wait_ms: u64,

    /// A JSON file with the plan catalog (`{"default_plan", "plans": [...]}`); the built-in
    /// catalog (free, basic, pro, enterprise) when unset.
    #[arg(long, global = true, env = "TENANTRY_PLANS_FILE")]
    pub plans_file: Option<std::path::PathBuf>,

    /// Staff login attempts allowed per minute for one email, successful or not (then 429).
    #[arg(
        long,
        global = true,
        env = "TENANTRY_LOGIN_RATE_PER_EMAIL",
        default_value_t = 5,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub login_rate_per_email: u32,

    /// Staff login attempts allowed per minute from one client IP (the socket peer address;
    /// `X-Forwarded-For` is not trusted), successful or not (then 429).
    #[arg(
        long,
        global = true,
        env = "TENANTRY_LOGIN_RATE_PER_IP",
        default_value_t = 20,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub login_rate_per_ip: u32,

    /// The key that encrypts the secret store (tenant database and Redis passwords): 32 bytes,
    /// as 64 hex digits or base64. When unset, one is generated on first start and kept in the
    /// database beside the secrets it encrypts (with a warning): for development only.
    #[arg(
        long,
        global = true,
        env = "TENANTRY_SECRET_KEY",
        hide_env_values = true,
        value_parser = secret
    )]
    pub secret_key: Option<SecretString>,

    /// Failure injection for rehearsals, e.g. `schema:2,redis_namespace:always,
    /// panic:after_apply:queue` (see `application::provisioning::Faults`). Empty: off.
    #[arg(long, global = true, env = "TENANTRY_FAULTS", default_value = "")]
    pub faults: String,

    /// Whether this process runs the provisioning and deletion saga (one process at a time does,
    /// whatever this says; `false` for a replica that should only serve the API).
    #[arg(
        long,
        global = true,
        env = "TENANTRY_RUN_SAGAS",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub run_sagas: bool,

    /// The liveness bound of every leadership lock (the provisioning saga's lease, each
    /// projector's lock), in seconds: a leader that has been silent this long (frozen, cut off
    /// from PostgreSQL) loses its locks, and another process takes over; its writes after that
    /// are refused. Leaders heartbeat every quarter of it. Needs PostgreSQL 14 or later
    /// (`idle_session_timeout`).
    #[arg(
        long,
        global = true,
        env = "TENANTRY_LEADER_LIVENESS_SECS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(2..=3600)
    )]
    pub leader_liveness_secs: u64,

    /// A projector with events waiting but no batch committed for this many seconds is reported
    /// `stalled` (by `tenantry projections status` and, as degraded, by `/readyz`).
    #[arg(
        long,
        global = true,
        env = "TENANTRY_PROJECTOR_STALLED_SECS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub projector_stalled_secs: u64,

    /// Tenants the provisioning saga drives at the same time.
    #[arg(
        long,
        global = true,
        env = "TENANTRY_PROVISIONING_CONCURRENCY",
        default_value_t = 8
    )]
    pub provisioning_concurrency: usize,

    /// Tries of one provisioning step before the attempt is rolled back.
    #[arg(
        long,
        global = true,
        env = "TENANTRY_PROVISIONING_MAX_TRIES",
        default_value_t = 5
    )]
    pub provisioning_max_tries: u32,

    /// The first retry delay of a failed step, in milliseconds; it doubles per failure (with
    /// jitter) up to `TENANTRY_PROVISIONING_RETRY_MAX_MS`.
    #[arg(
        long,
        global = true,
        env = "TENANTRY_PROVISIONING_RETRY_BASE_MS",
        default_value_t = 500
    )]
    pub provisioning_retry_base_ms: u64,

    #[arg(
        long,
        global = true,
        env = "TENANTRY_PROVISIONING_RETRY_MAX_MS",
        default_value_t = 30_000
    )]
    pub provisioning_retry_max_ms: u64,

    /// How long a provisioning step may fail because a dependency is down or not answering
    /// (connection refused or reset, a timeout, Redis loading) without spending its tries, in
    /// seconds from the first such failure in a row; after that those failures count.
    #[arg(
        long,
        global = true,
        env = "TENANTRY_PROVISIONING_TRANSIENT_DEADLINE_SECS",
        default_value_t = 600
    )]
    pub provisioning_transient_deadline_secs: u64,

    /// The longest wait between retries of a step whose dependency is down, in milliseconds
    /// (from `TENANTRY_PROVISIONING_RETRY_BASE_MS`, doubling, with jitter): how soon after an
    /// outage the tenants it held up go on.
    #[arg(
        long,
        global = true,
        env = "TENANTRY_PROVISIONING_TRANSIENT_RETRY_MAX_MS",
        default_value_t = 5_000
    )]
    pub provisioning_transient_retry_max_ms: u64,

    /// The time limit of a provisioning step's apply or release, in seconds; one that has not
    /// finished by then fails (transiently) and is retried.
    #[arg(
        long,
        global = true,
        env = "TENANTRY_STEP_TIMEOUT_SECS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub step_timeout_secs: u64,

    /// Time limits of particular steps, overriding `TENANTRY_STEP_TIMEOUT_SECS`:
    /// `step=seconds,…`, e.g. `database=300,tenant_migrations=120`. Empty: none.
    #[arg(
        long,
        global = true,
        env = "TENANTRY_STEP_TIMEOUTS",
        default_value = ""
    )]
    pub step_timeouts: String,

    /// The most PostgreSQL connections the provisioning steps hold at once (a bounded pool of
    /// their own, apart from the requests'; at least 2): a step that finds them all busy waits
    /// for one instead of opening another.
    #[arg(
        long,
        global = true,
        env = "TENANTRY_PROVISIONING_ADMIN_CONNECTIONS",
        default_value_t = tenantry_infrastructure::provisioning::DEFAULT_ADMIN_CONNECTIONS,
        value_parser = clap::value_parser!(u32).range(i64::from(tenantry_infrastructure::provisioning::MIN_ADMIN_CONNECTIONS)..=1_000)
    )]
    pub provisioning_admin_connections: u32,

    /// The SaaS's own tenant migrations: a directory of sqlx migration files
    /// (`<VERSION>_<DESCRIPTION>.sql`) every new tenant gets, in its isolation model. Unset: the
    /// built-in set (`migrations/tenant/`, also the example).
    #[arg(long, global = true, env = "TENANTRY_TENANT_MIGRATIONS_DIR")]
    pub tenant_migrations_dir: Option<std::path::PathBuf>,

    /// A saga drive whose step has been running longer than this, in seconds, is reported as hung
    /// (`/readyz` degraded, `tenantry_saga_hung_drives`, `tenantry projections status`).
    #[arg(
        long,
        global = true,
        env = "TENANTRY_HUNG_DRIVE_SECS",
        default_value_t = 300,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub hung_drive_secs: u64,

    /// Each attempt to connect to Redis gives up after this, in milliseconds.
    #[arg(
        long,
        global = true,
        env = "TENANTRY_REDIS_CONNECT_TIMEOUT_MS",
        default_value_t = 2_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub redis_connect_timeout_ms: u64,

    /// A Redis command without an answer after this fails, in milliseconds.
    #[arg(
        long,
        global = true,
        env = "TENANTRY_REDIS_RESPONSE_TIMEOUT_MS",
        default_value_t = 5_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub redis_response_timeout_ms: u64,

    /// Reconnect attempts to Redis after a failed one before the commands waiting fail (each
    /// after 1 s, doubling, capped at `TENANTRY_REDIS_RECONNECT_MAX_DELAY_MS`, with jitter).
    /// 0: a command fails at once and its caller (the saga, with its backoff) tries again.
    #[arg(
        long,
        global = true,
        env = "TENANTRY_REDIS_RECONNECT_RETRIES",
        default_value_t = 0
    )]
    pub redis_reconnect_retries: usize,

    #[arg(
        long,
        global = true,
        env = "TENANTRY_REDIS_RECONNECT_MAX_DELAY_MS",
        default_value_t = 2_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub redis_reconnect_max_delay_ms: u64,

    /// Run the background reconciler this often (`30s`, `5m`, `1h`, `500ms`): the drift report,
    /// then the repair of what active and suspended tenants lack (as `tenantry doctor --fix`,
    /// without `--recreate-empty`), on one process at a time. Unset: no background reconciler.
    #[arg(
        long,
        global = true,
        env = "TENANTRY_RECONCILE_INTERVAL",
        value_parser = parse_interval
    )]
    pub reconcile_interval: Option<Duration>,
}

/// A duration such as `500ms`, `30s`, `5m`, `1h30m` (`humantime`'s notation), longer than 0.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let duration = humantime::parse_duration(text)
        .map_err(|error| format!("{text:?} is not a duration ({error}): write e.g. 30s or 5m"))?;
    if duration.is_zero() {
        return Err("the interval must be longer than 0".into());
    }
    Ok(duration)
}

fn secret(text: &str) -> Result<SecretString, Infallible> {
    Ok(SecretString::from(text))
}

#[derive(clap::Parser)]
struct SettingsOnly {
    #[command(flatten)]
    settings: Settings,
}

impl Settings {
    /// The settings from the defaults and the `TENANTRY_*` environment variables alone.
    pub fn from_env() -> Self {
        <SettingsOnly as clap::Parser>::parse_from(["tenantry"]).settings
    }

    /// `TENANTRY_LEADER_LIVENESS_SECS`.
    pub fn leader_liveness(&self) -> Duration {
        Duration::from_secs(self.leader_liveness_secs)
    }

    /// `TENANTRY_PROJECTOR_STALLED_SECS`.
    pub fn projector_stalled_after(&self) -> Duration {
        Duration::from_secs(self.projector_stalled_secs)
    }

    /// The parsed `TENANTRY_FAULTS`.
    pub fn faults(&self) -> Result<Faults, FaultsError> {
        Faults::parse(&self.faults)
    }

    /// The timeouts and reconnect backoff of every Redis connection.
    pub fn redis_config(&self) -> RedisConfig {
        RedisConfig {
            connect_timeout: Duration::from_millis(self.redis_connect_timeout_ms),
            response_timeout: Duration::from_millis(self.redis_response_timeout_ms),
            reconnect_retries: self.redis_reconnect_retries,
            reconnect_max_delay: Duration::from_millis(self.redis_reconnect_max_delay_ms),
        }
    }

    /// The provisioning adapters' Redis settings and step time limits (`TENANTRY_STEP_TIMEOUTS`
    /// parsed).
    pub fn provisioning_options(&self) -> anyhow::Result<ProvisioningOptions> {
        let step_timeouts = StepTimeouts::parse(self.step_timeout_secs, &self.step_timeouts)
            .context("invalid TENANTRY_STEP_TIMEOUTS")?;
        Ok(ProvisioningOptions {
            redis: self.redis_config(),
            step_timeouts,
            admin_connections: self.provisioning_admin_connections,
            tenant_migrations: self.tenant_migrations()?,
            ..ProvisioningOptions::default()
        })
    }

    /// The tenant migrations new tenants get: `TENANTRY_TENANT_MIGRATIONS_DIR`'s, or the built-in
    /// set.
    pub fn tenant_migrations(&self) -> anyhow::Result<TenantMigrationSet> {
        match &self.tenant_migrations_dir {
            Some(dir) => {
                TenantMigrationSet::load(dir).context("invalid TENANTRY_TENANT_MIGRATIONS_DIR")
            }
            None => Ok(TenantMigrationSet::built_in()),
        }
    }

    /// How the saga retries failures of a dependency that is down.
    pub fn transient_retries(&self) -> TransientRetries {
        TransientRetries {
            deadline: Duration::from_secs(self.provisioning_transient_deadline_secs),
            backoff: Backoff {
                base: Duration::from_millis(self.provisioning_retry_base_ms),
                max: Duration::from_millis(self.provisioning_transient_retry_max_ms),
            },
        }
    }

    /// The control-plane hosts, without empty entries.
    pub fn control_plane_hosts(&self) -> impl Iterator<Item = &str> {
        self.control_plane_hosts
            .iter()
            .map(|h| h.trim())
            .filter(|h| !h.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconcile_intervals_take_a_unit_and_a_bad_one_says_how_to_write_it() {
        assert_eq!(parse_interval("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_interval("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_interval("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_interval("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_interval("5").unwrap_err().contains("unit"));
        assert!(parse_interval("m").unwrap_err().contains("e.g. 30s"));
        assert!(parse_interval("0s").is_err());
        let refused = <SettingsOnly as clap::Parser>::try_parse_from([
            "tenantry",
            "--reconcile-interval",
            "soon",
        ]);
        let shown = refused.err().expect("refused").to_string();
        assert!(shown.contains("--reconcile-interval"), "{shown}");
    }

    #[test]
    fn debug_does_not_show_the_secrets() {
        let mut settings = Settings::from_env();
        settings.jwt_secret = Some("jwt-secret-0123456789-0123456789-xyz".into());
        settings.secret_key = Some("secret-key-0123456789-0123456789-xyz".into());
        let shown = format!("{settings:?}");
        assert!(!shown.contains("jwt-secret-0123456789"), "{shown}");
        assert!(!shown.contains("secret-key-0123456789"), "{shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
    }

    #[test]
    fn a_bad_tenant_migrations_dir_is_refused_naming_the_variable_and_the_file() {
        let with_dir = |dir: &std::path::Path| {
            let parsed = <SettingsOnly as clap::Parser>::try_parse_from([
                "tenantry",
                "--tenant-migrations-dir",
                dir.to_str().unwrap(),
            ])
            .expect("parses")
            .settings;
            parsed.provisioning_options().map(|o| o.tenant_migrations)
        };
        let root = std::env::temp_dir().join(format!("tenantry-migr-{}", uuid::Uuid::new_v4()));
        let missing = format!("{:#}", with_dir(&root).unwrap_err());
        assert!(
            missing.contains("TENANTRY_TENANT_MIGRATIONS_DIR"),
            "{missing}"
        );
        assert!(missing.contains(&root.display().to_string()), "{missing}");

        std::fs::create_dir_all(&root).unwrap();
        let empty = format!("{:#}", with_dir(&root).unwrap_err());
        assert!(empty.contains("holds no migration"), "{empty}");

        std::fs::write(
            root.join("20270101000000_patients.sql"),
            "CREATE TABLE patients ();",
        )
        .unwrap();
        let set = with_dir(&root).expect("a valid directory");
        assert_eq!(set.latest_version(), 20270101000000);
        assert!(set.is_custom());

        std::fs::write(root.join("patients-v2.sql"), "SELECT 1;").unwrap();
        let bad = format!("{:#}", with_dir(&root).unwrap_err());
        assert!(bad.contains("\"patients-v2.sql\""), "{bad}");
        assert!(bad.contains("<VERSION>_<DESCRIPTION>.sql"), "{bad}");
        std::fs::remove_dir_all(&root).unwrap();

        let unset = <SettingsOnly as clap::Parser>::try_parse_from(["tenantry"])
            .expect("parses")
            .settings;
        assert!(!unset.tenant_migrations().unwrap().is_custom());
    }

    #[test]
    fn step_time_limits_are_read_and_a_bad_one_names_the_variable() {
        use tenantry_domain::ProvisioningStep;
        let parsed = <SettingsOnly as clap::Parser>::try_parse_from([
            "tenantry",
            "--step-timeout-secs",
            "20",
            "--step-timeouts",
            "database=300",
        ])
        .expect("parses")
        .settings;
        let options = parsed.provisioning_options().expect("valid");
        assert_eq!(
            options.step_timeouts.of(ProvisioningStep::Database),
            Duration::from_secs(300)
        );
        assert_eq!(
            options.step_timeouts.of(ProvisioningStep::Queue),
            Duration::from_secs(20)
        );
        let mut bad = parsed;
        bad.step_timeouts = "queue=soon".into();
        let error = format!("{:#}", bad.provisioning_options().unwrap_err());
        assert!(error.contains("TENANTRY_STEP_TIMEOUTS"), "{error}");
        assert!(error.contains("queue=soon"), "{error}");
    }

    #[test]
    fn secrets_are_read_from_the_command_line() {
        use secrecy::ExposeSecret;
        let parsed = <SettingsOnly as clap::Parser>::try_parse_from([
            "tenantry",
            "--jwt-secret",
            "from-the-flag",
        ])
        .expect("parses");
        assert_eq!(
            parsed
                .settings
                .jwt_secret
                .as_ref()
                .map(|s| s.expose_secret()),
            Some("from-the-flag")
        );
    }
}
