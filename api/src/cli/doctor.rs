//! `tenantry doctor [--fix] [--show-foreign]`: the drift report. Compares what the read models say
//! each tenant has with what exists in PostgreSQL and Redis, and prints one line per tenant (its
//! slug, id and status, then `ok`, `drift: …` with what is missing and orphaned, or `not judged`
//! while the sagas are at work on it), then the totals. Resources of other control planes on
//! shared servers (foreign) are only counted unless `--show-foreign`. With `--fix`, releases the
//! orphans, re-applies what active and suspended tenants lack with their stored secrets (a lost
//! schema or database only with `--recreate-empty`: its data is gone), records each repair as a
//! `ResourceRepaired` event, and looks again. Exits non-zero while drift remains.

use std::collections::HashMap;
use std::io::Write;

use anyhow::Context;
use secrecy::ExposeSecret;
use tenantry_application::doctor::{Doctor, DriftReport, TenantHealth, Verdict};
use tenantry_application::event_store::Actor;
use tenantry_application::kernel::CommandContext;
use tenantry_application::reconcile::{Reconciler, RepairOptions, RepairOutcome};
use tenantry_infrastructure::redact::redact_url;
use tenantry_projections::ReadModelWork;
use tenantry_projections::queries::tenants;
use uuid::Uuid;

use crate::Settings;

#[derive(Debug, clap::Args)]
pub struct DoctorCommand {
    /// Release the orphans (everything of the tenants they belong to), re-apply what active and
    /// suspended tenants lack (with their stored passwords; each repair an event in the tenant's
    /// history), then report again.
    #[arg(long)]
    fix: bool,
    /// With --fix: re-create a missing schema or database empty, with the tenant migrations.
    /// Its data is lost; without this flag it is only reported as data loss.
    #[arg(long, requires = "fix")]
    recreate_empty: bool,
    /// List the foreign resources (tenant-like names of other control planes on the same
    /// PostgreSQL and Redis servers, never touched) instead of only counting them.
    #[arg(long)]
    show_foreign: bool,
}

impl DoctorCommand {
    /// Runs the report; `Ok(true)` when there is no drift (left).
    pub async fn run(self, settings: &Settings, out: &mut impl Write) -> anyhow::Result<bool> {
        let pool = tenantry_infrastructure::postgres::connect(&settings.database_url, 4).await?;
        let redis = redis::Client::open(settings.redis_url.as_str())
            .with_context(|| format!("invalid redis url {}", redact_url(&settings.redis_url)))?;
        // With the service's Redis timeouts and step time limits: a Redis that does not answer
        // ends the report with an error instead of hanging it.
        let adapters = tenantry_infrastructure::provisioning::build_with(
            pool.clone(),
            redis,
            settings
                .secret_key
                .as_ref()
                .map(ExposeSecret::expose_secret),
            Default::default(),
            &settings.provisioning_options()?,
        )
        .await?;
        let doctor = Doctor::new(adapters.inventory, adapters.provisioner.clone());
        let slugs = tenants::slugs(&pool)
            .await
            .context("failed to read the tenants' slugs")?;
        let tenants = ReadModelWork::new(pool.clone()).tenants().await?;
        let mut report = doctor.examine(&tenants).await?;
        self.print(&report, &slugs, out)?;
        if self.fix && report.has_drift() {
            if !report.orphans.is_empty() {
                let released = doctor.fix(&report).await?;
                writeln!(out, "released everything of {} tenant(s)", released.len())?;
            }
            if !report.missing.is_empty() {
                let store = crate::event_store::build(settings, &pool).await?;
                let mut context = CommandContext::new(Actor::System);
                context.user_agent = Some("tenantry-cli doctor --fix".into());
                let reconciler = Reconciler::new(
                    adapters.provisioner,
                    adapters.secrets,
                    crate::startup::tenant_service(settings, store)?,
                    context,
                );
                let options = RepairOptions {
                    recreate_empty: self.recreate_empty,
                };
                let outcome = reconciler.repair(&report, options).await;
                print_repairs(&outcome, &slugs, out)?;
            }
            report = doctor.examine(&tenants).await?;
            self.print(&report, &slugs, out)?;
        }
        Ok(!report.has_drift())
    }

