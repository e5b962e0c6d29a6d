//! Claiming and releasing slugs through their claim streams (`slug-{slug}`), so that two creates
//! with one slug at the same instant cannot both win: see `tenantry_domain::slug_claim`. Each
//! attempt looks up whether the current holder's tenant exists before the claim decides, so the
//! retry loop is this handler's own, around the repository's single attempt.

use tenantry_domain::slug_claim::{SlugClaimCommand, SlugTaken};
use tenantry_domain::{Aggregate, Slug, TenantId, TenantState};

use super::{CommandContext, CommandError, TenantService};
use crate::kernel::TryError;

/// How often a claim is decided again after a concurrent append to its stream.
const MAX_ATTEMPTS: usize = 5;

impl TenantService {
    /// Makes `tenant` the holder of `slug`, or says who holds it.
    pub(super) async fn claim_slug(
        &self,
        slug: &Slug,
        tenant: TenantId,
        context: &CommandContext,
    ) -> Result<(), CommandError> {
        self.update_claim(slug, tenant, context, true).await
    }

    /// Gives `slug` up, if `tenant` holds it (after the tenant's deletion, or when its creation
    /// failed after the claim).
    pub async fn release_slug(
        &self,
        slug: &Slug,
        tenant: TenantId,
        context: &CommandContext,
    ) -> Result<(), CommandError> {
        self.update_claim(slug, tenant, context, false).await
    }

    /// Loads the slug's claim, looks up whether another holder's tenant exists, decides and
    /// appends with the expected version; again on a race.
    async fn update_claim(
        &self,
        slug: &Slug,
        tenant: TenantId,
        context: &CommandContext,
        claim: bool,
    ) -> Result<(), CommandError> {
        for _ in 0..MAX_ATTEMPTS {
            let loaded = self.claims.load(slug).await?;
            let at = self.clock.now();
            let command = if claim {
                let holder_exists = match loaded.state.holder {
                    // One event tells whether the holder's stream exists.
                    Some((holder, _)) if holder != tenant => !self
                        .claims
                        .store()
                        .read_stream(&TenantState::stream_id(&holder), 1, 1)
                        .await
                        .map_err(anyhow::Error::new)?
                        .is_empty(),
                    _ => true,
                };
                SlugClaimCommand::Claim {
                    slug: slug.clone(),
                    tenant,
                    holder_exists,
                    at,
                }
            } else {
                SlugClaimCommand::Release {
                    slug: slug.clone(),
                    tenant,
                    at,
                }
            };
            match self
                .claims
                .try_execute(slug, loaded, vec![command], context)
                .await
            {
                Ok(_) => return Ok(()),
                Err(TryError::Conflict { .. }) => continue,
                Err(TryError::Rejected(SlugTaken { slug, .. })) => {
                    return Err(CommandError::SlugTaken(slug.to_string()));
                }
                Err(TryError::Internal(error)) => return Err(CommandError::Internal(error)),
            }
        }
        Err(CommandError::Contended)
    }
}
