//! The running service: [`Application::build`] connects and binds (port 0 in tests, see
//! [`Application::port`]); [`Application::run_until_stopped`] serves until the shutdown future
//! resolves, then finishes in-flight requests before returning.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::ServiceExt;
use secrecy::ExposeSecret;
use tenantry_infrastructure::redact::redact_url;
use tokio::net::TcpListener;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;

use tenantry_application::clock::SystemClock;
use tenantry_application::doctor::Doctor;
use tenantry_application::event_store::EventStore;
use tenantry_application::invitations::InvitationService;
use tenantry_application::kernel::CommandContext;
use tenantry_application::reconcile::{BackgroundReconciler, Reconciler};
use tenantry_application::sagas::{Backoff, SagaConfig, SagaHints, SagaRunner, TenantSaga};
use tenantry_application::staff::StaffService;
use tenantry_application::tenants::TenantService;
use tenantry_domain::{PlanCatalog, ReservedSubdomains};
use tenantry_infrastructure::hooks::{HttpHooks, PlanHooks};
use tenantry_infrastructure::idempotency::PgIdempotencyStore;
use tenantry_infrastructure::idempotency::sweeper::Sweeper;
use tenantry_infrastructure::invitations::PgInvitations;
use tenantry_infrastructure::lease::PgLease;
use tenantry_infrastructure::redis_persistence;
use tenantry_infrastructure::shared_redis::SharedRedis;
use tenantry_infrastructure::staff::PgStaffAccounts;
use tenantry_projections::{ProjectionRuntime, ReadModelWork, RuntimeConfig, default_projectors};

use crate::http::auth::Auth;
use crate::http::{self, AppState};
use crate::settings::Settings;

pub struct Application {
    listener: TcpListener,
    state: AppState,
    /// `None` when this process does not run the sagas.
    saga: Option<SagaRunner>,
    /// `None` without `TENANTRY_RECONCILE_INTERVAL`.
    reconciler: Option<BackgroundReconciler>,
    /// `TENANTRY_LEADER_LIVENESS_SECS`.
    liveness: Duration,
}

impl Application {
    /// Connects to PostgreSQL and Redis (lazily: an unreachable one shows on `/readyz`, it does not
    /// stop the start) and binds the listener. One exception: without `TENANTRY_JWT_SECRET` the
    /// token signing key is read from (or first stored in) the database, which must then answer.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let pool = tenantry_infrastructure::postgres::connect_lazy_with_liveness(
            &settings.database_url,
            settings.database_max_connections,
            Duration::from_millis(settings.database_acquire_timeout_ms),
            settings.leader_liveness(),
        )?;
        let redis = redis::Client::open(settings.redis_url.as_str())
            .with_context(|| format!("invalid redis url {}", redact_url(&settings.redis_url)))?;
        let listener = TcpListener::bind(settings.http_addr)
            .await
            .with_context(|| format!("failed to listen on {}", settings.http_addr))?;
        let store = crate::event_store::build(settings, &pool).await?;
        let mut tenants = tenant_service(settings, store.clone())?;
        let auth = Auth::new(settings, staff_service(&pool, &store), &pool).await?;
        // `/readyz` pings Redis through the saga's own connection when this process runs the
        // sagas (Redis as they see it), else through one of its own with the same settings.
        let (saga, shared_redis) = if settings.run_sagas {
            // The runner drives what this process's commands start without waiting to read it
            // from the log.
            let (hints, hinted) = SagaHints::channel();
            let (runner, shared_redis) =
                saga_runner(settings, &pool, &redis, &store, &tenants).await?;
            tenants = tenants.observed_by(Arc::new(hints));
            (Some(runner.with_hints(hinted)), shared_redis)
        } else {
            (
                None,
                SharedRedis::new(redis.clone(), settings.redis_config()),
            )
        };
        let reconciler = match settings.reconcile_interval {
            Some(interval) => Some(reconciler(settings, &pool, &redis, &tenants, interval).await?),
            None => None,
        };
        Ok(Self {
            listener,
            saga,
            reconciler,
            liveness: settings.leader_liveness(),
            state: AppState {
                pool: pool.clone(),
                redis: shared_redis,
                store: store.clone(),
                tenants,
                idempotency: PgIdempotencyStore::new(pool.clone()),
                metrics: http::metrics::recorder(),
                auth: Arc::new(auth),
                invitations: InvitationService::new(
                    Arc::new(PgInvitations::new(pool.clone())),
                    store.clone(),
                    Arc::new(SystemClock),
                ),
                base_domain: settings.base_domain.clone(),
                read_model_wait: Duration::from_millis(settings.read_model_wait_ms),
                projector_stalled_after: settings.projector_stalled_after(),
                openapi: Arc::new(openapi_document(settings)?),
                hung_drive_after: Duration::from_secs(settings.hung_drive_secs),
                tenant_migrations_target: settings.tenant_migrations()?.latest_version(),
                access: tenantry_infrastructure::provisioning::TenantAccess::new(
                    pool.clone(),
                    &redis,
                    settings
                        .secret_key
                        .as_ref()
                        .map(ExposeSecret::expose_secret),
                ),
            },
        })
    }

    /// The port the listener is bound to.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Runs the projectors (and the sagas, and the sweep of expired idempotency keys) and serves
    /// until `shutdown` resolves; then stops accepting, drains in-flight requests, and lets the
    /// projectors commit their batches in flight.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let projectors = ProjectionRuntime::start(
            self.state.pool.clone(),
            self.state.store.clone(),
            default_projectors(),
            RuntimeConfig {
                liveness: self.liveness,
                ..RuntimeConfig::default()
            },
        );
        let saga = self.saga.map(SagaRunner::start);
        let reconciler = self.reconciler.map(BackgroundReconciler::start);
        tokio::spawn(warn_if_redis_forgets(self.state.redis.clone()));
        let sweeper = Sweeper::start(self.state.idempotency.clone(), IDEMPOTENCY_SWEEP_EVERY);
        tracing::info!(addr = %self.listener.local_addr()?, "serving");
        // A trailing slash means the same path (API.md): trimmed before routing. With the peer
        // address: login rate limits count per client IP.
        let app = NormalizePathLayer::trim_trailing_slash().layer(http::router(self.state));
        let app = ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
            SocketAddr,
        >(app);
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .context("the HTTP server failed");
        if let Some(saga) = saga {
            saga.shutdown().await;
        }
        if let Some(reconciler) = reconciler {
            reconciler.shutdown().await;
        }
        sweeper.shutdown().await;
        projectors.shutdown().await;
        served
    }
}

