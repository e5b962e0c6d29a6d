//! `tenantry service-token create|list|revoke`: the tokens the application's own services call
//! the control plane with (README "The app's way in"). `create` prints the token once; only its
//! SHA-256 is stored (`tenantry_infrastructure::service_tokens`). `revoke` refuses it from the
//! next request on. Each applies the migrations first, like `staff`.

use std::io::Write;

use anyhow::Context;
use sqlx::PgPool;
use tenantry_infrastructure::service_tokens::{PgServiceTokens, Revoked, Scope, ServiceToken};
use tenantry_projections::queries::tenants;
use uuid::Uuid;

use crate::settings::Settings;

#[derive(Debug, Clone, clap::Subcommand)]
pub enum ServiceTokenCommand {
    /// Make a service token and print it, once: it is not stored and cannot be shown again.
    ///
    /// The first line is the token; the second its id (what `revoke` takes and what the audit
    /// log records as `service:{id}`).
    Create {
        /// Which service holds it (for `list` and the audit log).
        #[arg(long)]
        name: String,
        /// `credentials:read` (a tenant's connection and passwords) or `directory:read`
        /// (`GET /platform/api/resolve`); repeat for both.
        #[arg(long = "scope", required = true, value_parser = parse_scope)]
        scopes: Vec<Scope>,
        /// Hold the token to this tenant (its id, or the slug of a live tenant): its
        /// `credentials:read` reaches that tenant only.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// List the service tokens (never the token itself): id, name, scopes, tenant, created at,
    /// last used at, and `revoked` with when, or `active`.
    List,
    /// Revoke a service token: it is refused from the next request on. Revoking a revoked token
    /// changes nothing.
    Revoke {
        /// The token's id (as `create` and `list` print it).
        id: Uuid,
    },
}

fn parse_scope(raw: &str) -> Result<Scope, String> {
    raw.parse().map_err(|e| format!("{e}"))
}

impl ServiceTokenCommand {
    /// Runs the command against the database of `settings`, writing its output to `out`.
    pub async fn run(self, settings: &Settings, out: &mut impl Write) -> anyhow::Result<()> {
        tenantry_infrastructure::postgres::migrate(&settings.database_url).await?;
        let pool = tenantry_infrastructure::postgres::connect(&settings.database_url, 2)
            .await
            .context("failed to connect to the control-plane database")?;
        let tokens = PgServiceTokens::new(pool.clone());
        match self {
            Self::Create {
                name,
                scopes,
                tenant,
            } => {
                let tenant = match tenant {
                    Some(raw) => Some(tenant_of(&pool, &raw).await?),
                    None => None,
                };
                let issued = tokens.create(&name, &scopes, tenant).await?;
                writeln!(out, "{}", issued.secret)?;
                writeln!(out, "{}", issued.token.id)?;
            }
            Self::List => {
                for token in tokens.list().await? {
                    writeln!(out, "{}", line(&token))?;
                }
            }
            Self::Revoke { id } => match tokens.revoke(id).await? {
                Revoked::Now(token) => {
                    writeln!(out, "revoked service token {} ({})", token.id, token.name)?;
                }
                Revoked::Already(token) => writeln!(
                    out,
                    "service token {} ({}) was already revoked",
                    token.id, token.name
                )?,
                Revoked::NotFound => anyhow::bail!("no service token with id {id}"),
            },
        }
        Ok(())
    }
}

/// The tenant `raw` names (an id or a live tenant's slug), known to the read models.
async fn tenant_of(pool: &PgPool, raw: &str) -> anyhow::Result<Uuid> {
    let id = tenants::resolve(pool, raw)
        .await
        .context("failed to look the tenant up")?;
    let known = match id {
        Some(id) => tenants::get(pool, id)
            .await
            .context("failed to look the tenant up")?
            .map(|view| view.id),
        None => None,
    };
    known.ok_or_else(|| anyhow::anyhow!("--tenant: {}", tenants::no_such_tenant(raw)))
}

/// `id  name  scopes  tenant|-  created  last-used|-  active|revoked:{at}`, tab-separated.
fn line(token: &ServiceToken) -> String {
    let time =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let scopes: Vec<&str> = token.scopes.iter().map(|s| s.as_str()).collect();
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
        token.id,
        token.name,
        scopes.join(","),
        token
            .tenant_id
            .map_or_else(|| "-".to_owned(), |t| t.to_string()),
        time(token.created_at),
        token.last_used_at.map_or_else(|| "-".to_owned(), time),
        token
            .revoked_at
            .map_or_else(|| "active".to_owned(), |t| format!("revoked:{}", time(t))),
    )
}
