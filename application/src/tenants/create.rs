//! Creating a tenant: parse the input, claim the slug, append `TenantCreated` to a new stream.
//! Provisioning then starts by itself (the provisioning saga reacts to `TenantCreated`).

use tenantry_domain::{
    CreateTenant, Email, IsolationModel, Slug, TenantCommand, TenantId, TenantName, TenantState,
};
use uuid::Uuid;

use super::{CommandContext, CommandError, CommandOutcome, InvalidInput, TenantService};
use crate::event_store::EventStoreError;

/// The raw fields of a create request, as the API and CLI receive them.
#[derive(Debug, Clone, Default)]
pub struct CreateTenantInput {
    pub name: String,
    /// Derived from `name` when absent.
    pub slug: Option<String>,
    /// The catalog's default plan when absent.
    pub plan: Option<String>,
    /// The plan's default isolation model when absent.
    pub isolation: Option<String>,
    pub admin_email: Option<String>,
}

impl TenantService {
    pub async fn create(
        &self,
        input: CreateTenantInput,
        context: &CommandContext,
    ) -> Result<CommandOutcome, CommandError> {
        let tenant = TenantId::from_uuid(Uuid::now_v7());
        let command = self.parse_create(tenant, input)?;
        let slug = command.slug.clone();
        self.claim_slug(&slug, tenant, context).await?;

        let events = TenantState::default()
            .decide(TenantCommand::Create(command))
            .map_err(CommandError::Rejected)?;
        match self.save(tenant, 0, &events, context).await {
            Ok(appended) => {
                self.hint_saga(tenant);
                Ok(CommandOutcome {
                    tenant_id: tenant,
                    slug: slug.to_string(),
                    status: TenantState::fold(&events)
                        .status()
                        .unwrap_or(tenantry_domain::TenantStatus::Pending),
                    version: appended.stream_version,
                    position: appended.last.position,
                })
            }
            Err(error) => {
                // Best effort: a claim left behind is taken over once abandoned anyway.
                if let Err(release) = self.release_slug(&slug, tenant, context).await {
                    tracing::warn!(%slug, error = %release, "failed to release the slug of a tenant not created");
                }
                Err(match error {
                    EventStoreError::Conflict { .. } => CommandError::Contended,
                    other => other.into(),
                })
            }
        }
    }

    fn parse_create(
        &self,
        tenant: TenantId,
        input: CreateTenantInput,
    ) -> Result<CreateTenant, InvalidInput> {
        let field = |e: &dyn tenantry_domain::FieldError| InvalidInput::from_field(e);
        let name = TenantName::parse(&input.name).map_err(|e| field(&e))?;
        let slug = match input.slug.as_deref() {
            Some(slug) => Slug::parse(slug, &self.reserved),
            None => Slug::from_name(name.as_str(), &self.reserved),
        }
        .map_err(|e| field(&e))?;
        let plan = self
            .catalog
            .plan_or_default(input.plan.as_deref())
            .map_err(|e| field(&e))?
            .clone();
        let isolation = input
            .isolation
            .as_deref()
            .map(IsolationModel::parse)
            .transpose()
            .map_err(|e| field(&e))?;
        let admin_email = input
            .admin_email
            .as_deref()
            .map(Email::parse)
            .transpose()
            .map_err(|e| InvalidInput {
                field: "admin_email",
                ..field(&e)
            })?;
        Ok(CreateTenant {
            tenant_id: tenant,
            name,
            slug,
            plan,
            isolation,
            admin_email,
            at: self.clock.now(),
        })
    }
}
