//! The provisioner adapter: applies and releases every provisioning step against the real
//! systems — PostgreSQL through a bounded pool of its own (`admin.rs`; tenant schemas live in the
//! control-plane database; tenant databases and roles on the same server) and Redis — and lists what exists
//! ([`ResourceInventory`]). One file per step kind; this module dispatches. [`build_with`] puts
//! the step time limits around it; `errors.rs` sorts failures into unavailable (a dependency
//! down: retried without counting), retryable and permanent.
//!
//! The control plane's PostgreSQL login needs CREATEROLE and CREATEDB, must own the control-plane
//! database and bypass row-level security (a superuser in development); its Redis user needs the
//! ACL commands (the default user). Long transactions hold back the event store's readers (see
//! `event_store::postgres`), so every step keeps its transactions short.

mod access;
mod admin;
mod credentials;
mod database;
mod errors;
mod ident;
mod inventory;
mod migration_stages;
mod queue;
mod redis;
mod roles;
mod rotation;
mod schema;
mod scram;
mod shared_schema;
mod template;
mod tenant_migrations;

pub use self::redis::COMMAND_RULES;
pub use admin::{DEFAULT_ADMIN_ACQUIRE_TIMEOUT, DEFAULT_ADMIN_CONNECTIONS, MIN_ADMIN_CONNECTIONS};
pub use credentials::{
    ConnectionDetails, Credentials, PostgresDetails, QueueDetails, RedisDetails, RevealError,
    SHARED_LOGIN_SECRET, TenantAccess, shared_login_name,
};
pub use tenant_migrations::{TENANT_MIGRATOR, TenantMigrationSet, latest_version};

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::{PgConnection, PgPool};

use admin::{AdminConnection, AdminPool};
use tenantry_application::provisioning::{
    FaultInjectingProvisioner, Faults, ProvisionError, Provisioner, ResourceInventory, SecretStore,
    StepTimeouts, TenantSpec, TimeLimitedProvisioner,
};
use tenantry_domain::events::CredentialsChange;
use tenantry_domain::{
    AccessAction, AccessResource, ProvisionedResource, ProvisioningStep, TenantId,
};

use crate::redis_config::RedisConfig;
use crate::secrets::{PgSecretStore, SecretKey};
use crate::shared_redis::SharedRedis;
use errors::OrFail;

/// The default name of the tenant template database.
pub const DEFAULT_TEMPLATE_DATABASE: &str = "tenantry_tenant_template";

/// The class of the advisory locks provisioning takes (`pg_advisory_lock(class, key)`), apart
/// from sqlx's single-key migration lock.
const LOCK_CLASS: i32 = 0x5445_4e54;

/// The [`Provisioner`] and [`ResourceInventory`] adapter. Cheap to clone.
#[derive(Clone)]
pub struct TenantProvisioner {
    ctx: Arc<Ctx>,
}

/// What every step needs.
struct Ctx {
    /// The control-plane pool: for listing what exists (the inventory).
    pool: PgPool,
    /// The steps' own bounded pool (see `admin.rs`).
    admin: AdminPool,
    redis: SharedRedis,
    secrets: Arc<dyn SecretStore>,
    /// Consulted by the steps at `during_apply` and `during_release`.
    faults: Arc<Faults>,
    template_database: String,
    /// The tenant migrations every new tenant gets.
    migrations: TenantMigrationSet,
    /// Set once this process has migrated the shared tables (`shared_schema`) with them.
    shared_migrated: AtomicBool,
}

impl TenantProvisioner {
    /// A provisioner over the control-plane `pool` (migrated) and `redis` (with the default
    /// [`RedisConfig`]). Does no IO: Redis is connected on first use. `faults` is consulted only at the points inside steps; wrap the
    /// provisioner in a [`FaultInjectingProvisioner`] for the others (see [`build`]).
    pub fn new(
        pool: PgPool,
        redis: ::redis::Client,
        secrets: Arc<dyn SecretStore>,
        faults: Arc<Faults>,
    ) -> Self {
        let admin = AdminPool::new(
            (*pool.connect_options()).clone(),
            DEFAULT_ADMIN_CONNECTIONS,
            DEFAULT_ADMIN_ACQUIRE_TIMEOUT,
        );
        Self {
            ctx: Arc::new(Ctx {
                pool,
                admin,
                redis: SharedRedis::new(redis, RedisConfig::default()),
                secrets,
                faults,
                template_database: DEFAULT_TEMPLATE_DATABASE.to_owned(),
                migrations: TenantMigrationSet::built_in(),
                shared_migrated: AtomicBool::new(false),
            }),
        }
    }

