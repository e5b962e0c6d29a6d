//! The `tenantry` binary: parses the command line and runs the chosen command. The composition
//! root: the only place where adapters are chosen and wired into ports (the event store's, from
//! `TENANTRY_EVENT_STORE_URL`, in `tenantry_api::event_store`).

use clap::{Parser, Subcommand};
use tenantry_api::{Application, Settings, cli, startup, telemetry};

/// mimalloc, not the system allocator: reading the log allocates a handful of small strings and
/// JSON nodes per event, and mimalloc reads it about 10% faster (README: Choices).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "tenantry",
    version,
    about = "Event-sourced control plane for multi-tenant SaaS"
)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply the migrations, then serve the HTTP API until SIGTERM or ctrl-c.
    Serve,
    /// Create the database if it does not exist and apply the migrations.
    Migrate,
    /// Inspect and rebuild the read models.
    Projections {
        #[command(subcommand)]
        command: cli::projections::ProjectionsCommand,
    },
    /// Print the event log, or a tenant's state at a moment of its past.
    Events {
        #[command(subcommand)]
        command: cli::events::EventsCommand,
    },
    /// Manage platform staff accounts (the operators who use `/platform/api`).
    #[command(subcommand)]
    Staff(cli::staff::StaffCommand),
    /// Manage the tokens the application's services call the control plane with
    /// (`credentials:read`, `directory:read`).
    #[command(subcommand)]
    ServiceToken(cli::service_token::ServiceTokenCommand),
    /// Compare what the read models say exists with what PostgreSQL and Redis hold, one line per
    /// tenant; exits non-zero on drift.
    Doctor(cli::doctor::DoctorCommand),
    /// The fleet migration of the tenant migrations: plan, apply in waves, pause, resume, status.
    Migrations {
        #[command(subcommand)]
        command: cli::migrations::MigrationsCommand,
    },
    /// Create, list and show tenants from scripts (JSON output).
    #[command(subcommand)]
    Tenant(cli::tenant::TenantCommand),
    /// Print the OpenAPI document `/openapi.json` serves (or its markdown reference, or write
    /// both to a directory, as docs/ holds them).
    Openapi(cli::openapi::OpenApiCommand),
}

/// Runs the command; a failure is printed as one line with its causes (`error: …: …`), never as
/// a backtrace, whatever `RUST_BACKTRACE` says, and the process exits with status 1.
#[tokio::main]
async fn main() -> std::process::ExitCode {
    telemetry::init();
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Migrate => {
            tenantry_infrastructure::postgres::migrate(&cli.settings.database_url).await?;
            tenantry_api::event_store::migrate(&cli.settings).await?;
            tracing::info!("migrations applied");
        }
        Command::Serve => {
            tenantry_infrastructure::postgres::migrate(&cli.settings.database_url).await?;
            tenantry_api::event_store::migrate(&cli.settings).await?;
            let app = Application::build(&cli.settings).await?;
            app.run_until_stopped(startup::shutdown_signal()).await?;
        }
        Command::Projections { command } => command.run(&cli.settings).await?,
        Command::Events { command } => command.run(&cli.settings).await?,
        Command::Doctor(command) => {
            tenantry_infrastructure::postgres::migrate(&cli.settings.database_url).await?;
            if !command
                .run(&cli.settings, &mut std::io::stdout().lock())
                .await?
            {
                std::process::exit(1);
            }
        }
        Command::Migrations { command } => {
            tenantry_infrastructure::postgres::migrate(&cli.settings.database_url).await?;
            if !command.run(&cli.settings, &mut std::io::stdout()).await? {
                std::process::exit(1);
            }
        }
        Command::Tenant(command) => {
            tenantry_infrastructure::postgres::migrate(&cli.settings.database_url).await?;
            command
                .run(&cli.settings, &mut std::io::stdout().lock())
                .await?;
        }
        Command::Openapi(command) => {
            command.run(&cli.settings, &mut std::io::stdout().lock())?;
        }
        Command::ServiceToken(command) => {
            command
                .run(&cli.settings, &mut std::io::stdout().lock())
                .await?;
        }
        Command::Staff(command) => {
            command
                .run(&cli.settings, &mut std::io::stdout().lock())
                .await?;
        }
    }
    Ok(())
}
