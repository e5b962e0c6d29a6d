//! The tenant panel (`read.tenant_panel`): one row per tenant with everything the admin panel's
//! tenant table shows. See [`row`] for how each event changes a row.

mod row;

use std::collections::HashMap;

use anyhow::Context;
use async_trait::async_trait;
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, Transaction};
use tenantry_application::event_store::RecordedEvent;
use tenantry_domain::{DomainEvent, TenantEvent};
use uuid::Uuid;

use self::row::PanelRow;
use super::decode;
use crate::{EventTypes, Projector};

pub struct TenantPanel;

impl TenantPanel {
    pub const NAME: &'static str = "tenant_panel";
}

#[async_trait]
impl Projector for TenantPanel {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn event_types(&self) -> EventTypes {
        EventTypes::Only(TenantEvent::EVENT_TYPES)
    }

    fn tables(&self) -> &'static [&'static str] {
        &["tenant_panel"]
    }

    async fn apply(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        events: &[RecordedEvent],
    ) -> anyhow::Result<()> {
        let decoded = events
            .iter()
            .map(|e| Ok((e, decode(e)?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut ids: Vec<Uuid> = decoded
            .iter()
            .map(|(_, d)| d.tenant_id().as_uuid())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut rows = load(tx, &ids).await?;
        for (envelope, event) in &decoded {
            let id = event.tenant_id().as_uuid();
            match rows.get_mut(&id) {
                Some(row) => row.apply(envelope, event),
                None => {
                    if let Some(row) = PanelRow::create(envelope, event) {
                        rows.insert(id, row);
                    }
                }
            }
        }
        let changed: Vec<PanelRow> = ids.iter().filter_map(|id| rows.remove(id)).collect();
        save(tx, changed).await
    }
}

async fn load(conn: &mut PgConnection, ids: &[Uuid]) -> anyhow::Result<HashMap<Uuid, PanelRow>> {
    let rows: Vec<PanelRow> = sqlx::query_as(&format!(
        "SELECT {} FROM tenant_panel WHERE tenant_id = ANY($1)",
        row::COLUMNS
    ))
    .bind(ids)
    .fetch_all(conn)
    .await
    .context("failed to load tenant panel rows")?;
    Ok(rows.into_iter().map(|r| (r.tenant_id, r)).collect())
}

/// Writes `rows` in one statement, inserting or replacing each.
async fn save(conn: &mut PgConnection, rows: Vec<PanelRow>) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut c = Columns::default();
    for r in rows {
        c.tenant_id.push(r.tenant_id);
        c.name.push(r.name);
        c.slug.push(r.slug);
        c.plan.push(r.plan);
        c.isolation.push(r.isolation);
        c.status.push(r.status);
        c.version.push(r.version);
        c.last_position.push(r.last_position);
        c.created_at.push(r.created_at);
        c.updated_at.push(r.updated_at);
        c.database.push(r.database);
        c.schema_name.push(r.schema_name);
        c.redis_namespace.push(r.redis_namespace);
        c.queues.push(Json(r.queues.0));
        c.domains.push(Json(r.domains.0));
        c.workers.push(Json(r.workers.0));
        c.active_workers.push(r.active_workers);
        c.provisioning_status.push(r.provisioning_status);
        c.provisioning_attempt.push(r.provisioning_attempt);
        c.provisioning_step.push(r.provisioning_step);
        c.remaining_steps.push(Json(r.remaining_steps.0));
    }
    let updates = row::COLUMNS
        .split(", ")
        .skip(1)
        .map(|col| format!("{col} = EXCLUDED.{col}"))
        .collect::<Vec<_>>()
        .join(", ");
    sqlx::query(&format!(
        "INSERT INTO tenant_panel ({}) SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], \
         $4::text[], $5::text[], $6::text[], $7::int8[], $8::int8[], $9::timestamptz[], \
         $10::timestamptz[], $11::text[], $12::text[], $13::text[], $14::jsonb[], $15::jsonb[], \
         $16::jsonb[], $17::int4[], $18::text[], $19::int4[], $20::text[], $21::jsonb[]) \
         ON CONFLICT (tenant_id) DO UPDATE SET {updates}",
        row::COLUMNS
    ))
    .bind(c.tenant_id)
    .bind(c.name)
    .bind(c.slug)
    .bind(c.plan)
    .bind(c.isolation)
    .bind(c.status)
    .bind(c.version)
    .bind(c.last_position)
    .bind(c.created_at)
    .bind(c.updated_at)
    .bind(c.database)
    .bind(c.schema_name)
    .bind(c.redis_namespace)
    .bind(c.queues)
    .bind(c.domains)
    .bind(c.workers)
    .bind(c.active_workers)
    .bind(c.provisioning_status)
    .bind(c.provisioning_attempt)
    .bind(c.provisioning_step)
    .bind(c.remaining_steps)
    .execute(conn)
    .await
    .context("failed to write tenant panel rows")?;
    Ok(())
}

/// The rows to write, column by column, for `UNNEST`.
#[derive(Default)]
struct Columns {
    tenant_id: Vec<Uuid>,
    name: Vec<String>,
    slug: Vec<String>,
    plan: Vec<String>,
    isolation: Vec<String>,
    status: Vec<String>,
    version: Vec<i64>,
    last_position: Vec<i64>,
    created_at: Vec<chrono::DateTime<chrono::Utc>>,
    updated_at: Vec<chrono::DateTime<chrono::Utc>>,
    database: Vec<Option<String>>,
    schema_name: Vec<Option<String>>,
    redis_namespace: Vec<Option<String>>,
    queues: Vec<Json<Vec<String>>>,
    domains: Vec<Json<Vec<row::Domain>>>,
    workers: Vec<Json<Vec<Uuid>>>,
    active_workers: Vec<i32>,
    provisioning_status: Vec<String>,
    provisioning_attempt: Vec<i32>,
    provisioning_step: Vec<Option<String>>,
    remaining_steps: Vec<Json<Vec<tenantry_domain::ProvisioningStep>>>,
}
