//! [`Repository<A>`]: the one way every aggregate is loaded and written. Load: read the stream,
//! decode each event with the aggregate's codec, fold. Execute: decide the commands from the
//! state, append the events with the stream's version as the expected one, and on a concurrent
//! append decide again from the new state, a bounded number of times.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

use anyhow::Context;
use tenantry_domain::{Aggregate, DomainEvent};
use uuid::Uuid;

use super::{AppendObserver, Appended, CommandContext};
use crate::event_store::{AppendResult, EventStore, EventStoreError, ExpectedVersion, NewEvent};

/// How many times a command is decided again after a concurrent append to the same stream.
const MAX_ATTEMPTS: usize = 5;

/// Events read per request when loading a stream.
const PAGE: usize = 1000;

/// The event a reaction answers to: its id (the reaction's causation) and its correlation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cause {
    pub event_id: Uuid,
    pub correlation_id: Uuid,
}

/// An aggregate as loaded (or as an append left it).
#[derive(Debug, Clone)]
pub struct Loaded<A> {
    pub state: A,
    /// The stream's version: the number of its events, what the next append expects.
    pub version: u64,
    /// The global position of the stream's last event (0: no events).
    pub position: u64,
    /// The stream's last event, for whoever reacts to it.
    pub last: Option<Cause>,
    /// The last event of each type, with its stream version: a reaction to a piece of work names
    /// the event that started it (see [`Loaded::latest_of`]).
    latest: BTreeMap<&'static str, (u64, Cause)>,
}

impl<A> Loaded<A> {
    /// Of the events of types `types`, the one latest in the stream.
    pub fn latest_of(&self, types: &[&str]) -> Option<Cause> {
        types
            .iter()
            .filter_map(|t| self.latest.get(t))
            .max_by_key(|(version, _)| *version)
            .map(|(_, cause)| *cause)
    }

    fn record(&mut self, event_type: &'static str, version: u64, cause: Cause) {
        self.latest.insert(event_type, (version, cause));
        self.last = Some(cause);
    }
}

impl<A: Aggregate> Loaded<A> {
    /// A stream with no events yet (a new id): deciding from it saves a read.
    pub fn new_stream() -> Self {
        Self {
            state: A::default(),
            version: 0,
            position: 0,
            last: None,
            latest: BTreeMap::new(),
        }
    }
}

/// What a successful execution did.
#[derive(Debug, Clone)]
pub struct Executed<A: Aggregate> {
    /// The events decided and appended (empty: the outcome held already, nothing was appended).
    pub events: Vec<A::Event>,
    /// The aggregate after them.
    pub loaded: Loaded<A>,
}

/// Why an execution did not go through.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError<E> {
    /// The aggregate refused a command.
    #[error(transparent)]
    Rejected(E),
    /// The caller's expected version is not the stream's.
    #[error("the stream is at version {actual}, not {expected}")]
    StaleVersion { expected: u64, actual: u64 },
    /// Other writers kept appending to the stream; every attempt lost the race.
    #[error("the stream changed concurrently too often")]
    Contended,
    /// Reading, decoding or appending failed.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Why one attempt ([`Repository::try_execute`]) did not go through.
#[derive(Debug, thiserror::Error)]
pub enum TryError<E> {
    #[error(transparent)]
    Rejected(E),
    /// Another writer appended since the state was loaded; nothing was written.
    #[error("the stream moved on to version {actual}")]
    Conflict { actual: u64 },
    #[error(transparent)]
    Internal(anyhow::Error),
}

/// Loads and writes the aggregates of type `A` through the event store.
pub struct Repository<A> {
    store: Arc<dyn EventStore>,
    observers: Vec<Arc<dyn AppendObserver>>,
    aggregate: PhantomData<fn() -> A>,
}

impl<A> Clone for Repository<A> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            observers: self.observers.clone(),
            aggregate: PhantomData,
        }
    }
}

impl<A: Aggregate> Repository<A> {
    pub fn new(store: Arc<dyn EventStore>) -> Self {
        Self {
            store,
            observers: Vec::new(),
            aggregate: PhantomData,
        }
    }

    /// Also tells `observer` of every append.
    pub fn observed_by(mut self, observer: Arc<dyn AppendObserver>) -> Self {
        self.observers.push(observer);
        self
    }

    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// The aggregate `id` now, folded from its whole stream (the default state when it has none).
    pub async fn load(&self, id: &A::Id) -> anyhow::Result<Loaded<A>> {
        self.load_until(id, u64::MAX).await
    }

    /// The aggregate `id` as it was at stream version `version` ("time travel"): folded from its
    /// first `version` events (all of them when the stream is shorter; `loaded.version` says how
    /// many there were).
    #[tracing::instrument(level = "debug", skip_all, fields(stream = %A::stream_id(id), version = version))]
    pub async fn load_until(&self, id: &A::Id, version: u64) -> anyhow::Result<Loaded<A>> {
        let stream = A::stream_id(id);
        let mut loaded = Loaded::<A>::new_stream();
        loop {
            let left = version.saturating_sub(loaded.version);
            if left == 0 {
                return Ok(loaded);
            }
            let want = usize::try_from(left).unwrap_or(PAGE).min(PAGE);
            let page = self
                .store
                .read_stream(&stream, loaded.version + 1, want)
                .await
                .with_context(|| format!("failed to read stream {stream}"))?;
            let done = page.len() < want;
            for stored in page {
                let event =
                    A::Event::decode(&stored.event_type, stored.schema_version, stored.payload)
                        .with_context(|| {
                            format!(
                                "stream {stream} has an unreadable event at version {}",
                                stored.stream_version
                            )
                        })?;
                loaded.state.apply(&event);
                loaded.version = stored.stream_version;
                loaded.position = stored.position;
                let cause = Cause {
                    event_id: stored.event_id,
                    correlation_id: stored.metadata.correlation_id,
                };
                loaded.record(event.event_type(), stored.stream_version, cause);
            }
            if done {
                return Ok(loaded);
            }
        }
    }

