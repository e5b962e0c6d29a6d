//! `tenantry events tail` and `tenantry events replay`: the event log as text, and a tenant's
//! state at any moment of its past ("time travel": its events up to a position, folded by the
//! domain's `TenantState::fold`). Both read through the event store port, from whichever store
//! `TENANTRY_EVENT_STORE_URL` names: `tail` reads the log backwards from its end, then (with
//! `--follow`) subscribes from the newest event it printed.
//!
//! `replay` takes a tenant (its id, or the slug of a live tenant, resolved as `tenant show` does)
//! or a stream by name ([`STREAM_FORMS`]); an empty stream is an error.

use anyhow::Context;
use futures::StreamExt;
use sqlx::PgPool;
use tenantry_application::event_store::RecordedEvent;
use tenantry_domain::invitation::InvitationState;
use tenantry_domain::slug_claim::SlugClaim;
use tenantry_domain::staff::StaffAccountState;
use tenantry_domain::{
    Aggregate, DomainEvent, ReservedSubdomains, Slug, SlugError, TenantEvent, TenantId, TenantState,
};
use tenantry_projections::queries::tenants;
use uuid::Uuid;

use crate::Settings;

#[derive(Debug, clap::Subcommand)]
pub enum EventsCommand {
    /// Print the last events of the log; with --follow, keep printing new ones until ctrl-c.
    Tail {
        /// How many of the last events to print first.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: u64,
        #[arg(short, long)]
        follow: bool,
    },
    /// Print a stream's events up to a global position and, for a tenant's stream, the tenant's
    /// state at that moment. Exits non-zero when the stream has no events (up to --until).
    Replay {
        /// A tenant's id or the slug of a live tenant (its stream `tenant-{uuid}`), or a stream:
        /// `tenant-{uuid}`, `slug-{slug}`, `staff-{uuid}` or `invitation-{uuid}`.
        #[arg(
            value_name = "TENANT_OR_STREAM",
            required_unless_present = "stream",
            conflicts_with = "stream"
        )]
        target: Option<String>,
        /// The same as TENANT_OR_STREAM, as a flag.
        #[arg(long, value_name = "TENANT_OR_STREAM")]
        stream: Option<String>,
        /// The last global position to include (default: the whole stream).
        #[arg(long)]
        until: Option<u64>,
    },
}

impl EventsCommand {
    pub async fn run(self, settings: &Settings) -> anyhow::Result<()> {
        match self {
            Self::Tail { lines, follow } => tail(settings, lines, follow).await,
            Self::Replay {
                target,
                stream,
                until,
            } => {
                let target = target.or(stream).context("no tenant or stream given")?;
                replay(settings, &target, until).await
            }
        }
    }
}

