//! Slug claims: who holds a slug. Slugs are unique among live tenants, and two creates with one
//! slug at the same instant must not both win; the event store gives that through optimistic
//! concurrency on one stream per slug (`slug-{slug}`), whose events say who claimed and released
//! it. A tenant's slug is released when it is deleted, so it may be reused.
//!
//! Creating a tenant is two appends (claim the slug, then create the tenant), so a crash between
//! them leaves a claim whose tenant never came to be. Such a claim is *abandoned*: once the claimant
//! has no stream and the claim is older than [`ABANDONED_AFTER`], another tenant may take it over.
//!
//! [`SlugClaim`] is an [`Aggregate`]: its commands are [`SlugClaimCommand`]s, and whether the holder
//! exists is looked up by the caller before it decides.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::kernel::Aggregate;
use crate::{Slug, TenantId};

/// How long a claim whose tenant does not exist is kept before another tenant may take it.
pub const ABANDONED_AFTER: Duration = Duration::seconds(60);

/// A tenant took the slug.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlugClaimed {
    pub slug: Slug,
    pub tenant_id: TenantId,
    pub at: DateTime<Utc>,
}

/// The tenant that held the slug gave it up (deleted, or its creation failed), or its abandoned
/// claim was taken over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlugReleased {
    pub slug: Slug,
    pub tenant_id: TenantId,
    pub at: DateTime<Utc>,
}

crate::domain_events! {
    /// An event of a slug's claim stream (`slug-{slug}`).
    pub enum SlugClaimEvent;
    common { slug: Slug, tenant_id: TenantId, at: DateTime<Utc> }
    tenant: |event| Some(event.tenant_id());
    SlugClaimed = 1,
    SlugReleased = 1,
}

/// What may be done with a slug's claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlugClaimCommand {
    /// `tenant` claims the slug. `holder_exists` says whether the current holder (if any) has a
    /// tenant stream, looked up by the caller.
    Claim {
        slug: Slug,
        tenant: TenantId,
        holder_exists: bool,
        at: DateTime<Utc>,
    },
    /// `tenant` gives the slug up; only its holder can, anyone else decides nothing.
    Release {
        slug: Slug,
        tenant: TenantId,
        at: DateTime<Utc>,
    },
}

/// Who holds a slug now, and since when.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlugClaim {
    pub holder: Option<(TenantId, DateTime<Utc>)>,
}

/// The slug is held by another tenant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("slug {slug} is taken")]
pub struct SlugTaken {
    pub slug: Slug,
    pub holder: TenantId,
}

impl SlugClaim {
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a SlugClaimEvent>) -> Self {
        let mut claim = Self::default();
        for event in events {
            claim.apply(event);
        }
        claim
    }

    /// `tenant` claims `slug`. `holder_exists` says whether the current holder (if any) has a
    /// tenant stream. Claiming a slug one already holds decides nothing (a retry).
    pub fn claim(
        &self,
        slug: &Slug,
        tenant: TenantId,
        holder_exists: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<SlugClaimEvent>, SlugTaken> {
        let claimed = SlugClaimEvent::from(SlugClaimed {
            slug: slug.clone(),
            tenant_id: tenant,
            at: now,
        });
        match self.holder {
            None => Ok(vec![claimed]),
            Some((holder, _)) if holder == tenant => Ok(vec![]),
            Some((holder, since)) if !holder_exists && now - since >= ABANDONED_AFTER => Ok(vec![
                SlugReleased {
                    slug: slug.clone(),
                    tenant_id: holder,
                    at: now,
                }
                .into(),
                claimed,
            ]),
            Some((holder, _)) => Err(SlugTaken {
                slug: slug.clone(),
                holder,
            }),
        }
    }

    /// `tenant` gives `slug` up. Only its holder can; anyone else decides nothing.
    pub fn release(
        &self,
        slug: &Slug,
        tenant: TenantId,
        now: DateTime<Utc>,
    ) -> Vec<SlugClaimEvent> {
        match self.holder {
            Some((holder, _)) if holder == tenant => vec![
                SlugReleased {
                    slug: slug.clone(),
                    tenant_id: tenant,
                    at: now,
                }
                .into(),
            ],
            _ => vec![],
        }
    }
}

impl Aggregate for SlugClaim {
    type Id = Slug;
    type Command = SlugClaimCommand;
    type Event = SlugClaimEvent;
    type Error = SlugTaken;
    const STREAM_PREFIX: &'static str = "slug-";

    fn decide(&self, command: SlugClaimCommand) -> Result<Vec<SlugClaimEvent>, SlugTaken> {
        match command {
            SlugClaimCommand::Claim {
                slug,
                tenant,
                holder_exists,
                at,
            } => self.claim(&slug, tenant, holder_exists, at),
            SlugClaimCommand::Release { slug, tenant, at } => Ok(self.release(&slug, tenant, at)),
        }
    }

    fn apply(&mut self, event: &SlugClaimEvent) {
        self.holder = match event {
            SlugClaimEvent::SlugClaimed(claimed) => Some((claimed.tenant_id, claimed.at)),
            SlugClaimEvent::SlugReleased(_) => None,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReservedSubdomains;

    fn slug() -> Slug {
        Slug::parse("drmarco", &ReservedSubdomains::default()).expect("valid")
    }

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("valid time")
    }

    #[test]
    fn a_free_slug_is_claimed_and_then_taken() {
        let (a, b) = (
            TenantId::from_uuid(uuid::Uuid::new_v4()),
            TenantId::from_uuid(uuid::Uuid::new_v4()),
        );
        let claimed = SlugClaim::default()
            .claim(&slug(), a, false, t(0))
            .expect("free");
        let claim = SlugClaim::fold(&claimed);
        assert_eq!(claim.holder, Some((a, t(0))));
        assert_eq!(claim.claim(&slug(), a, true, t(1)), Ok(vec![]));
        assert_eq!(
            claim.claim(&slug(), b, true, t(3600)),
            Err(SlugTaken {
                slug: slug(),
                holder: a
            })
        );
    }

    #[test]
    fn an_abandoned_claim_is_taken_over_only_after_the_grace_period() {
        let (a, b) = (
            TenantId::from_uuid(uuid::Uuid::new_v4()),
            TenantId::from_uuid(uuid::Uuid::new_v4()),
        );
        let claim = SlugClaim::fold(
            &SlugClaim::default()
                .claim(&slug(), a, false, t(0))
                .expect("free"),
        );
        assert!(claim.claim(&slug(), b, false, t(30)).is_err());
        let events = claim.claim(&slug(), b, false, t(61)).expect("abandoned");
        assert_eq!(SlugClaim::fold(&events).holder, Some((b, t(61))));
    }

    #[test]
    fn a_released_slug_can_be_claimed_again() {
        let (a, b) = (
            TenantId::from_uuid(uuid::Uuid::new_v4()),
            TenantId::from_uuid(uuid::Uuid::new_v4()),
        );
        let mut history = SlugClaim::default()
            .claim(&slug(), a, false, t(0))
            .expect("free");
        assert!(
            SlugClaim::fold(&history)
                .release(&slug(), b, t(1))
                .is_empty()
        );
        history.extend(SlugClaim::fold(&history).release(&slug(), a, t(2)));
        let claim = SlugClaim::fold(&history);
        assert_eq!(claim.holder, None);
        assert!(claim.claim(&slug(), b, true, t(3)).is_ok());
    }
}
