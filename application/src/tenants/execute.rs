//! The shape every command on an existing tenant shares: load, check `If-Match`, decide, append
//! with the expected version; on a concurrent append, decide again from the new state.

use tenantry_domain::{DomainError, TenantCommand, TenantId, TenantState};

use super::{CommandContext, CommandError, CommandOutcome, MAX_ATTEMPTS, TenantService};
use crate::event_store::EventStoreError;

impl TenantService {
    /// Runs the commands `commands` builds from the tenant's current state: load, decide, append
    /// with the expected version; on a concurrent append, again from the new state. `if_match`:
    /// the version the caller last saw; a different one is refused instead of retried. The sagas
    /// record what they did through this.
    pub async fn execute(
        &self,
        tenant: TenantId,
        context: &CommandContext,
        if_match: Option<u64>,
        commands: impl Fn(&TenantState) -> Result<Vec<TenantCommand>, CommandError>,
    ) -> Result<CommandOutcome, CommandError> {
        for _ in 0..MAX_ATTEMPTS {
            let loaded = self.load(tenant).await?;
            let state = loaded.state;
            let Some(current) = state.tenant() else {
                return Err(CommandError::NotFound(tenant.as_uuid()));
            };
            if let Some(expected) = if_match
                && expected != state.version()
            {
                return Err(CommandError::StaleVersion {
                    expected,
                    actual: state.version(),
                });
            }
            let events = state.decide_all(commands(&state)?).map_err(|e| match e {
                DomainError::NotFound => CommandError::NotFound(tenant.as_uuid()),
                other => CommandError::Rejected(other),
            })?;
            let (slug, current_status) = (current.slug.to_string(), current.status);
            if events.is_empty() {
                return Ok(CommandOutcome {
                    tenant_id: tenant,
                    slug,
                    status: current_status,
                    version: state.version(),
                    position: loaded.position,
                });
            }
            match self.save(tenant, state.version(), &events, context).await {
                Ok(appended) => {
                    let status = events
                        .iter()
                        .fold(state, |s, e| s.apply(e))
                        .status()
                        .unwrap_or(current_status);
                    return Ok(CommandOutcome {
                        tenant_id: tenant,
                        slug,
                        status,
                        version: appended.stream_version,
                        position: appended.last.position,
                    });
                }
                Err(EventStoreError::Conflict { actual, .. }) if if_match.is_some() => {
                    return Err(CommandError::StaleVersion {
                        expected: if_match.unwrap_or_default(),
                        actual,
                    });
                }
                Err(EventStoreError::Conflict { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(CommandError::Contended)
    }
}
