//! How the application reaches a tenant: the connection details (no secret in them) and, for the
//! audited reveal, the passwords. What each isolation model logs in with is
//! [`IsolationModel::login`]:
//!
//! - `schema_per_tenant`: the tenant's own `LOGIN` role `tenant_{hex}` in the control-plane
//!   database, `search_path` its schema. A tenant provisioned before issue 12 has a `NOLOGIN` role
//!   without a password: its first reveal gives it one (nothing could log in with it before, so
//!   no application is locked out), as does `tenantry doctor --fix` when the role itself is gone.
//! - `database_per_tenant`: the database's owner `tenant_{hex}`, with its password.
//! - `shared_schema`: the control plane's shared application login, [`shared_login_name`], a
//!   member of `tenantry_shared_app` (row-level security applies to it), with its own stored
//!   password; made on first use. The application sets `app.tenant_id` per transaction.
//!
//! Redis: the tenant's ACL user, limited to its namespace, on the control plane's Redis server.

use std::sync::Arc;

use tokio::sync::OnceCell;

use sha2::{Digest, Sha256};
use sqlx::{Executor, PgPool};
use tenantry_application::provisioning::{ProvisionError, SecretStore, SecretValue};
use tenantry_domain::{
    CredentialRotations, IsolationModel, SecretRef, TenantId, TenantLogin, TenantNames,
    TenantSecret,
};

use super::errors::OrFail;
use super::ident::quote_ident;
use super::roles;
use crate::secrets::{PgSecretStore, SecretKey};

/// The secret reference of the shared application login's password.
pub const SHARED_LOGIN_SECRET: &str = "platform/shared_app/postgres";

/// The role every `shared_schema` tenant's data is reached through (control-plane migration
/// `20261122000005`), which the shared login is a member of.
const SHARED_APP_ROLE: &str = "tenantry_shared_app";

/// The shared application login of the control-plane database `database`: one per control plane
/// (roles are cluster-wide, and several control planes may share a server), derived from its
/// database's name.
pub fn shared_login_name(database: &str) -> String {
    let digest = Sha256::digest(database.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("tenantry_app_{hex}")
}

/// Where the tenant's PostgreSQL data is and who logs in to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresDetails {
    pub host: String,
    pub port: u16,
    pub database: String,
    /// The tenant's schema (`schema_per_tenant`), `shared` for `shared_schema`, `None` for a
    /// database of its own (its `public` schema).
    pub schema: Option<String>,
    pub user: String,
    /// The setting to make per transaction before touching shared rows (`shared_schema` only):
    /// `SET LOCAL app.tenant_id = '<id>'`.
    pub tenant_setting: Option<(String, String)>,
}

/// The tenant's Redis user and namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisDetails {
    /// `redis://{user}@{host}:{port}/{db}`: without the password.
    pub url: String,
    pub user: String,
    /// Every key and channel the user may touch starts with it.
    pub namespace: String,
}

/// One of the tenant's queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDetails {
    pub name: String,
    /// The Redis stream.
    pub stream: String,
    pub consumer_group: String,
}

/// Everything but the passwords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionDetails {
    pub postgres: PostgresDetails,
    pub redis: RedisDetails,
    pub queues: Vec<QueueDetails>,
}

/// The passwords of [`ConnectionDetails`]' users. Its `Debug` shows none of them.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub postgres_password: SecretValue,
    pub redis_password: SecretValue,
}

/// Why the passwords could not be given.
#[derive(Debug, thiserror::Error)]
pub enum RevealError {
    /// A stored password is gone; a new one would lock out whoever has the old one.
    #[error(
        "the stored password {reference} is missing; rotate the tenant's credentials \
         (POST …/credentials/rotate) to give it new ones"
    )]
    Missing { reference: SecretRef },
    #[error(transparent)]
    Failed(#[from] ProvisionError),
}

/// The connection details and passwords of tenants. Cheap to clone.
#[derive(Clone)]
pub struct TenantAccess {
    pool: PgPool,
    redis: redis::ConnectionInfo,
    secrets: Arc<OnceCell<Arc<dyn SecretStore>>>,
    /// `TENANTRY_SECRET_KEY`, for opening the secret store on first use (the key may have to be
    /// read from the database, which need not answer at start).
    key: Option<Arc<str>>,
}

impl TenantAccess {
    /// Over the control-plane `pool` (tenants' PostgreSQL data is on its server), the control
    /// plane's Redis `redis`, and the secret store under `secret_key` (as
    /// [`build_with`](super::build_with) takes it), opened on first use.
    pub fn new(pool: PgPool, redis: &redis::Client, secret_key: Option<&str>) -> Self {
        Self {
            pool,
            redis: redis.get_connection_info().clone(),
            secrets: Arc::new(OnceCell::new()),
            key: secret_key.map(Arc::from),
        }
    }

    async fn secrets(&self) -> Result<&Arc<dyn SecretStore>, ProvisionError> {
        self.secrets
            .get_or_try_init(|| async {
                let key = SecretKey::load(self.key.as_deref(), &self.pool).await?;
                let store: Arc<dyn SecretStore> =
                    Arc::new(PgSecretStore::new(self.pool.clone(), &key));
                anyhow::Ok(store)
            })
            .await
            .map_err(|e| ProvisionError::retryable(e.context("failed to open the secret store")))
    }

    fn control_database(&self) -> String {
        self.pool
            .connect_options()
            .get_database()
            .unwrap_or("postgres")
            .to_owned()
    }