    fn print(
        &self,
        report: &DriftReport,
        slugs: &HashMap<Uuid, String>,
        out: &mut impl Write,
    ) -> anyhow::Result<()> {
        let slug_of = |t: &TenantHealth| slugs.get(&t.tenant.as_uuid()).map_or("-", String::as_str);
        let mut lines: Vec<&TenantHealth> = report.tenants.iter().collect();
        // By slug; tenants this control plane never made (no slug) last, by id.
        lines.sort_by_key(|t| (slug_of(t) == "-", slug_of(t), t.tenant));
        let (mut ok, mut drift, mut in_flight) = (0, 0, 0);
        for t in lines {
            let status = t.status.map_or("unknown", |s| s.as_str());
            let verdict = match t.verdict() {
                Verdict::Ok => {
                    ok += 1;
                    "ok".to_owned()
                }
                Verdict::InFlight => {
                    in_flight += 1;
                    "not judged (in flight: the sagas are at work on it)".to_owned()
                }
                Verdict::Drift => {
                    drift += 1;
                    let mut what = Vec::new();
                    if !t.missing.is_empty() {
                        let kinds: Vec<String> =
                            t.missing.iter().map(|k| format!("{k:?}")).collect();
                        what.push(format!("missing {}", kinds.join(", ")));
                    }
                    if !t.orphans.is_empty() {
                        let orphans: Vec<String> = t
                            .orphans
                            .iter()
                            .map(|r| format!("{:?} {}", r.kind, r.name))
                            .collect();
                        what.push(format!("orphaned {}", orphans.join(", ")));
                    }
                    if t.status.is_none() {
                        what.push("a tenant id this control plane never made".to_owned());
                    }
                    format!("drift: {}", what.join("; "))
                }
            };
            writeln!(out, "{}\t{}\t{status}\t{verdict}", slug_of(t), t.tenant)?;
        }
        writeln!(
            out,
            "{} tenant(s): {ok} ok, {drift} drift, {in_flight} not judged; {} orphan(s), {} missing",
            report.tenants.len(),
            report.orphans.len(),
            report.missing.len(),
        )?;
        if self.show_foreign {
            for r in &report.foreign {
                writeln!(
                    out,
                    "foreign\t{:?}\t{}\t(not this control plane's; left alone)",
                    r.kind, r.name
                )?;
            }
            writeln!(
                out,
                "{} foreign resource(s) (other control planes'; left alone)",
                report.foreign.len()
            )?;
        } else if !report.foreign.is_empty() {
            writeln!(
                out,
                "{} foreign resource(s) hidden; --show-foreign lists them",
                report.foreign.len()
            )?;
        }
        Ok(())
    }
}

/// One line per repair (`repaired  slug  id  kind  name  reason`) and per resource left missing
/// (`data loss …` or `not repaired …`, with why), then the totals.
fn print_repairs(
    outcome: &RepairOutcome,
    slugs: &HashMap<Uuid, String>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut data_loss = 0;
    for tenant in &outcome.tenants {
        let slug = slugs
            .get(&tenant.tenant.as_uuid())
            .map_or("-", String::as_str);
        for done in &tenant.repaired {
            writeln!(
                out,
                "repaired\t{slug}\t{}\t{}\t{}\t{}",
                tenant.tenant, done.kind, done.name, done.reason
            )?;
        }
        for left in &tenant.left {
            let what = if left.data_loss {
                data_loss += 1;
                "data loss"
            } else {
                "not repaired"
            };
            writeln!(
                out,
                "{what}\t{slug}\t{}\t{:?}\t{}",
                tenant.tenant, left.kind, left.why
            )?;
        }
    }
    writeln!(
        out,
        "repaired {} resource(s) of {} tenant(s); {} left missing ({data_loss} data loss)",
        outcome.repaired(),
        outcome.tenants.len(),
        outcome.left(),
    )?;
    Ok(())
}
