//! `tenantry tenant create|list|show|retry`: the tenant commands for scripts. `create` goes through
//! the same command handler as the API (same validation, same events, actor `system` with user
//! agent `tenantry-cli`); `list` and `show` read the read models that `tenantry serve` keeps, so
//! they are as fresh as its projectors. Output is JSON, one document per command, but for
//! `retry`: one line per tenant and a summary. `retry` finds the failed tenants in the read
//! models and retries each through the same command handler as `POST
//! /platform/api/tenants/{id}/provision` (the saga of a running `tenantry serve` does the rest).

use std::io::Write;
use std::str::FromStr;

use anyhow::Context;
use chrono::{DateTime, Utc};
use tenantry_application::event_store::Actor;
use tenantry_application::tenants::{CommandContext, CommandError, CreateTenantInput};
use tenantry_domain::{IsolationModel, TenantId, TenantStatus};
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
    /// Retry every failed tenant that failed since a time, as `POST
    /// /platform/api/tenants/{id}/provision` does (e.g. after an outage that failed them).
    Retry {
        /// Which tenants: `failed` (the only status that can be retried).
        #[arg(long)]
        status: String,
        /// An RFC 3339 time (`2026-12-02T04:00:00Z`) or how long ago (`2h`, `90m`, `1d`,
        /// `1h30m`; units s, m, h, d, w): tenants that failed at or after it.
        #[arg(long)]
        since: String,
        /// List what would be retried; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// At most this many tenants, the oldest failure first.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        limit: Option<u32>,
    },
}

impl TenantCommand {
    pub async fn run(self, settings: &Settings, out: &mut impl Write) -> anyhow::Result<()> {
        if let Self::Retry {
            status,
            since,
            dry_run,
            limit,
        } = self
        {
            let since = retry_arguments(&status, &since, Utc::now())?;
            return retry(settings, since, dry_run, limit, out).await;
        }
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
            Self::Retry { .. } => unreachable!("handled above"),
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

/// Checks `--status` and reads `--since` (relative to `now`).
fn retry_arguments(status: &str, since: &str, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    let parsed = TenantStatus::from_str(status).map_err(|e| anyhow::anyhow!("--status: {e}"))?;
    if parsed != TenantStatus::Failed {
        anyhow::bail!(
            "--status: only failed tenants can be retried, not {parsed} ones (use --status failed)"
        );
    }
    let since = parse_since(since, now).map_err(|e| anyhow::anyhow!("--since: {e}"))?;
    if since > now {
        anyhow::bail!("--since: {} is in the future", since.to_rfc3339());
    }
    Ok(since)
}

/// An RFC 3339 time, or a duration before `now` (`2h`, `90m`, `1h30m`, `1d`, in `humantime`'s
/// notation).
fn parse_since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let ago = humantime::parse_duration(text).map_err(|error| {
        format!(
            "{text:?} is neither an RFC 3339 time (like 2026-12-02T04:00:00Z) nor a duration \
             (like 2h, 90m, 1h30m, 1d): {error}"
        )
    })?;
    chrono::Duration::from_std(ago)
        .ok()
        .and_then(|ago| now.checked_sub_signed(ago))
        .ok_or_else(|| format!("{text:?} is too long ago"))
}

/// Retries (or, with `dry_run`, lists) the failed tenants that failed at or after `since`.
async fn retry(
    settings: &Settings,
    since: DateTime<Utc>,
    dry_run: bool,
    limit: Option<u32>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let (pool, store) = super::connect(settings).await?;
    let failed = tenants::failed_since(&pool, since, limit)
        .await
        .context("failed to list the failed tenants")?;
    let service = tenant_service(settings, store)?;
    let mut context = CommandContext::new(Actor::System);
    context.user_agent = Some("tenantry-cli".into());
    let (mut retried, mut skipped, mut errors) = (0, 0, 0);
    for tenant in &failed {
        let what = format!(
            "{}  {}  failed at {} (attempt {})",
            tenant.id,
            tenant.slug,
            tenant.failed_at.to_rfc3339(),
            tenant.attempt
        );
        if dry_run {
            writeln!(out, "would retry  {what}")?;
            continue;
        }
        let id = TenantId::from_uuid(tenant.id);
        match service.request_provisioning(id, &context).await {
            Ok(outcome) => {
                retried += 1;
                writeln!(
                    out,
                    "retried  {what}: provisioning again (version {}, position {})",
                    outcome.version, outcome.position
                )?;
            }
            // It moved on since the read model was read (retried or deleted by someone else).
            Err(CommandError::Rejected(refused)) => {
                skipped += 1;
                writeln!(out, "skipped  {what}: {refused}")?;
            }
            Err(error) => {
                errors += 1;
                writeln!(out, "error    {what}: {error:#}")?;
            }
        }
    }
    let since = since.to_rfc3339();
    if dry_run {
        writeln!(
            out,
            "{} failed tenant(s) since {since} would be retried (dry run: nothing changed)",
            failed.len()
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "retried {retried} of {} failed tenant(s) since {since}; {skipped} skipped (no longer failed), {errors} error(s)",
        failed.len()
    )?;
    if errors > 0 {
        anyhow::bail!("{errors} tenant(s) could not be retried");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-12-02T06:00:00Z".parse().unwrap()
    }

    #[test]
    fn since_takes_a_time_or_a_duration_ago() {
        let at = |s: &str| parse_since(s, now()).map(|t| t.to_rfc3339());
        assert_eq!(
            at("2026-12-02T04:00:00Z"),
            Ok("2026-12-02T04:00:00+00:00".into())
        );
        assert_eq!(at("2h"), Ok("2026-12-02T04:00:00+00:00".into()));
        assert_eq!(at("1h30m"), Ok("2026-12-02T04:30:00+00:00".into()));
        assert_eq!(at("1d"), Ok("2026-12-01T06:00:00+00:00".into()));
        for bad in ["", "yesterday", "2", "2x", "-2h", "h"] {
            assert!(at(bad).is_err(), "{bad:?}");
        }
        assert!(at("99999999999999999999w").is_err());
    }

    #[test]
    fn bad_arguments_name_the_flag_and_say_why() {
        let error = retry_arguments("active", "2h", now())
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("--status: only failed tenants"),
            "{error}"
        );
        let error = retry_arguments("broken", "2h", now())
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("--status: "), "{error}");
        let error = retry_arguments("failed", "soon", now())
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("--since: \"soon\" is neither"), "{error}");
        let error = retry_arguments("failed", "2027-01-01T00:00:00Z", now())
            .unwrap_err()
            .to_string();
        assert!(error.contains("in the future"), "{error}");
        assert!(retry_arguments("failed", "2h", now()).is_ok());
    }
}
