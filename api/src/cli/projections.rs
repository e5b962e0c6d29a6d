//! `tenantry projections status` and `tenantry projections rebuild NAME`: the read models and
//! their checkpoints are in the control-plane database, the log in the configured event store.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use tenantry_projections::queries::drives::HungDrives;
use tenantry_projections::{ProjectorState, RebuildOptions, RebuildProgress, default_projectors};

use crate::Settings;

#[derive(Debug, clap::Subcommand)]
pub enum ProjectionsCommand {
    /// List each projector with its checkpoint, lag (events and seconds) and state: `stalled`
    /// when it stopped on a failing event, or when events wait but no batch committed for
    /// `TENANTRY_PROJECTOR_STALLED_SECS` (no instance leads it, or its leader is frozen).
    /// Then the saga drives at work longer than `TENANTRY_HUNG_DRIVE_SECS` (hung).
    Status,
    /// Replay the whole log into fresh tables for projector NAME, then swap them in atomically.
    /// The service keeps answering from the old tables meanwhile, and need not be stopped.
    Rebuild {
        /// The projector: tenant_panel, provisioning_steps, audit_log or tenant_directory.
        name: String,
        /// Events per read and per transaction.
        #[arg(long, default_value_t = 5000)]
        batch_size: usize,
    },
}

impl ProjectionsCommand {
    pub async fn run(self, settings: &Settings) -> anyhow::Result<()> {
        match self {
            Self::Status => status(settings).await,
            Self::Rebuild { name, batch_size } => rebuild(settings, &name, batch_size).await,
        }
    }
}

async fn status(settings: &Settings) -> anyhow::Result<()> {
    let (pool, store) = super::connect(settings).await?;
    let projectors = default_projectors();
    let names: Vec<&str> = projectors.iter().map(|p| p.name()).collect();
    let statuses = tenantry_projections::status(&pool, &*store, &names)
        .await
        .context("failed to read the projectors' checkpoints")?;
    println!(
        "{:<20} {:>24} {:>12} {:>10}  {:<8} updated",
        "projector", "checkpoint", "lag events", "lag s", "state"
    );
    let after = settings.projector_stalled_after();
    for s in statuses {
        let updated = s
            .updated_at
            .map_or_else(|| "never".to_owned(), |t| t.to_rfc3339());
        println!(
            "{:<20} {:>24} {:>12} {:>10.1}  {:<8} {updated}",
            s.name,
            s.checkpoint.to_string(),
            s.lag_events,
            s.lag_seconds,
            s.label(after)
        );
        if s.state == ProjectorState::Stalled {
            println!(
                "  stalled at position {}: {}",
                s.stalled_at.unwrap_or(0),
                s.last_error.as_deref().unwrap_or("(no error recorded)")
            );
        } else if s.not_committing(after) {
            println!(
                "  stalled: {} event(s) waiting, no batch committed for over {} s \
                 (no instance leads it, or its leader is frozen or stuck)",
                s.lag_events,
                after.as_secs()
            );
        }
    }
    let bound = Duration::from_secs(settings.hung_drive_secs);
    let hung = tenantry_projections::queries::drives::hung_drives(&pool, bound)
        .await
        .context("failed to read the saga drives from the read models")?;
    print!("{}", hung_report(&hung));
    Ok(())
}

/// The saga drives part of `projections status`: one line, then one per hung drive listed.
fn hung_report(hung: &HungDrives) -> String {
    if hung.hung == 0 {
        return format!(
            "saga drives: none hung (none at work longer than {} s)\n",
            hung.bound_seconds
        );
    }
    let mut text = format!(
        "saga drives: {} hung (at work longer than {} s without recording anything), oldest {:.0} s\n",
        hung.hung, hung.bound_seconds, hung.oldest_seconds
    );
    for drive in &hung.drives {
        text.push_str(&format!(
            "  hung  tenant {}  {}  since {} ({:.0} s)\n",
            drive.tenant_id,
            drive.step,
            drive.since.to_rfc3339(),
            drive.seconds
        ));
    }
    if hung.hung > hung.drives.len() as u64 {
        text.push_str(&format!(
            "  … and {} more\n",
            hung.hung - hung.drives.len() as u64
        ));
    }
    text
}

async fn rebuild(settings: &Settings, name: &str, batch_size: usize) -> anyhow::Result<()> {
    let projectors = default_projectors();
    let Some(projector) = projectors.iter().find(|p| p.name() == name).cloned() else {
        let known: Vec<&str> = projectors.iter().map(|p| p.name()).collect();
        return Err(tenantry_projections::ProjectionError::UnknownProjector(
            name.to_owned(),
        ))
        .with_context(|| format!("the projectors are: {}", known.join(", ")));
    };
    let (pool, store) = super::connect(settings).await?;
    let options = RebuildOptions {
        batch_size,
        ..RebuildOptions::default()
    };
    let mut progress = Progress::new(name);
    let report = tenantry_projections::rebuild(&pool, &*store, &*projector, &options, |p| {
        progress.update(p)
    })
    .await
    .with_context(|| format!("failed to rebuild {name}"))?;
    progress.finish();
    let seconds = report.elapsed.as_secs_f64();
    println!(
        "rebuilt {name}: {} events in {seconds:.1} s ({:.0} events/s), batch size {}, now at {}",
        report.events,
        report.events as f64 / seconds.max(1e-9),
        report.batch_size,
        report.checkpoint
    );
    Ok(())
}

/// A progress bar on a terminal; otherwise a plain line every few seconds.
enum Progress {
    Bar(ProgressBar),
    Lines { name: String, last: Instant },
}

impl Progress {
    fn new(name: &str) -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:40}] {human_pos}/{human_len} events, {per_sec}, ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_message(name.to_owned());
            Self::Bar(bar)
        } else {
            Self::Lines {
                name: name.to_owned(),
                last: Instant::now(),
            }
        }
    }

    fn update(&mut self, p: &RebuildProgress) {
        let total = p.total.max(p.done);
        match self {
            Self::Bar(bar) => {
                bar.set_length(total);
                bar.set_position(p.done);
            }
            Self::Lines { name, last } => {
                if last.elapsed() < Duration::from_secs(2) && p.done < total {
                    return;
                }
                *last = Instant::now();
                let rate = p.done as f64 / p.elapsed.as_secs_f64().max(1e-9);
                let eta = (total - p.done) as f64 / rate.max(1e-9);
                eprintln!(
                    "{name}: {}/{total} events, {rate:.0} events/s, ETA {eta:.0} s",
                    p.done
                );
            }
        }
    }

    fn finish(self) {
        if let Self::Bar(bar) = self {
            bar.finish();
        }
    }
}
