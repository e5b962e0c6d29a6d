//! The operator's lifecycle commands on an existing tenant: rename, change plan, request
//! provisioning (start or retry), suspend, reactivate, request deletion.

use tenantry_domain::{Reason, TenantCommand, TenantId, TenantName};

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
        if self.plan_hooks.is_empty() {
            return self
                .run(tenant, context, TenantCommand::RequestProvisioning { at })
                .await;
        }
        // The attempt's steps include the hooks of the tenant's plan.
        let loaded = self.load(tenant).await?;
        let Some(current) = loaded.state.tenant() else {
            return Err(CommandError::NotFound(tenant.as_uuid()));
        };
        let command = self.provisioning_command(current, at);
        let loaded = self
            .execute_from(Some(loaded), tenant, vec![command], None, context)
            .await?;
        super::execute::outcome(tenant, &loaded)
    }

    /// Suspends the tenant; `reason`, when given, must be a valid [`Reason`].
    pub async fn suspend(
        &self,
        tenant: TenantId,
        reason: Option<String>,
        context: &CommandContext,
    ) -> Result<CommandOutcome, CommandError> {
        let reason = parse_reason(reason)?;
        let at = self.clock.now();
        self.run(tenant, context, TenantCommand::Suspend { reason, at })
            .await
    }

    /// Records that the caller (`context.actor`, from `context.ip`) is being shown the tenant's
    /// credentials: the audit record, appended before the passwords are read. Refused unless the
    /// tenant is active or suspended.
    pub async fn record_credentials_revealed(
        &self,
        tenant: TenantId,
        context: &CommandContext,
    ) -> Result<CommandOutcome, CommandError> {
        let at = self.clock.now();
        let command = TenantCommand::RecordCredentialsRevealed {
            by: context.actor.to_string(),
            ip: context.ip.clone(),
            at,
        };
        self.run(tenant, context, command).await
    }

    /// Asks for new passwords for the tenant (rotation): the saga puts them in place, and the old
    /// ones stop working `grace` after now. Refused unless the tenant is active, and while the
    /// previous rotation is in progress. Gives the rotations as the command left them.
    pub async fn rotate_credentials(
        &self,
        tenant: TenantId,
        grace: std::time::Duration,
        context: &CommandContext,
    ) -> Result<(CommandOutcome, tenantry_domain::CredentialRotations), CommandError> {
        let at = self.clock.now();
        let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
        let command = TenantCommand::RotateCredentials {
            by: context.actor.to_string(),
            ip: context.ip.clone(),
            grace_until: at.checked_add_signed(grace).unwrap_or(at),
            at,
        };
        let loaded = self
            .execute_from(None, tenant, vec![command], None, context)
            .await?;
        let rotations = loaded
            .state
            .tenant()
            .map(|t| t.credentials.clone())
            .unwrap_or_default();
        Ok((super::execute::outcome(tenant, &loaded)?, rotations))
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

    /// Asks for the tenant's deletion; the deletion saga releases its resources. `reason`, when
    /// given, must be a valid [`Reason`].
    pub async fn request_deletion(
        &self,
        tenant: TenantId,
        reason: Option<String>,
        context: &CommandContext,
    ) -> Result<CommandOutcome, CommandError> {
        let reason = parse_reason(reason)?;
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

/// A reason as the events keep it: checked by [`Reason`] (text rules, length cap), then its text.
fn parse_reason(reason: Option<String>) -> Result<Option<String>, CommandError> {
    reason
        .as_deref()
        .map(Reason::parse)
        .transpose()
        .map(|reason| reason.map(Reason::into_inner))
        .map_err(|e| InvalidInput::from_field(&e).into())
}
