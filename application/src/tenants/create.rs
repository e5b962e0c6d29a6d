//! Creating a tenant: parse the input, claim the slug, append `TenantCreated` to a new stream.
//! Provisioning then starts by itself (the provisioning saga reacts to `TenantCreated`).

use tenantry_domain::{
    CreateTenant, Email, IsolationModel, Slug, TenantCommand, TenantId, TenantName,
};
use uuid::Uuid;

use super::execute::outcome;
use super::{CommandContext, CommandError, CommandOutcome, InvalidInput, TenantService};
use crate::kernel::Loaded;

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
    #[tracing::instrument(skip_all, fields(correlation_id = %context.correlation_id))]
    pub async fn create(
        &self,
        input: CreateTenantInput,
        context: &CommandContext,
    ) -> Result<CommandOutcome, CommandError> {
        let tenant = TenantId::from_uuid(Uuid::now_v7());
        let command = self.parse_create(tenant, input)?;
        let slug = command.slug.clone();
        self.claim_slug(&slug, tenant, context).await?;

        let created = self
            .execute_from(
                Some(Loaded::new_stream()),
                tenant,
                vec![TenantCommand::Create(command)],
                None,
                context,
            )
            .await;
        match created {
            Ok(loaded) => outcome(tenant, &loaded),
            Err(error) => {
                // Best effort: a claim left behind is taken over once abandoned anyway.
                if let Err(release) = self.release_slug(&slug, tenant, context).await {
                    tracing::warn!(%slug, error = %release, "failed to release the slug of a tenant not created");
                }
                Err(error)
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
