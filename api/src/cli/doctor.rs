//! `tenantry doctor [--fix]`: the drift report. Compares what the read models say each tenant has
//! with what exists in PostgreSQL and Redis; lists orphans, missing and foreign resources; with
//! `--fix`, releases the orphans and looks again. Exits non-zero while drift remains.

use std::io::Write;

use anyhow::Context;
use secrecy::ExposeSecret;
use tenantry_application::doctor::{Doctor, DriftReport};
use tenantry_infrastructure::redact::redact_url;
use tenantry_projections::ReadModelWork;

use crate::Settings;

#[derive(Debug, clap::Args)]
pub struct DoctorCommand {
    /// Release the orphans (everything of the tenants they belong to), then report again.
    #[arg(long)]
    fix: bool,
}

impl DoctorCommand {
    /// Runs the report; `Ok(true)` when there is no drift (left).
    pub async fn run(self, settings: &Settings, out: &mut impl Write) -> anyhow::Result<bool> {
        let pool = tenantry_infrastructure::postgres::connect(&settings.database_url, 4).await?;
        let redis = redis::Client::open(settings.redis_url.as_str())
            .with_context(|| format!("invalid redis url {}", redact_url(&settings.redis_url)))?;
        let adapters = tenantry_infrastructure::provisioning::build(
            pool.clone(),
            redis,
            settings
                .secret_key
                .as_ref()
                .map(ExposeSecret::expose_secret),
            Default::default(),
        )
        .await?;
        let doctor = Doctor::new(adapters.inventory, adapters.provisioner);
        let tenants = ReadModelWork::new(pool).tenants().await?;
        let mut report = doctor.examine(&tenants).await?;
        print(&report, out)?;
        if self.fix && !report.orphans.is_empty() {
            let released = doctor.fix(&report).await?;
            writeln!(out, "released everything of {} tenant(s)", released.len())?;
            report = doctor.examine(&tenants).await?;
            print(&report, out)?;
        }
        Ok(!report.has_drift())
    }
}

fn print(report: &DriftReport, out: &mut impl Write) -> anyhow::Result<()> {
    for r in &report.orphans {
        writeln!(out, "orphan\t{:?}\t{}", r.kind, r.name)?;
    }
    for (tenant, kind) in &report.missing {
        writeln!(out, "missing\t{kind:?}\tof tenant {tenant}")?;
    }
    for r in &report.foreign {
        writeln!(
            out,
            "foreign\t{:?}\t{}\t(not this control plane's; left alone)",
            r.kind, r.name
        )?;
    }
    writeln!(
        out,
        "{} orphan(s), {} missing, {} foreign",
        report.orphans.len(),
        report.missing.len(),
        report.foreign.len()
    )?;
    Ok(())
}