    /// The same provisioner copying tenant databases from the template database `name`.
    pub fn with_template_database(self, name: &str) -> Self {
        let ctx = &self.ctx;
        Self {
            ctx: Arc::new(Ctx {
                pool: ctx.pool.clone(),
                admin: ctx.admin.clone(),
                redis: ctx.redis.fresh(),
                secrets: ctx.secrets.clone(),
                faults: ctx.faults.clone(),
                template_database: name.to_owned(),
                migrations: ctx.migrations.clone(),
                shared_migrated: AtomicBool::new(false),
            }),
        }
    }

    /// The same provisioner giving new tenants `migrations` (the built-in set by default).
    pub fn with_tenant_migrations(self, migrations: TenantMigrationSet) -> Self {
        let ctx = &self.ctx;
        Self {
            ctx: Arc::new(Ctx {
                pool: ctx.pool.clone(),
                admin: ctx.admin.clone(),
                redis: ctx.redis.clone(),
                secrets: ctx.secrets.clone(),
                faults: ctx.faults.clone(),
                template_database: ctx.template_database.clone(),
                migrations,
                shared_migrated: AtomicBool::new(false),
            }),
        }
    }

    /// The tenant migrations new tenants get.
    pub fn tenant_migrations(&self) -> &TenantMigrationSet {
        &self.ctx.migrations
    }

    /// The same provisioner connecting to Redis with `config`'s timeouts and reconnect backoff.
    pub fn with_redis_config(self, config: RedisConfig) -> Self {
        let ctx = &self.ctx;
        Self {
            ctx: Arc::new(Ctx {
                pool: ctx.pool.clone(),
                admin: ctx.admin.clone(),
                redis: SharedRedis::new(ctx.redis.client().clone(), config),
                secrets: ctx.secrets.clone(),
                faults: ctx.faults.clone(),
                template_database: ctx.template_database.clone(),
                migrations: ctx.migrations.clone(),
                shared_migrated: AtomicBool::new(false),
            }),
        }
    }

    /// The same provisioner with a bounded pool of `max` admin connections (at least
    /// [`MIN_ADMIN_CONNECTIONS`]), each waited for at most `acquire_timeout`.
    pub fn with_admin_connections(self, max: u32, acquire_timeout: Duration) -> Self {
        let ctx = &self.ctx;
        let admin = AdminPool::new((*ctx.pool.connect_options()).clone(), max, acquire_timeout);
        Self {
            ctx: Arc::new(Ctx {
                pool: ctx.pool.clone(),
                admin,
                redis: ctx.redis.clone(),
                secrets: ctx.secrets.clone(),
                faults: ctx.faults.clone(),
                template_database: ctx.template_database.clone(),
                migrations: ctx.migrations.clone(),
                shared_migrated: AtomicBool::new(false),
            }),
        }
    }
}