async fn tail(settings: &Settings, lines: u64, follow: bool) -> anyhow::Result<()> {
    let (_pool, store) = super::connect(settings).await?;
    // The last `lines` events, read backwards from the end of the log, then printed oldest first.
    let limit = usize::try_from(lines).unwrap_or(usize::MAX);
    let mut last = store
        .read_all_backwards(None, limit)
        .await
        .context("failed to read the end of the log")?;
    last.reverse();
    last.iter().for_each(print_event);
    // Where to go on from: the newest event printed, or (none printed) the head of the log.
    let start = match last.last() {
        Some(newest) => newest.checkpoint(),
        None => store
            .head()
            .await
            .context("failed to find the end of the log")?,
    };
    if !follow {
        return Ok(());
    }
    let mut subscription = store.subscribe_all(start, 1000);
    loop {
        tokio::select! {
            next = subscription.next() => {
                let batch = next.context("the subscription ended")??;
                batch.iter().for_each(print_event);
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// What the streams of the log are called, for the errors of `replay`.
pub const STREAM_FORMS: &str =
    "a stream is called tenant-{uuid}, slug-{slug}, staff-{uuid} or invitation-{uuid}";

/// The stream `raw` names, in this order: a stream name of a kind named by a UUID
/// (`tenant-`, `staff-`, `invitation-`); a tenant's id or a live tenant's slug
/// ([`tenants::resolve`]), whose stream is `tenant-{id}`; a slug's claim stream `slug-{slug}`.
async fn stream_named(pool: &PgPool, raw: &str) -> anyhow::Result<String> {
    for prefix in [
        TenantId::STREAM_PREFIX,
        StaffAccountState::STREAM_PREFIX,
        InvitationState::STREAM_PREFIX,
    ] {
        if let Some(id) = raw
            .strip_prefix(prefix)
            .and_then(|r| Uuid::parse_str(r).ok())
        {
            return Ok(format!("{prefix}{id}"));
        }
    }
    if let Some(id) = tenants::resolve(pool, raw)
        .await
        .context("failed to look the tenant up")?
    {
        return Ok(TenantId::from_uuid(id).stream_id());
    }
    if let Some(slug) = raw.strip_prefix(SlugClaim::STREAM_PREFIX)
        && looks_like_a_slug(slug)
    {
        return Ok(format!("{}{slug}", SlugClaim::STREAM_PREFIX));
    }
    if looks_like_a_slug(raw) {
        anyhow::bail!("{}; {STREAM_FORMS}", tenants::no_such_tenant(raw))
    }
    anyhow::bail!(
        "{raw:?} is neither a tenant's id or slug nor the name of a stream; a tenant is addressed \
         by its id or its slug, and {STREAM_FORMS}"
    )
}

/// Whether `raw` has a slug's shape (a reserved word too: it is a slug nobody may take).
fn looks_like_a_slug(raw: &str) -> bool {
    matches!(
        Slug::parse(raw, &ReservedSubdomains::default()),
        Ok(_) | Err(SlugError::Reserved { .. })
    )
}

async fn replay(settings: &Settings, target: &str, until: Option<u64>) -> anyhow::Result<()> {
    let (pool, store) = super::connect(settings).await?;
    let stream = &stream_named(&pool, target).await?;
    let limit = until.unwrap_or(u64::MAX);
    let mut events: Vec<RecordedEvent> = Vec::new();
    // The stream's first event, whether or not it is at or before `until`.
    let mut first = None;
    let mut from = 1;
    loop {
        let page = store
            .read_stream(stream, from, 1000)
            .await
            .with_context(|| format!("failed to read stream {stream}"))?;
        first = first.or(page.first().map(|e| e.position));
        from += page.len() as u64;
        let mut done = page.len() < 1000;
        // Within a stream, positions grow with versions.
        for event in page {
            if event.position > limit {
                done = true;
                break;
            }
            events.push(event);
        }
        if done {
            break;
        }
    }
    match (first, until) {
        (None, _) if TenantId::from_stream_id(stream).is_some() => anyhow::bail!(
            "stream {stream} has no events: no tenant has the id {} ({STREAM_FORMS})",
            &stream[TenantId::STREAM_PREFIX.len()..]
        ),
        (None, _) => anyhow::bail!("stream {stream} has no events ({STREAM_FORMS})"),
        (Some(first), Some(until)) if events.is_empty() => anyhow::bail!(
            "stream {stream} has no events at or before position {until} (its first is at \
             position {first})"
        ),
        _ => {}
    }
    events.iter().for_each(print_event);
    if TenantId::from_stream_id(stream).is_some() {
        let decoded = events
            .iter()
            .map(|e| TenantEvent::decode(&e.event_type, e.schema_version, e.payload.clone()))
            .collect::<Result<Vec<_>, _>>()
            .context("failed to decode the tenant's events")?;
        let last = events.last().map_or(0, |e| e.position);
        print_state(&TenantState::fold(&decoded), last);
    }
    Ok(())
}

fn print_event(e: &RecordedEvent) {
    println!(
        "{:>10} {} {}@{} {} by {} {}",
        e.position,
        e.recorded_at.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        e.stream_id,
        e.stream_version,
        e.event_type,
        e.metadata.actor,
        e.payload
    );
}

fn print_state(state: &TenantState, position: u64) {
    println!();
    println!(
        "state at position {position} (stream version {}):",
        state.version()
    );
    let Some(t) = state.tenant() else {
        println!("  no tenant");
        return;
    };
    println!("  id:           {}", t.id);
    println!("  name:         {}", t.name);
    println!("  slug:         {}", t.slug);
    println!("  plan:         {}", t.plan);
    println!("  isolation:    {}", t.isolation);
    println!("  status:       {}", t.status);
    println!("  created_at:   {}", t.created_at.to_rfc3339());
    println!("  updated_at:   {}", t.updated_at.to_rfc3339());
    let steps: Vec<&str> = t.provisioning.steps.iter().map(|s| s.as_str()).collect();
    println!(
        "  provisioning: attempt {}, steps [{}], next step {}",
        t.provisioning.attempt,
        steps.join(", "),
        t.next_step().map_or("none", |s| s.as_str())
    );
    if let Some(error) = &t.provisioning.last_error {
        println!("  last error:   {error}");
    }
    for (step, resource) in &t.resources {
        println!(
            "  holds:        {step}: {}",
            serde_json::to_string(resource).unwrap_or_default()
        );
    }
    for (host, domain) in &t.domains {
        let tls = domain.certificate_expires_at.map_or_else(
            || "no certificate".to_owned(),
            |at| format!("certificate until {}", at.to_rfc3339()),
        );
        let active = if domain.active { "active" } else { "pending" };
        println!("  domain:       {host} ({active}, {tls})");
    }
    println!("  workers:      {} active", t.active_workers.len());
}
