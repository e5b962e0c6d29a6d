//! The shape every command on an existing tenant shares: load, check `If-Match`, decide, append
//! with the expected version; on a concurrent append, decide again from the new state.

use tenantry_domain::{DomainError, TenantCommand, TenantId, TenantState};

use super::{CommandContext, CommandError, CommandOutcome, Loaded, MAX_ATTEMPTS, TenantService};
use crate::event_store::EventStoreError;

impl TenantService {
    /// Runs the commands `commands` builds from the tenant's current state: load, decide, append
    /// with the expected version; on a concurrent append, again from the new state. `if_match`:
    /// the version the caller last saw; a different one is refused instead of retried.
    pub async fn execute(
        &self,
        tenant: TenantId,
        context: &CommandContext,
        if_match: Option<u64>,
        commands: impl Fn(&TenantState) -> Result<Vec<TenantCommand>, CommandError>,
    ) -> Result<CommandOutcome, CommandError> {
        let (outcome, _) = self
            .execute_from(None, tenant, context, if_match, commands)
            .await?;
        Ok(outcome)
    }

    /// [`execute`](Self::execute), starting from `known` (the tenant as the caller last had it,
    /// which saves loading it) instead of loading, and also giving the tenant as this append left
    /// it. The sagas record what they did through this. `known` is only a first guess: an append
    /// from an older state is refused by the expected version, and a refusal or a stale
    /// `If-Match` decided from it is decided again from a fresh load.
    pub async fn execute_from(
        &self,
        known: Option<Loaded>,
        tenant: TenantId,
        context: &CommandContext,
        if_match: Option<u64>,
        commands: impl Fn(&TenantState) -> Result<Vec<TenantCommand>, CommandError>,
    ) -> Result<(CommandOutcome, Loaded), CommandError> {
        let mut known = known;
        for _ in 0..MAX_ATTEMPTS {
            let (loaded, fresh) = match known.take() {
                Some(known) => (known, false),
                None => (self.load(tenant).await?, true),
            };
            match self
                .try_once(loaded, tenant, context, if_match, &commands)
                .await
            {
                // Someone appended meanwhile: decide again from the new state (with `If-Match`,
                // a fresh load tells whether the caller's version is stale).
                Err(EventStoreError::Conflict { .. }) if if_match.is_none() || !fresh => continue,
                Ok(Err(refusal)) if !fresh => {
                    tracing::debug!(%tenant, %refusal, "refused from a known state; loading");
                    continue;
                }
                Ok(Ok(done)) => return Ok(done),
                Ok(Err(refusal)) => return Err(refusal),
                Err(EventStoreError::Conflict { actual, .. }) => {
                    return Err(CommandError::StaleVersion {
                        expected: if_match.unwrap_or_default(),
                        actual,
                    });
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(CommandError::Contended)
    }

    /// One decide-and-append from `loaded`: the outer error is the store's, the inner one the
    /// decision's.
    async fn try_once(
        &self,
        loaded: Loaded,
        tenant: TenantId,
        context: &CommandContext,
        if_match: Option<u64>,
        commands: &impl Fn(&TenantState) -> Result<Vec<TenantCommand>, CommandError>,
    ) -> Result<Result<(CommandOutcome, Loaded), CommandError>, EventStoreError> {
        let state = loaded.state;
        let Some(current) = state.tenant() else {
            return Ok(Err(CommandError::NotFound(tenant.as_uuid())));
        };
        if let Some(expected) = if_match
            && expected != state.version()
        {
            return Ok(Err(CommandError::StaleVersion {
                expected,
                actual: state.version(),
            }));
        }
        let decided = commands(&state).and_then(|commands| {
            state.decide_all(commands).map_err(|e| match e {
                DomainError::NotFound => CommandError::NotFound(tenant.as_uuid()),
                other => CommandError::Rejected(other),
            })
        });
        let events = match decided {
            Ok(events) => events,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let (slug, current_status) = (current.slug.to_string(), current.status);
        if events.is_empty() {
            let outcome = CommandOutcome {
                tenant_id: tenant,
                slug,
                status: current_status,
                version: state.version(),
                position: loaded.position,
            };
            return Ok(Ok((
                outcome,
                Loaded {
                    state,
                    position: loaded.position,
                },
            )));
        }
        let appended = self.save(tenant, state.version(), &events, context).await?;
        let after = events.iter().fold(state, |s, e| s.apply(e));
        let outcome = CommandOutcome {
            tenant_id: tenant,
            slug,
            status: after.status().unwrap_or(current_status),
            version: appended.stream_version,
            position: appended.last.position,
        };
        let loaded = Loaded {
            state: after,
            position: outcome.position,
        };
        Ok(Ok((outcome, loaded)))
    }
}
