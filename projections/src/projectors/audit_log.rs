//! The audit log (`read.audit_log`): every event of the log, of every type, flattened into a row
//! that can be filtered by tenant, actor, event type and time (`/platform/api/audit`).

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use tenantry_application::event_store::RecordedEvent;
use tenantry_domain::TenantId;
use uuid::Uuid;

use crate::{EventTypes, Projector};

pub struct AuditLog;

impl AuditLog {
    pub const NAME: &'static str = "audit_log";
}

#[async_trait]
impl Projector for AuditLog {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn event_types(&self) -> EventTypes {
        EventTypes::All
    }

    fn tables(&self) -> &'static [&'static str] {
        &["audit_log"]
    }

    async fn apply(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        events: &[RecordedEvent],
    ) -> anyhow::Result<()> {
        let n = events.len();
        let mut commit = Vec::with_capacity(n);
        let mut position = Vec::with_capacity(n);
        let mut recorded_at: Vec<DateTime<Utc>> = Vec::with_capacity(n);
        let mut stream_id = Vec::with_capacity(n);
        let mut stream_version = Vec::with_capacity(n);
        let mut event_id = Vec::with_capacity(n);
        let mut event_type = Vec::with_capacity(n);
        let mut tenant_id = Vec::with_capacity(n);
        let mut actor = Vec::with_capacity(n);
        let mut correlation_id = Vec::with_capacity(n);
        let mut causation_id = Vec::with_capacity(n);
        let mut ip = Vec::with_capacity(n);
        let mut user_agent = Vec::with_capacity(n);
        let mut payload = Vec::with_capacity(n);
        for e in events {
            commit.push(e.commit as i64);
            position.push(e.position as i64);
            recorded_at.push(e.recorded_at);
            stream_id.push(e.stream_id.as_str());
            stream_version.push(e.stream_version as i64);
            event_id.push(e.event_id);
            event_type.push(e.event_type.as_str());
            tenant_id.push(tenant_of(e));
            actor.push(e.metadata.actor.to_string());
            correlation_id.push(e.metadata.correlation_id);
            causation_id.push(e.metadata.causation_id);
            ip.push(e.metadata.ip.as_deref());
            user_agent.push(e.metadata.user_agent.as_deref());
            payload.push(e.payload.to_string());
        }
        sqlx::query(
            "INSERT INTO audit_log (commit, position, recorded_at, stream_id, stream_version, \
             event_id, event_type, tenant_id, actor, correlation_id, causation_id, ip, user_agent, \
             payload) \
             SELECT c, p, r, s, sv, e, t, tn, a, co, ca, i, u, pl::json FROM UNNEST($1::int8[], \
             $2::int8[], $3::timestamptz[], $4::text[], $5::int8[], $6::uuid[], $7::text[], \
             $8::uuid[], $9::text[], $10::uuid[], $11::uuid[], $12::text[], $13::text[], \
             $14::text[]) AS x (c, p, r, s, sv, e, t, tn, a, co, ca, i, u, pl)",
        )
        .bind(commit)
        .bind(position)
        .bind(recorded_at)
        .bind(stream_id)
        .bind(stream_version)
        .bind(event_id)
        .bind(event_type)
        .bind(tenant_id)
        .bind(actor)
        .bind(correlation_id)
        .bind(causation_id)
        .bind(ip)
        .bind(user_agent)
        .bind(payload)
        .execute(&mut **tx)
        .await
        .context("failed to write audit log rows")?;
        Ok(())
    }
}

/// The tenant an event concerns: its metadata's, else the one its stream is named after, else
/// a `tenant_id` in its payload.
fn tenant_of(event: &RecordedEvent) -> Option<Uuid> {
    event
        .metadata
        .tenant_id
        .or_else(|| TenantId::from_stream_id(&event.stream_id).map(|id| id.as_uuid()))
        .or_else(|| {
            event
                .payload
                .get("tenant_id")
                .and_then(|v| v.as_str())
                .and_then(|s| Uuid::parse_str(s).ok())
        })
}