#[async_trait]
impl Provisioner for TenantProvisioner {
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant.id, %step), err)]
    async fn apply(
        &self,
        tenant: &TenantSpec,
        step: ProvisioningStep,
    ) -> Result<ProvisionedResource, ProvisionError> {
        if !ProvisioningStep::sequence(tenant.isolation).contains(&step) {
            return Err(ProvisionError::permanent(anyhow::anyhow!(
                "step {step} is not part of the {} isolation model",
                tenant.isolation
            )));
        }
        let ctx = &self.ctx;
        match step {
            ProvisioningStep::RegisterSharedTenant => shared_schema::apply(ctx, tenant).await,
            ProvisioningStep::Schema => schema::apply(ctx, tenant).await,
            ProvisioningStep::Database => database::apply(ctx, tenant).await,
            ProvisioningStep::TenantMigrations => tenant_migrations::apply(ctx, tenant).await,
            ProvisioningStep::RedisNamespace => self::redis::apply(ctx, tenant).await,
            ProvisioningStep::Queue => queue::apply(ctx, tenant).await,
            // Refused above: no isolation model's sequence has one; the saga calls hooks itself.
            ProvisioningStep::Hook(hook) => Err(ProvisionError::permanent(anyhow::anyhow!(
                "hook {hook} is not a step of the provisioner; the saga calls hooks"
            ))),
        }
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %tenant, %step), err)]
    async fn release(
        &self,
        tenant: TenantId,
        step: ProvisioningStep,
    ) -> Result<(), ProvisionError> {
        let ctx = &self.ctx;
        match step {
            ProvisioningStep::RegisterSharedTenant => shared_schema::release(ctx, tenant).await,
            ProvisioningStep::Schema => schema::release(ctx, tenant).await,
            ProvisioningStep::Database => database::release(ctx, tenant).await,
            // The migrated objects live in the schema or database, dropped by their own step.
            ProvisioningStep::TenantMigrations => Ok(()),
            ProvisioningStep::RedisNamespace => self::redis::release(ctx, tenant).await,
            ProvisioningStep::Queue => queue::release(ctx, tenant).await,
            // What a hook made is outside; the saga calls its release.
            ProvisioningStep::Hook(_) => Ok(()),
        }
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %tenant.id, %resource, %action), err)]
    async fn set_access(
        &self,
        tenant: &TenantSpec,
        resource: AccessResource,
        action: AccessAction,
    ) -> Result<(), ProvisionError> {
        access::set(&self.ctx, tenant, resource, action).await
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %tenant.id, rotation, %change), err)]
    async fn change_credentials(
        &self,
        tenant: &TenantSpec,
        rotation: u32,
        change: CredentialsChange,
    ) -> Result<(), ProvisionError> {
        rotation::change(&self.ctx, tenant, rotation, change).await
    }

    /// A leader opens its provisioning connections at once (in the background), to have them
    /// before other pools take the server's slots, and (re)builds the tenant template if it is
    /// not current; when it stops leading it closes them, so that the next leader can have them.
    async fn leading(&self, leading: bool) {
        if !leading {
            self.ctx.admin.shrink().await;
            return;
        }
        self.ctx.admin.keep_full();
        let ctx = self.ctx.clone();
        tokio::spawn(async move {
            if let Err(error) = template::prepare(&ctx).await {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "could not prepare the tenant template database; the first copy will"
                );
            }
        });
    }
}

#[async_trait]
impl tenantry_application::fleet::TenantSchemas for TenantProvisioner {
    fn target_version(&self) -> i64 {
        self.ctx.migrations.latest_version()
    }

    async fn version(&self, tenant: &TenantSpec) -> Result<i64, ProvisionError> {
        tenant_migrations::current_version(&self.ctx, tenant).await
    }

    async fn migrate(&self, tenant: &TenantSpec) -> Result<i64, ProvisionError> {
        match tenant_migrations::apply(&self.ctx, tenant).await? {
            ProvisionedResource::TenantMigrations { latest_version, .. } => Ok(latest_version),
            other => Err(ProvisionError::permanent(anyhow::anyhow!(
                "unexpected result of the tenant migrations: {other:?}"
            ))),
        }
    }
}

impl TenantProvisioner {
    /// The provisioner's own shared Redis connection: Redis as the saga sees it (a readiness
    /// probe through it can fail while a fresh connection would succeed, and the other way
    /// round).
    pub fn redis(&self) -> &SharedRedis {
        &self.ctx.redis
    }
}

impl Ctx {
    /// The shared Redis connection, once it answers.
    async fn redis_connection(&self) -> Result<::redis::aio::ConnectionManager, ProvisionError> {
        self.redis
            .connection()
            .await
            .or_fail(|| "failed to reach Redis")
    }

    /// An admin connection to the control-plane database, from the steps' bounded pool (waiting
    /// for one when all are busy). Session state set on it (an advisory lock) must be undone
    /// before it is dropped, or the connection closed.
    async fn admin_connection(&self) -> Result<AdminConnection, ProvisionError> {
        self.admin
            .acquire()
            .await
            .or_fail(|| "failed to get a provisioning connection to the control-plane database")
    }

    /// An admin connection to database `name` on the control plane's server, as the control
    /// plane's user, within the bound of the admin pool.
    async fn connect_to(&self, name: &str) -> Result<AdminConnection, ProvisionError> {
        self.admin
            .connect_to(name)
            .await
            .or_fail(|| format!("failed to connect to database {name}"))
    }