    /// Decides `commands` for `id` and appends their events, deciding again from a fresh load
    /// when another writer appended first.
    ///
    /// `known`: the aggregate as the caller last had it, which saves the first load. It is only a
    /// first guess: an append from a stale state conflicts and is decided again, and a refusal
    /// decided from it is decided again from a fresh load. `if_match`: the version the caller last
    /// saw; when the stream is elsewhere, the answer is [`ExecuteError::StaleVersion`], not a
    /// retry.
    #[tracing::instrument(
        level = "debug",
        skip_all,
        fields(stream = %A::stream_id(id), correlation_id = %context.correlation_id),
    )]
    pub async fn execute(
        &self,
        id: &A::Id,
        commands: Vec<A::Command>,
        context: &CommandContext,
        if_match: Option<u64>,
        known: Option<Loaded<A>>,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        let mut known = known;
        for _ in 0..MAX_ATTEMPTS {
            let (loaded, fresh) = match known.take() {
                Some(known) => (known, false),
                None => (self.load(id).await?, true),
            };
            // A stream without events has no version to match: the aggregate decides (and
            // refuses whatever needs an instance).
            if let Some(expected) = if_match
                && loaded.version > 0
                && expected != loaded.version
            {
                if fresh {
                    return Err(ExecuteError::StaleVersion {
                        expected,
                        actual: loaded.version,
                    });
                }
                continue;
            }
            match self
                .try_execute(id, loaded, commands.clone(), context)
                .await
            {
                Ok(done) => return Ok(done),
                // Someone appended meanwhile: decide again from the new state.
                Err(TryError::Conflict { .. }) => continue,
                Err(TryError::Rejected(refusal)) if !fresh => {
                    tracing::debug!(%refusal, "refused from a known state; loading");
                    continue;
                }
                Err(TryError::Rejected(refusal)) => return Err(ExecuteError::Rejected(refusal)),
                Err(TryError::Internal(error)) => return Err(ExecuteError::Internal(error)),
            }
        }
        Err(ExecuteError::Contended)
    }

    /// One attempt: decides `commands` from `loaded` and appends their events expecting the
    /// stream at `loaded.version`. For callers that must look something up between a load and a
    /// decision (and so run their own retry loop).
    pub async fn try_execute(
        &self,
        id: &A::Id,
        loaded: Loaded<A>,
        commands: Vec<A::Command>,
        context: &CommandContext,
    ) -> Result<Executed<A>, TryError<A::Error>> {
        let events = loaded
            .state
            .decide_all(commands)
            .map_err(TryError::Rejected)?;
        if events.is_empty() {
            return Ok(Executed { events, loaded });
        }
        let (new_events, types) = encode(&events, context).map_err(TryError::Internal)?;
        let stream = A::stream_id(id);
        let appended = match self
            .store
            .append(
                &stream,
                ExpectedVersion::Exact(loaded.version),
                new_events.clone(),
            )
            .await
        {
            Ok(appended) => appended,
            Err(EventStoreError::Conflict { actual, .. }) => {
                return Err(TryError::Conflict { actual });
            }
            Err(other) => {
                return Err(TryError::Internal(
                    anyhow::Error::new(other).context(format!("failed to append to {stream}")),
                ));
            }
        };
        self.tell_observers(&stream, &types, &new_events);
        Ok(Executed {
            loaded: after(loaded, &events, &new_events, appended),
            events,
        })
    }

    fn tell_observers(&self, stream: &str, types: &[&'static str], events: &[NewEvent]) {
        if let Some(first) = events.first() {
            for observer in &self.observers {
                observer.appended(Appended {
                    stream_id: stream,
                    event_types: types,
                    metadata: &first.metadata,
                });
            }
        }
    }
}

/// `events` in the event store's envelope, each with the context's metadata and its tenant; and
/// their type names.
fn encode<E: DomainEvent>(
    events: &[E],
    context: &CommandContext,
) -> anyhow::Result<(Vec<NewEvent>, Vec<&'static str>)> {
    let mut encoded = Vec::with_capacity(events.len());
    let mut types = Vec::with_capacity(events.len());
    for event in events {
        let e = event.encode()?;
        let metadata = context.metadata_for(event.tenant_id().map(|t| t.as_uuid()));
        encoded.push(NewEvent::new(
            e.event_type,
            e.schema_version,
            e.payload,
            metadata,
        ));
        types.push(e.event_type);
    }
    Ok((encoded, types))
}

/// The aggregate after its append of `events` (stored as `stored`, where `appended` says).
fn after<A: Aggregate>(
    mut loaded: Loaded<A>,
    events: &[A::Event],
    stored: &[NewEvent],
    appended: AppendResult,
) -> Loaded<A> {
    let first_version = appended.stream_version + 1 - events.len() as u64;
    for ((event, new), version) in events.iter().zip(stored).zip(first_version..) {
        loaded.state.apply(event);
        let cause = Cause {
            event_id: new.event_id,
            correlation_id: new.metadata.correlation_id,
        };
        loaded.record(event.event_type(), version, cause);
    }
    loaded.version = appended.stream_version;
    loaded.position = appended.last.position;
    loaded
}