/// How often expired idempotency keys are deleted (they expire a day after their first request;
/// a few minutes more do not matter).
const IDEMPOTENCY_SWEEP_EVERY: Duration = Duration::from_secs(5 * 60);

/// The advisory-lock key of the provisioning saga's leader.
const SAGA_LEASE_KEY: i64 = 0x5445_4e41_4e54_5259; // "TENANTRY"

/// The advisory-lock key of the background reconciler's leader.
const RECONCILE_LEASE_KEY: i64 = 0x5445_4e41_5245_5041; // "TENAREPA"

/// The background reconciler (`TENANTRY_RECONCILE_INTERVAL`) over provisioning adapters of its
/// own (the saga's steps and time limits, without injected faults), one process at a time.
async fn reconciler(
    settings: &Settings,
    pool: &sqlx::PgPool,
    redis: &redis::Client,
    tenants: &TenantService,
    interval: Duration,
) -> anyhow::Result<BackgroundReconciler> {
    let adapters = tenantry_infrastructure::provisioning::build_with(
        pool.clone(),
        redis.clone(),
        settings
            .secret_key
            .as_ref()
            .map(ExposeSecret::expose_secret),
        Default::default(),
        &settings.provisioning_options()?,
    )
    .await?;
    Ok(BackgroundReconciler {
        doctor: Doctor::new(adapters.inventory, adapters.provisioner.clone()),
        reconciler: Reconciler::new(
            adapters.provisioner,
            adapters.secrets,
            tenants.clone(),
            CommandContext::new(Reconciler::background_actor()),
        ),
        directory: Arc::new(ReadModelWork::new(pool.clone())),
        lease: Arc::new(PgLease::with_liveness(
            pool,
            RECONCILE_LEASE_KEY,
            settings.leader_liveness(),
        )),
        interval,
    })
}

/// Logs one warning when the Redis that holds the tenants' users and queues would lose them at
/// a restart (no `aclfile`, or neither AOF nor snapshots). Quiet when Redis cannot be asked (down,
/// or `CONFIG` not allowed): `/readyz` reports a Redis that is down.
async fn warn_if_redis_forgets(redis: SharedRedis) {
    let inspected = match redis.connection().await {
        Ok(mut conn) => redis_persistence::inspect(&mut conn).await,
        Err(error) => Err(error),
    };
    match inspected {
        Ok(persistence) => {
            if let Some(lost) = persistence.what_a_restart_loses() {
                tracing::warn!(
                    "a restart of Redis would lose {lost}: tenant users would be gone until \
                     `tenantry doctor --fix` makes them again with their stored passwords; run \
                     Redis with an aclfile and appendonly yes (README: \"Running Redis so tenant \
                     users survive a restart\")"
                );
            }
        }
        Err(error) => tracing::info!(
            error = %error,
            "could not read Redis's persistence settings (CONFIG GET aclfile, appendonly, save)"
        ),
    }
}