    /// A connection to database `name` outside the bound: only to migrate a new tenant template,
    /// while a bounded connection holds the template lock (see `template.rs`).
    async fn connect_unbounded(&self, name: &str) -> Result<PgConnection, ProvisionError> {
        self.admin
            .connect_unbounded(name)
            .await
            .or_fail(|| format!("failed to connect to database {name}"))
    }
}

/// Everything provisioning needs, built once at startup: what the sagas and `tenantry doctor`
/// hold.
#[derive(Clone)]
pub struct ProvisioningAdapters {
    /// The real provisioner behind the failure injector (only when faults are configured),
    /// behind the step time limits.
    pub provisioner: Arc<dyn Provisioner>,
    pub inventory: Arc<dyn ResourceInventory>,
    pub secrets: Arc<dyn SecretStore>,
    /// For the saga's own fault point (`after_record`).
    pub faults: Arc<Faults>,
    /// The provisioner's shared Redis connection ([`TenantProvisioner::redis`]), for a
    /// readiness probe of Redis as the saga sees it.
    pub redis: SharedRedis,
    /// The tenants' applied migration versions and the fleet migration's steps (no time limit:
    /// a tenant's migration takes what it takes).
    pub schemas: Arc<dyn tenantry_application::fleet::TenantSchemas>,
}

/// How the adapters reach their dependencies and how long a step may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisioningOptions {
    pub redis: RedisConfig,
    pub step_timeouts: StepTimeouts,
    /// The most PostgreSQL connections the steps hold at once (`TENANTRY_PROVISIONING_ADMIN_CONNECTIONS`).
    pub admin_connections: u32,
    /// How long a step waits for one of them (or for the server to accept it).
    pub admin_acquire_timeout: Duration,
    /// The tenant migrations new tenants get (`TENANTRY_TENANT_MIGRATIONS_DIR`; built-in by
    /// default).
    pub tenant_migrations: TenantMigrationSet,
}

impl Default for ProvisioningOptions {
    fn default() -> Self {
        Self {
            redis: RedisConfig::default(),
            step_timeouts: StepTimeouts::default(),
            admin_connections: DEFAULT_ADMIN_CONNECTIONS,
            admin_acquire_timeout: DEFAULT_ADMIN_ACQUIRE_TIMEOUT,
            tenant_migrations: TenantMigrationSet::built_in(),
        }
    }
}

/// Builds the provisioning adapters over the control-plane `pool` (migrated) and `redis`, with
/// the default [`ProvisioningOptions`]. Reads the database only when `secret_key`
/// (`TENANTRY_SECRET_KEY`) is unset: the development key is then read from, or first stored in,
/// `platform_secrets` (with a warning).
pub async fn build(
    pool: PgPool,
    redis: ::redis::Client,
    secret_key: Option<&str>,
    faults: Faults,
) -> anyhow::Result<ProvisioningAdapters> {
    build_with(
        pool,
        redis,
        secret_key,
        faults,
        &ProvisioningOptions::default(),
    )
    .await
}

/// [`build`] with `options`: every step's `apply` and `release` ends within its time limit (a
/// timeout is an [`Unavailable`](ProvisionError::Unavailable) failure), and Redis is reached with
/// `options.redis`' timeouts and reconnect backoff.
pub async fn build_with(
    pool: PgPool,
    redis: ::redis::Client,
    secret_key: Option<&str>,
    faults: Faults,
    options: &ProvisioningOptions,
) -> anyhow::Result<ProvisioningAdapters> {
    let key = SecretKey::load(secret_key, &pool).await?;
    let secrets: Arc<dyn SecretStore> = Arc::new(PgSecretStore::new(pool.clone(), &key));
    let faults = Arc::new(faults);
    let provisioner = TenantProvisioner::new(pool, redis, secrets.clone(), faults.clone())
        .with_redis_config(options.redis)
        .with_admin_connections(options.admin_connections, options.admin_acquire_timeout)
        .with_tenant_migrations(options.tenant_migrations.clone());
    let injected = FaultInjectingProvisioner::wrap(Arc::new(provisioner.clone()), faults.clone());
    let limited = TimeLimitedProvisioner::new(injected, options.step_timeouts.clone());
    Ok(ProvisioningAdapters {
        provisioner: Arc::new(limited),
        inventory: Arc::new(provisioner.clone()),
        secrets,
        faults,
        redis: provisioner.redis().clone(),
        schemas: Arc::new(provisioner),
    })
}
