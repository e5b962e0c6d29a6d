//! `tenantry staff create|list|disable|enable|delete`: managing platform staff accounts from a
//! shell. `create` is how the first operator gets in, before anyone can log in to the API;
//! `disable` and `delete` lock an account out at once (its tokens stop working on the next
//! request). Each applies the migrations first, like `serve`, and records its events with the
//! actor `system`, as `create` does.

use std::io::Write;

use anyhow::Context;
use tenantry_application::event_store::Actor;
use tenantry_application::kernel::CommandContext;
use tenantry_application::staff::{
    ChangeStaffError, CreateStaffError, StaffChange, StaffKey, StaffService, StaffStatus,
};
use uuid::Uuid;

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
    /// List the staff accounts: id, email, created at, status (active, disabled or deleted).
    List,
    /// Disable a staff account: it can no longer log in, and its tokens stop working at once.
    ///
    /// The tokens it had stay refused after `enable` too. Disabling a disabled account changes
    /// nothing; a deleted account cannot be disabled.
    Disable {
        #[command(flatten)]
        account: AccountArg,
        /// Why, for the audit log (at most 500 characters).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Enable a disabled staff account again: it can log in.
    ///
    /// Only tokens issued from now on work. Enabling an active account changes nothing; a deleted
    /// account cannot be enabled.
    Enable {
        #[command(flatten)]
        account: AccountArg,
    },
    /// Delete a staff account for good: its tokens stop working at once, and its email is free
    /// for a new account.
    ///
    /// It can no longer log in, be disabled or enabled; its password hash is dropped; its history
    /// stays in the event log and `staff list` shows it as deleted. A new account with its email
    /// gets a new id. Deleting a deleted account changes nothing.
    Delete {
        #[command(flatten)]
        account: AccountArg,
    },
}

/// Which account: by email or by id (one of them).
#[derive(Debug, Clone, clap::Args)]
#[group(required = true, multiple = false)]
pub struct AccountArg {
    /// The email the account logs in with (any case). A deleted account is named by its email
    /// only while no new account has it; else use --id.
    #[arg(long)]
    pub email: Option<String>,
    /// The account's id (as `staff list` prints it).
    #[arg(long)]
    pub id: Option<Uuid>,
}

impl AccountArg {
    /// By email.
    pub fn email(email: &str) -> Self {
        Self {
            email: Some(email.to_owned()),
            id: None,
        }
    }

    fn key(&self) -> anyhow::Result<StaffKey> {
        match (&self.email, self.id) {
            (Some(email), None) => Ok(StaffKey::Email(email.clone())),
            (None, Some(id)) => Ok(StaffKey::Id(id)),
            _ => anyhow::bail!("name the account with exactly one of --email and --id"),
        }
    }
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
                    let status = account.status();
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
            Self::Disable { account, reason } => {
                let key = account.key()?;
                let change = staff
                    .disable(&key, reason.as_deref(), &context())
                    .await
                    .map_err(|e| refused("disable", e))?;
                report(out, &change, "disabled", "was already disabled")?;
            }
            Self::Enable { account } => {
                let key = account.key()?;
                let change = staff
                    .enable(&key, &context())
                    .await
                    .map_err(|e| refused("enable", e))?;
                report(out, &change, "enabled", "was already active")?;
            }
            Self::Delete { account } => {
                let key = account.key()?;
                let change = staff
                    .delete(&key, &context())
                    .await
                    .map_err(|e| refused("delete", e))?;
                report(out, &change, "deleted", "was already deleted")?;
            }
        }
        Ok(())
    }
}

/// The commands' events are recorded as Tenantry's own, like `create`'s.
fn context() -> CommandContext {
    CommandContext::new(Actor::System)
}

/// One line: `disabled staff account ID (EMAIL)`, or `staff account ID (EMAIL) was already …`.
fn report(
    out: &mut impl Write,
    change: &StaffChange,
    done: &str,
    already: &str,
) -> anyhow::Result<()> {
    let account = &change.account;
    if change.changed {
        write!(
            out,
            "{done} staff account {} ({})",
            account.id, account.email
        )?;
        if account.status() == StaffStatus::Deleted {
            write!(out, "; its email is free for a new account")?;
        }
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "staff account {} ({}) {already}",
            account.id, account.email
        )?;
    }
    Ok(())
}

/// Refusals say what to fix; failures say what failed.
fn refused(what: &str, error: ChangeStaffError) -> anyhow::Error {
    match error {
        ChangeStaffError::Internal(e) => e.context(format!("failed to {what} the staff account")),
        // "reason must …" as "--reason must …".
        ChangeStaffError::InvalidReason(why) => anyhow::anyhow!("--{why}"),
        refused => refused.into(),
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