/// The provisioning and deletion saga over the real provisioners (with the configured faults),
/// run as one instance across processes, and the provisioners' shared Redis connection.
async fn saga_runner(
    settings: &Settings,
    pool: &sqlx::PgPool,
    redis: &redis::Client,
    store: &Arc<dyn EventStore>,
    tenants: &TenantService,
) -> anyhow::Result<(SagaRunner, SharedRedis)> {
    let faults = settings.faults().context("invalid TENANTRY_FAULTS")?;
    let adapters = tenantry_infrastructure::provisioning::build_with(
        pool.clone(),
        redis.clone(),
        settings
            .secret_key
            .as_ref()
            .map(ExposeSecret::expose_secret),
        faults,
        &settings.provisioning_options()?,
    )
    .await?;
    let saga = TenantSaga::new(
        tenants.clone(),
        adapters.provisioner,
        adapters.faults,
        Arc::new(SystemClock),
        settings.provisioning_max_tries,
        Backoff {
            base: Duration::from_millis(settings.provisioning_retry_base_ms),
            max: Duration::from_millis(settings.provisioning_retry_max_ms),
        },
    )
    .with_transient_retries(settings.transient_retries());
    let (_, hooks) = plans(settings)?;
    let saga = if hooks.is_empty() {
        saga
    } else {
        saga.with_hooks(Arc::new(HttpHooks::new(&hooks)?))
    };
    let runner = SagaRunner::new(
        Arc::new(saga),
        store.clone(),
        Arc::new(ReadModelWork::new(pool.clone())),
        Arc::new(PgLease::with_liveness(
            pool,
            SAGA_LEASE_KEY,
            settings.leader_liveness(),
        )),
        SagaConfig {
            concurrency: settings.provisioning_concurrency,
            heartbeat: settings.leader_liveness() / 4,
            ..SagaConfig::default()
        },
    );
    Ok((runner, adapters.redis))
}

/// Staff accounts over the control-plane database, their events in `store`.
pub fn staff_service(pool: &sqlx::PgPool, store: &Arc<dyn EventStore>) -> StaffService {
    StaffService::new(Arc::new(PgStaffAccounts::new(pool.clone())), store.clone())
}

/// The tenant command handlers over `store`, with the configured plans and reserved subdomains.
pub fn tenant_service(
    settings: &Settings,
    store: Arc<dyn EventStore>,
) -> anyhow::Result<TenantService> {
    let (catalog, hooks) = plans(settings)?;
    Ok(TenantService::new(
        store,
        Arc::new(SystemClock),
        catalog,
        ReservedSubdomains::from_list(&settings.reserved_subdomains),
    )
    .with_plan_hooks(hooks.names()))
}

/// The OpenAPI document of the service as `settings` configure it (its plans and reserved
/// subdomains are in the schemas).
pub fn openapi_document(settings: &Settings) -> anyhow::Result<serde_json::Value> {
    Ok(http::openapi::document(
        &plan_catalog(settings)?,
        &ReservedSubdomains::from_list(&settings.reserved_subdomains),
    ))
}

/// The plan catalog: the built-in one, or the one in `TENANTRY_PLANS_FILE`.
fn plan_catalog(settings: &Settings) -> anyhow::Result<PlanCatalog> {
    plans(settings).map(|(catalog, _)| catalog)
}

/// The plan catalog and the plans' hook steps: the built-in plans without hooks, or what
/// `TENANTRY_PLANS_FILE` declares (each plan's `steps` are its hooks; see `infrastructure::hooks`).
pub fn plans(settings: &Settings) -> anyhow::Result<(PlanCatalog, PlanHooks)> {
    let Some(path) = &settings.plans_file else {
        return Ok((PlanCatalog::default(), PlanHooks::default()));
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read the plans file {}", path.display()))?;
    let invalid = || {
        format!(
            "invalid plans file {} (TENANTRY_PLANS_FILE)",
            path.display()
        )
    };
    let mut value: serde_json::Value = serde_json::from_str(&text).with_context(invalid)?;
    let hooks = PlanHooks::take_from(&mut value)
        .map_err(|message| anyhow::anyhow!(message))
        .with_context(invalid)?;
    let catalog: PlanCatalog = serde_json::from_value(value).with_context(invalid)?;
    Ok((catalog, hooks))
}

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
