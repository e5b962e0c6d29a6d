//! The shape every command on an existing tenant shares, over the kernel's repository: decide the
//! commands from the tenant's state, append with the expected version, decide again on a race;
//! and the answer a command gives.

use tenantry_domain::{DomainError, TenantCommand, TenantId, TenantState};

use super::{CommandContext, CommandError, CommandOutcome, TenantService};
use crate::kernel::{ExecuteError, Loaded};

impl TenantService {
    /// Runs `commands` on the tenant as one append. `if_match`: the version the caller last saw;
    /// a different one is refused ([`CommandError::StaleVersion`]) instead of retried.
    pub async fn execute(
        &self,
        tenant: TenantId,
        commands: Vec<TenantCommand>,
        if_match: Option<u64>,
        context: &CommandContext,
    ) -> Result<CommandOutcome, CommandError> {
        let loaded = self
            .execute_from(None, tenant, commands, if_match, context)
            .await?;
        outcome(tenant, &loaded)
    }

    /// [`execute`](Self::execute), starting from `known` (the tenant as the caller last had it,
    /// which saves loading it), and giving the tenant as this append left it. The sagas record
    /// what they did through this. `known` is only a first guess: an append from an older state
    /// is refused by the expected version, and a refusal decided from it is decided again from a
    /// fresh load.
    #[tracing::instrument(
        skip_all,
        fields(tenant_id = %tenant, correlation_id = %context.correlation_id, actor = %context.actor),
    )]
    pub async fn execute_from(
        &self,
        known: Option<Loaded<TenantState>>,
        tenant: TenantId,
        commands: Vec<TenantCommand>,
        if_match: Option<u64>,
        context: &CommandContext,
    ) -> Result<Loaded<TenantState>, CommandError> {
        self.tenants
            .execute(&tenant, commands, context, if_match, known)
            .await
            .map(|executed| executed.loaded)
            .map_err(|error| match error {
                ExecuteError::Rejected(DomainError::NotFound) => {
                    CommandError::NotFound(tenant.as_uuid())
                }
                ExecuteError::Rejected(refusal) => CommandError::Rejected(refusal),
                ExecuteError::StaleVersion { expected, actual } => {
                    CommandError::StaleVersion { expected, actual }
                }
                ExecuteError::Contended => CommandError::Contended,
                ExecuteError::Internal(error) => CommandError::Internal(error),
            })
    }
}

/// The answer to a command that left the tenant `loaded`.
pub(super) fn outcome(
    tenant: TenantId,
    loaded: &Loaded<TenantState>,
) -> Result<CommandOutcome, CommandError> {
    let current = loaded
        .state
        .tenant()
        .ok_or(CommandError::NotFound(tenant.as_uuid()))?;
    Ok(CommandOutcome {
        tenant_id: tenant,
        slug: current.slug.to_string(),
        status: current.status,
        version: loaded.version,
        position: loaded.position,
    })
}
