//! Claiming and releasing slugs through their claim streams (`slug-{slug}`), so that two creates
//! with one slug at the same instant cannot both win: see `tenantry_domain::slug_claim`.

use anyhow::Context;
use chrono::{DateTime, Utc};
use tenantry_domain::slug_claim::{SlugClaim, SlugClaimEvent};
use tenantry_domain::{Slug, TenantId};

use super::stream::read_whole;
use super::{CommandContext, CommandError, MAX_ATTEMPTS, TenantService};
use crate::event_store::{EventStoreError, ExpectedVersion, NewEvent};

fn stream_of(slug: &Slug) -> String {
    format!("slug-{slug}")
}

impl TenantService {
    /// Makes `tenant` the holder of `slug`, or says who holds it.
    pub(super) async fn claim_slug(
        &self,
        slug: &Slug,
        tenant: TenantId,
        context: &CommandContext,
    ) -> Result<(), CommandError> {
        self.update_claim(slug, tenant, context, |claim, holder_exists, now| {
            claim
                .claim(slug, tenant, holder_exists, now)
                .map_err(|taken| CommandError::SlugTaken(taken.slug.to_string()))
        })
        .await
    }

    /// Gives `slug` up, if `tenant` holds it (after the tenant's deletion, or when its creation
    /// failed after the claim).
    pub async fn release_slug(
        &self,
        slug: &Slug,
        tenant: TenantId,
        context: &CommandContext,
    ) -> Result<(), CommandError> {
        self.update_claim(slug, tenant, context, |claim, _, now| {
            Ok(claim.release(slug, tenant, now))
        })
        .await
    }

    /// Reads the slug's claim, decides (knowing whether another holder's tenant exists), appends
    /// with the expected version; again on a race.
    async fn update_claim(
        &self,
        slug: &Slug,
        tenant: TenantId,
        context: &CommandContext,
        decide: impl Fn(&SlugClaim, bool, DateTime<Utc>) -> Result<Vec<SlugClaimEvent>, CommandError>,
    ) -> Result<(), CommandError> {
        for _ in 0..MAX_ATTEMPTS {
            let (claim, version) = self.slug_claim(slug).await?;
            let holder_exists = match claim.holder {
                Some((holder, _)) if holder != tenant => !self
                    .store
                    .read_stream(&holder.stream_id(), 1, 1)
                    .await?
                    .is_empty(),
                _ => true,
            };
            let events = decide(&claim, holder_exists, self.clock.now())?;
            match self
                .append_claim(slug, version, &events, tenant, context)
                .await
            {
                Ok(()) => return Ok(()),
                Err(EventStoreError::Conflict { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(CommandError::Contended)
    }

    async fn slug_claim(&self, slug: &Slug) -> Result<(SlugClaim, u64), CommandError> {
        let stored = read_whole(self, &stream_of(slug)).await?;
        let version = stored.last().map_or(0, |e| e.stream_version);
        let events = stored
            .into_iter()
            .map(|e| {
                serde_json::from_value::<SlugClaimEvent>(
                    serde_json::json!({"event_type": e.event_type, "payload": e.payload}),
                )
            })
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("the claim stream of slug {slug} is unreadable"))?;
        Ok((SlugClaim::fold(&events), version))
    }

    async fn append_claim(
        &self,
        slug: &Slug,
        version: u64,
        events: &[SlugClaimEvent],
        tenant: TenantId,
        context: &CommandContext,
    ) -> Result<(), EventStoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let metadata = context.metadata_for(tenant);
        let new_events = events
            .iter()
            .map(|event| {
                let mut json = serde_json::to_value(event).unwrap_or_default();
                let payload = json["payload"].take();
                NewEvent::new(event.event_type(), 1, payload, metadata.clone())
            })
            .collect();
        self.store
            .append(
                &stream_of(slug),
                ExpectedVersion::Exact(version),
                new_events,
            )
            .await
            .map(|_| ())
    }
}
