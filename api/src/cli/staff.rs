//! `tenantry staff create --email E --password P` and `tenantry staff list`: managing platform
//! staff accounts from a shell. `create` is how the first operator gets in, before anyone can log
//! in to the API. Both apply the migrations first, like `serve`.

use std::io::Write;

use anyhow::Context;
use tenantry_application::staff::{CreateStaffError, StaffService};

use crate::settings::Settings;
use crate::startup::staff_service;

#[derive(Debug, Clone, clap::Subcommand)]
pub enum StaffCommand {
    /// Create a platform staff account and print its id.
    Create {
        /// The email the staff member logs in with (compared without regard to case).
        #[arg(long)]
        email: String,
        /// At least 12 characters; required, here or in TENANTRY_STAFF_PASSWORD (which keeps it
        /// out of the process list and the shell history).
        #[arg(long, env = "TENANTRY_STAFF_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// List the staff accounts: id, email, created at, status.
    List,
}

impl StaffCommand {
    /// Runs the command against the database of `settings`, writing its output to `out`.
    pub async fn run(self, settings: &Settings, out: &mut impl Write) -> anyhow::Result<()> {
        if let Self::Create { password: None, .. } = &self {
            anyhow::bail!(
                "a password is required: --password, or TENANTRY_STAFF_PASSWORD to keep it out of \
                 the process list"
            );
        }
        let staff = connect(settings).await?;
        match self {
            Self::Create { email, password } => {
                let password = password.unwrap_or_default();
                let account = staff.create(&email, &password).await.map_err(explain)?;
                writeln!(out, "{}", account.id)?;
            }
            Self::List => {
                for account in staff
                    .list()
                    .await
                    .context("failed to list staff accounts")?
                {
                    let status = if account.disabled_at.is_some() {
                        "disabled"
                    } else {
                        "active"
                    };
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{status}",
                        account.id,
                        account.email,
                        account
                            .created_at
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    )?;
                }
            }
        }
        Ok(())
    }
}

async fn connect(settings: &Settings) -> anyhow::Result<StaffService> {
    tenantry_infrastructure::postgres::migrate(&settings.database_url).await?;
    crate::event_store::migrate(settings).await?;
    let pool = tenantry_infrastructure::postgres::connect(&settings.database_url, 2).await?;
    let store = crate::event_store::build(settings, &pool).await?;
    Ok(staff_service(&pool, &store))
}

/// Refusals say what to fix; failures say what failed.
fn explain(error: CreateStaffError) -> anyhow::Error {
    match error {
        CreateStaffError::Internal(e) => e.context("failed to create the staff account"),
        refused => refused.into(),
    }
}
