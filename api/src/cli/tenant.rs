//! `tenantry tenant create|list|show`: the tenant commands for scripts. `create` goes through the
//! same command handler as the API (same validation, same events, actor `system` with user agent
//! `tenantry-cli`); `list` and `show` read the read models that `tenantry serve` keeps, so they
//! are as fresh as its projectors. Output is JSON, one document per command.

use std::io::Write;
use std::str::FromStr;

use anyhow::Context;
use tenantry_application::event_store::Actor;
use tenantry_application::tenants::{CommandContext, CommandError, CreateTenantInput};
use tenantry_domain::{IsolationModel, TenantStatus};
use tenantry_projections::queries::tenants::{self, TenantFilter};

use crate::Settings;
use crate::startup::tenant_service;

#[derive(Debug, clap::Subcommand)]
pub enum TenantCommand {
    /// Create a tenant; provisioning starts by itself once `tenantry serve` runs.
    Create {
        #[arg(long)]
        name: String,
        /// Derived from the name when absent.
        #[arg(long)]
        slug: Option<String>,
        /// The default plan when absent.
        #[arg(long)]
        plan: Option<String>,
        /// shared_schema, schema_per_tenant or database_per_tenant; the plan's when absent.
        #[arg(long)]
        isolation: Option<String>,
        #[arg(long)]
        admin_email: Option<String>,
    },
    /// List tenants, newest first, as the admin panel does.
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        plan: Option<String>,
        /// `shared_schema`, `schema_per_tenant` or `database_per_tenant`.
        #[arg(long)]
        isolation: Option<String>,
        /// List deleted tenants too (left out unless `--status deleted`).
        #[arg(long)]
        include_deleted: bool,
        /// Matches name or slug.
        #[arg(long)]
        q: Option<String>,
        /// Page size, 1–500.
        #[arg(long, default_value_t = tenantry_projections::queries::DEFAULT_LIMIT,
              value_parser = clap::value_parser!(u32).range(1..=i64::from(tenantry_projections::queries::MAX_LIMIT)))]
        limit: u32,
        /// A previous page's `next_cursor`.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Show one tenant, by id or by the slug of a live tenant.
    Show {
        /// The tenant's id, or its slug.
        tenant: String,
    },
}

impl TenantCommand {
    pub async fn run(self, settings: &Settings, out: &mut impl Write) -> anyhow::Result<()> {
        let (pool, store) = super::connect(settings).await?;
        let json = match self {
            Self::Create {
                name,
                slug,
                plan,
                isolation,
                admin_email,
            } => {
                let service = tenant_service(settings, store)?;
                let mut context = CommandContext::new(Actor::System);
                context.user_agent = Some("tenantry-cli".into());
                let input = CreateTenantInput {
                    name,
                    slug,
                    plan,
                    isolation,
                    admin_email,
                };
                let outcome = service.create(input, &context).await.map_err(explain)?;
                serde_json::json!({
                    "id": outcome.tenant_id,
                    "slug": outcome.slug,
                    "status": outcome.status,
                    "version": outcome.version,
                    "position": outcome.position,
                })
            }
            Self::List {
                status,
                plan,
                isolation,
                include_deleted,
                q,
                limit,
                cursor,
            } => {
                let status = status
                    .as_deref()
                    .map(TenantStatus::from_str)
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("--status: {e}"))?;
                let isolation = isolation
                    .as_deref()
                    .map(IsolationModel::parse)
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("--isolation: {e}"))?;
                let filter = TenantFilter {
                    status,
                    plan,
                    isolation,
                    include_deleted,
                    q,
                    limit: Some(limit),
                    cursor,
                };
                serde_json::to_value(tenants::list(&pool, &filter).await?)?
            }
            Self::Show { tenant } => {
                let id = tenants::resolve(&pool, &tenant)
                    .await?
                    .with_context(|| tenants::no_such_tenant(&tenant))?;
                let shown = tenants::get(&pool, id)
                    .await?
                    .with_context(|| format!("no tenant with id {id}"))?;
                serde_json::to_value(shown)?
            }
        };
        writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        Ok(())
    }
}

/// A refusal reads as the API would say it, with the field.
fn explain(error: CommandError) -> anyhow::Error {
    match error {
        CommandError::Invalid(invalid) => {
            anyhow::anyhow!("--{}: {}", invalid.field.replace('_', "-"), invalid.message)
        }
        other => anyhow::Error::new(other),
    }
}
