//! Provisioning steps (`read.provisioning_steps`): one row per tenant and step of its current (or
//! last) provisioning attempt: status, tries, last error, start and finish, next retry. The
//! provisioning saga reads its state here; the tenant view shows it as `provisioning.steps`.

mod fold;

use std::collections::BTreeMap;

use anyhow::Context;
use async_trait::async_trait;
use sqlx::{PgConnection, Postgres, Transaction};
use tenantry_application::event_store::RecordedEvent;
use uuid::Uuid;

use self::fold::StepRow;
use super::decode;
use crate::{EventTypes, Projector};

pub struct ProvisioningSteps;

impl ProvisioningSteps {
    pub const NAME: &'static str = "provisioning_steps";
}

#[async_trait]
impl Projector for ProvisioningSteps {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn event_types(&self) -> EventTypes {
        EventTypes::Only(fold::EVENT_TYPES)
    }

    fn tables(&self) -> &'static [&'static str] {
        &["provisioning_steps"]
    }

    async fn apply(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        events: &[RecordedEvent],
    ) -> anyhow::Result<()> {
        let decoded = events
            .iter()
            .map(decode)
            .collect::<anyhow::Result<Vec<_>>>()?;
        let ids: Vec<Uuid> = decoded.iter().map(|e| e.tenant_id().as_uuid()).collect();
        let before = load(tx, &ids).await?;
        let mut after = before.clone();
        for event in &decoded {
            let rows = after.entry(event.tenant_id().as_uuid()).or_default();
            fold::apply(rows, event);
        }
        save(tx, &before, after).await
    }
}

/// The rows of each tenant in `ids` (an empty list for a tenant without any), by ordinal.
async fn load(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> anyhow::Result<BTreeMap<Uuid, Vec<StepRow>>> {
    let rows: Vec<StepRow> = sqlx::query_as(&format!(
        "SELECT {} FROM provisioning_steps WHERE tenant_id = ANY($1) ORDER BY tenant_id, ordinal",
        fold::COLUMNS
    ))
    .bind(ids)
    .fetch_all(conn)
    .await
    .context("failed to load provisioning steps")?;
    let mut tenants: BTreeMap<Uuid, Vec<StepRow>> =
        ids.iter().map(|id| (*id, Vec::new())).collect();
    for row in rows {
        tenants.entry(row.tenant_id).or_default().push(row);
    }
    Ok(tenants)
}

/// Writes what changed from `before` to `after`: rows that are new or different are upserted,
/// rows that are gone are deleted. Most events change one row of a tenant's four or so.
async fn save(
    conn: &mut PgConnection,
    before: &BTreeMap<Uuid, Vec<StepRow>>,
    after: BTreeMap<Uuid, Vec<StepRow>>,
) -> anyhow::Result<()> {
    let (mut gone_tenants, mut gone_steps) = (Vec::new(), Vec::new());
    let mut c = fold::Columns::default();
    for (tenant, rows) in after {
        let old = before.get(&tenant).map(Vec::as_slice).unwrap_or_default();
        for row in old {
            if !rows.iter().any(|r| r.step == row.step) {
                gone_tenants.push(tenant);
                gone_steps.push(row.step.clone());
            }
        }
        for row in rows {
            if !old.contains(&row) {
                c.push(row);
            }
        }
    }
    if !gone_tenants.is_empty() {
        sqlx::query(
            "DELETE FROM provisioning_steps WHERE (tenant_id, step) IN \
             (SELECT * FROM UNNEST($1::uuid[], $2::text[]))",
        )
        .bind(gone_tenants)
        .bind(gone_steps)
        .execute(&mut *conn)
        .await
        .context("failed to delete provisioning steps")?;
    }
    if c.tenant_id.is_empty() {
        return Ok(());
    }
    let updates = fold::COLUMNS
        .split(", ")
        .skip(2)
        .map(|col| format!("{col} = EXCLUDED.{col}"))
        .collect::<Vec<_>>()
        .join(", ");
    sqlx::query(&format!(
        "INSERT INTO provisioning_steps ({}) SELECT * FROM UNNEST($1::uuid[], $2::text[], \
         $3::int4[], $4::int4[], $5::text[], $6::int4[], $7::text[], $8::timestamptz[], \
         $9::timestamptz[], $10::timestamptz[]) ON CONFLICT (tenant_id, step) DO UPDATE SET {updates}",
        fold::COLUMNS
    ))
    .bind(c.tenant_id)
    .bind(c.step)
    .bind(c.ordinal)
    .bind(c.attempt)
    .bind(c.status)
    .bind(c.attempts)
    .bind(c.last_error)
    .bind(c.started_at)
    .bind(c.finished_at)
    .bind(c.next_retry_at)
    .execute(conn)
    .await
    .context("failed to write provisioning steps")?;
    Ok(())
}
