//! The record of a fleet run, for operators (`tenantry migrations status|pause`, `GET
//! /platform/api/migrations`): its target, options, status and counts. It is a report, not the
//! truth of any tenant's version — that stays each tenant's own migration history, which every
//! run reads again — so a record that lags (a process killed between a tenant's commit and the
//! count) misleads nobody about what a tenant holds.
//!
//! One run goes at a time: `apply`/`resume` first take the run lock ([`FleetRuns::lock`]), which
//! the adapter holds for as long as the process lives (an advisory lock on a connection of its
//! own), so a second `apply` is refused while one runs and a run left `running` by a crashed
//! process is taken over by `resume`. `pause` marks the running run paused; the run sees it
//! before starting each further tenant, lets those in flight finish and ends.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::FleetOptions;

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Going (or its process died; `resume` takes it over).
    Running,
    /// Stopped by `tenantry migrations pause`; `resume` continues it.
    Paused,
    /// Every tenant it planned is at the target.
    Completed,
    /// A tenant failed (or could not be read); `resume` tries again.
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "running" => Self::Running,
            "paused" => Self::Paused,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// A run as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetRun {
    pub id: i64,
    pub target_version: i64,
    /// The options of the last `apply`/`resume` (canary, wave, max_parallel, pause_on_failure).
    pub options: serde_json::Value,
    pub status: RunStatus,
    /// Tenants behind when the run started, plus those a resume found behind since.
    pub total: i64,
    pub migrated: i64,
    /// Tenants that failed in the run's latest pass.
    pub failed: i64,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The latest failure's message (PostgreSQL's: it names objects, never a secret).
    pub last_error: Option<String>,
}

/// How a run begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStart {
    /// A new run; refused while a run is open (running or paused).
    Apply,
    /// Takes over the latest run when it is not completed (paused, failed, or left `running` by
    /// a process that is gone), else begins a new one.
    Resume,
}

/// How a run ended (see [`RunStatus`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    Completed,
    Paused,
    Failed { error: String },
}

#[derive(Debug, thiserror::Error)]
pub enum FleetRunError {
    /// Another process holds the run lock: its run is going.
    #[error(
        "another fleet migration is running (it holds the run lock); `tenantry migrations pause` stops it"
    )]
    AlreadyRunning,
    /// `apply` while a run is open: paused, or left `running` by a process that is gone (the
    /// lock was free).
    #[error("{}", open_message(*id, *status))]
    Open { id: i64, status: RunStatus },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

fn open_message(id: i64, status: RunStatus) -> String {
    match status {
        RunStatus::Running => format!(
            "fleet run {id} was left running by a process that is gone: `tenantry migrations resume` takes it over"
        ),
        other => format!(
            "fleet run {id} is {}: `tenantry migrations resume` continues it",
            other.as_str()
        ),
    }
}

/// The run records and the run lock (the adapter: `fleet_runs` in the control-plane database).
#[async_trait]
pub trait FleetRuns: Send + Sync {
    /// Takes the run lock, held until the returned handle is dropped (or the process ends);
    /// [`FleetRunError::AlreadyRunning`] when another process holds it.
    async fn lock(&self) -> Result<Box<dyn RunLock>, FleetRunError>;
    /// Marks the running run paused; gives it (`None`: no run is running).
    async fn pause(&self) -> Result<Option<FleetRun>, FleetRunError>;
    /// The newest run, whatever its status.
    async fn latest(&self) -> Result<Option<FleetRun>, FleetRunError>;
}

/// The run lock, held; once [`start`](Self::start)ed, the record of the run it leads.
#[async_trait]
pub trait RunLock: Send + Sync {
    /// Begins (or, per `start`, takes over) a run to `target` of `behind` tenants; gives its id.
    async fn start(
        &self,
        start: RunStart,
        target: i64,
        options: &FleetOptions,
        behind: usize,
    ) -> Result<i64, FleetRunError>;
    /// Adds `migrated` and `failed` tenants to the run's counts (and its `last_error`, when
    /// given), and reads whether it was paused: one write for many tenants.
    async fn add(
        &self,
        migrated: u64,
        failed: u64,
        last_error: Option<&str>,
    ) -> Result<bool, FleetRunError>;
    async fn tenant_migrated(&self) -> Result<(), FleetRunError> {
        self.add(1, 0, None).await.map(|_| ())
    }
    async fn tenant_failed(&self, error: &str) -> Result<(), FleetRunError> {
        self.add(0, 1, Some(error)).await.map(|_| ())
    }
    async fn finish(&self, end: RunEnd) -> Result<(), FleetRunError>;
}

impl FleetOptions {
    /// The options as recorded on a run.
    pub fn to_json(&self) -> serde_json::Value {
        let wave = match self.wave {
            super::WaveSize::All => serde_json::json!("all"),
            super::WaveSize::Count(n) => serde_json::json!({ "count": n }),
            super::WaveSize::Percent(p) => serde_json::json!({ "percent": p }),
        };
        serde_json::json!({
            "canary": self.canary,
            "wave": wave,
            "max_parallel": self.max_parallel,
            "pause_on_failure": self.pause_on_failure,
        })
    }
}