    /// The tenant's connection details, with the login of its current credential rotation
    /// (`rotations`); no IO.
    pub fn connection(
        &self,
        tenant: TenantId,
        isolation: IsolationModel,
        rotations: &CredentialRotations,
    ) -> ConnectionDetails {
        let names = TenantNames::of(tenant);
        let options = self.pool.connect_options();
        let control = self.control_database();
        let (database, schema, user, tenant_setting) = match isolation {
            IsolationModel::SchemaPerTenant => (
                control,
                Some(names.schema().to_owned()),
                rotations.login(&names),
                None,
            ),
            IsolationModel::DatabasePerTenant => (
                names.database().to_owned(),
                None,
                rotations.login(&names),
                None,
            ),
            IsolationModel::SharedSchema => (
                control.clone(),
                Some("shared".to_owned()),
                shared_login_name(&control),
                Some(("app.tenant_id".to_owned(), tenant.to_string())),
            ),
        };
        let (host, port) = match &self.redis.addr {
            redis::ConnectionAddr::Tcp(host, port) => (host.clone(), *port),
            redis::ConnectionAddr::TcpTls { host, port, .. } => (host.clone(), *port),
            redis::ConnectionAddr::Unix(path) => (path.display().to_string(), 0),
        };
        let scheme = match &self.redis.addr {
            redis::ConnectionAddr::TcpTls { .. } => "rediss",
            _ => "redis",
        };
        ConnectionDetails {
            postgres: PostgresDetails {
                host: options.get_host().to_owned(),
                port: options.get_port(),
                database,
                schema,
                user,
                tenant_setting,
            },
            redis: RedisDetails {
                url: format!(
                    "{scheme}://{}@{host}:{port}/{}",
                    names.redis_user(),
                    self.redis.redis.db
                ),
                user: names.redis_user().to_owned(),
                namespace: names.redis_namespace().to_owned(),
            },
            queues: vec![QueueDetails {
                name: TenantNames::DEFAULT_QUEUE.to_owned(),
                stream: names.queue(),
                consumer_group: TenantNames::CONSUMER_GROUP.to_owned(),
            }],
        }
    }

    /// The passwords of the tenant's users, those of its current credential rotation
    /// (`rotations`). `suspended`: the tenant's login stays disabled when a password has to be
    /// made (see the module docs).
    pub async fn reveal(
        &self,
        tenant: TenantId,
        isolation: IsolationModel,
        suspended: bool,
        rotations: &CredentialRotations,
    ) -> Result<Credentials, RevealError> {
        let names = TenantNames::of(tenant);
        let postgres_password = match (isolation, isolation.login()) {
            (IsolationModel::SchemaPerTenant, _) if rotations.current() == 0 => {
                self.schema_password(&names, suspended).await?
            }
            (_, TenantLogin::OwnRole) => {
                self.stored(&rotations.secret(&names, TenantSecret::Postgres))
                    .await?
            }
            (_, TenantLogin::SharedAppRole) => self.shared_login_password().await?,
        };
        let redis_password = self
            .stored(&rotations.secret(&names, TenantSecret::Redis))
            .await?;
        Ok(Credentials {
            postgres_password,
            redis_password,
        })
    }

    async fn stored(&self, reference: &SecretRef) -> Result<SecretValue, RevealError> {
        self.secrets()
            .await?
            .get(reference)
            .await
            .or_fail(|| format!("failed to read secret {reference}"))?
            .ok_or_else(|| RevealError::Missing {
                reference: reference.clone(),
            })
    }

    /// The schema role's password; made (and the role given `LOGIN`, unless `suspended`) for a
    /// tenant provisioned before its role logged in.
    async fn schema_password(
        &self,
        names: &TenantNames,
        suspended: bool,
    ) -> Result<SecretValue, RevealError> {
        let reference = names.postgres_secret();
        let what = || format!("failed to read secret {reference}");
        let secrets = self.secrets().await?;
        if let Some(stored) = secrets.get(&reference).await.or_fail(what)? {
            return Ok(stored);
        }
        let password = secrets
            .put_if_absent(&reference, &SecretValue::generate())
            .await
            .or_fail(|| format!("failed to store the password of role {}", names.role()))?;
        let mut conn = self
            .pool
            .acquire()
            .await
            .or_fail(|| "failed to reach the control-plane database")?;
        let login = if suspended { "" } else { "LOGIN " };
        let verifier = super::scram::postgres_verifier(password.expose());
        conn.execute(sqlx::raw_sql(&format!(
            "ALTER ROLE {} WITH {login}PASSWORD '{verifier}'",
            quote_ident(names.role())
        )))
        .await
        .or_fail(|| format!("failed to give role {} its password", names.role()))?;
        Ok(password)
    }

    /// The shared application login's password, the login made (or repaired) when missing.
    async fn shared_login_password(&self) -> Result<SecretValue, RevealError> {
        let reference = SecretRef::parse(SHARED_LOGIN_SECRET).expect("a valid reference");
        let login = shared_login_name(&self.control_database());
        let password = self
            .secrets()
            .await?
            .put_if_absent(&reference, &SecretValue::generate())
            .await
            .or_fail(|| format!("failed to store the password of role {login}"))?;
        let mut conn = self
            .pool
            .acquire()
            .await
            .or_fail(|| "failed to reach the control-plane database")?;
        if !roles::exists(&mut conn, &login).await?
            || !roles::is_member(&mut conn, &login, SHARED_APP_ROLE).await?
        {
            roles::ensure(&mut conn, &login, Some(&password)).await?;
            conn.execute(sqlx::raw_sql(&format!(
                "GRANT {SHARED_APP_ROLE} TO {}",
                quote_ident(&login)
            )))
            .await
            .or_fail(|| format!("failed to make {login} a member of {SHARED_APP_ROLE}"))?;
        }
        Ok(password)
    }
}
