//! Reading and writing the tenant's stream: events in the store's envelope on one side, the
//! domain's [`TenantEvent`]s on the other.

use anyhow::Context;
use tenantry_domain::{TenantEvent, TenantId, TenantState};

use super::{CommandContext, TenantService};
use crate::event_store::{
    EventMetadata, EventStoreError, ExpectedVersion, NewEvent, RecordedEvent,
};

const PAGE: usize = 1000;

/// A tenant as loaded: its state and the global position of its last event.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub state: TenantState,
    pub position: u64,
}

/// Every event of a stream, in order.
pub(super) async fn read_whole(
    service: &TenantService,
    stream: &str,
) -> Result<Vec<RecordedEvent>, EventStoreError> {
    let mut events = Vec::new();
    loop {
        let page = service
            .store
            .read_stream(stream, events.len() as u64 + 1, PAGE)
            .await?;
        let done = page.len() < PAGE;
        events.extend(page);
        if done {
            return Ok(events);
        }
    }
}

/// `events` in the event store's envelope, each with `metadata`.
pub fn encode(events: &[TenantEvent], metadata: &EventMetadata) -> Vec<NewEvent> {
    events
        .iter()
        .map(|event| {
            let encoded = event.encode();
            NewEvent::new(
                encoded.event_type,
                encoded.schema_version,
                encoded.payload,
                metadata.clone(),
            )
        })
        .collect()
}

impl TenantService {
    /// The tenant's state now, folded from its stream (empty when there is no such tenant).
    pub async fn state(&self, tenant: TenantId) -> anyhow::Result<TenantState> {
        Ok(self.load(tenant).await?.state)
    }

    /// The tenant's state now and the position of its last event.
    pub async fn load(&self, tenant: TenantId) -> anyhow::Result<Loaded> {
        let events = read_whole(self, &tenant.stream_id()).await?;
        let position = events.last().map_or(0, |e| e.position);
        let decoded = events
            .into_iter()
            .map(|e| TenantEvent::decode_versioned(&e.event_type, e.schema_version, e.payload))
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("tenant {tenant} has an unreadable event"))?;
        Ok(Loaded {
            state: TenantState::fold(decoded),
            position,
        })
    }

    /// Appends `events` to the tenant's stream, expecting it at `expected`.
    pub(super) async fn save(
        &self,
        tenant: TenantId,
        expected: u64,
        events: &[TenantEvent],
        context: &CommandContext,
    ) -> Result<crate::event_store::AppendResult, EventStoreError> {
        let new_events = encode(events, &context.metadata_for(tenant));
        self.store
            .append(
                &tenant.stream_id(),
                ExpectedVersion::Exact(expected),
                new_events,
            )
            .await
    }
}
