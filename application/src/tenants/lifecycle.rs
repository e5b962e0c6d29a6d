//! The operator's lifecycle commands on an existing tenant: rename, change plan, request
//! provisioning (start or retry), suspend, reactivate, request deletion.

use tenantry_domain::{TenantCommand, TenantId, TenantName};

use super::{CommandContext, CommandError, CommandOutcome, InvalidInput, TenantService};

impl TenantService {
    /// Renames and/or moves the tenant to another plan, as one change (`PATCH`).
    pub async fn update(
        &self,
        tenant: TenantId,
        name: Option<&str>,
        plan: Option<&str>,
        if_match: Option<u64>,
        context: &CommandContext,
    ) -> Result<CommandOutcome, CommandError> {
        let name = name
            .map(TenantName::parse)
            .transpose()
            .map_err(|e| InvalidInput::from_field(&e))?;
        let plan = plan
            .map(|p| self.catalog.plan(p).cloned())
            .transpose()
            .map_err(|e| InvalidInput::from_field(&e))?;
        let at = self.clock.now();
        let mut commands = Vec::new();
        if let Some(name) = name {
            commands.push(TenantCommand::Rename { name, at });
        }
        if let Some(plan) = plan {
            commands.push(TenantCommand::ChangePlan { plan, at });
        }
        self.execute(tenant, commands, if_match, context).await
    }

    /// Starts provisioning a pending tenant, or retries a failed one.
    pub async fn request_provisioning(
        &self,
        tenant: TenantId,
        context: &CommandContext,
    ) -> Result<CommandOutcome, CommandError> {
        let at = self.clock.now();
        self.run(tenant, context, TenantCommand::RequestProvisioning { at })
            .await
    }

    pub async fn suspend(
        &self,
        tenant: TenantId,
        reason: Option<String>,
        context: &CommandContext,
    ) -> Result<CommandOutcome, CommandError> {
        let at = self.clock.now();
        self.run(tenant, context, TenantCommand::Suspend { reason, at })
            .await
    }

    pub async fn reactivate(
        &self,
        tenant: TenantId,
        context: &CommandContext,
    ) -> Result<CommandOutcome, CommandError> {
        let at = self.clock.now();
        self.run(tenant, context, TenantCommand::Reactivate { at })
            .await
    }

    /// Asks for the tenant's deletion; the deletion saga releases its resources.
    pub async fn request_deletion(
        &self,
        tenant: TenantId,
        reason: Option<String>,
        context: &CommandContext,
    ) -> Result<CommandOutcome, CommandError> {
        let at = self.clock.now();
        self.run(
            tenant,
            context,
            TenantCommand::RequestDeletion { reason, at },
        )
        .await
    }

    /// Runs one command, decided again on each attempt.
    async fn run(
        &self,
        tenant: TenantId,
        context: &CommandContext,
        command: TenantCommand,
    ) -> Result<CommandOutcome, CommandError> {
        self.execute(tenant, vec![command], None, context).await
    }
}
