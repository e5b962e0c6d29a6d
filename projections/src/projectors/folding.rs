//! The folding projector: one skeleton for the read models that are a fold of each aggregate's
//! events into a few rows (the tenant panel, the provisioning steps).
//!
//! A read model says only what is its own ([`Fold`]: its row type, the events it takes, how one
//! event changes a group of rows); [`FoldingProjector`] does the rest for every batch: decode it,
//! load the rows of every group it touches in one query, apply its events in log order in memory,
//! then write back only what changed: one delete of the rows that are gone (when there are any)
//! and one `UNNEST` upsert of the rows that are new or different. So a batch costs a few round
//! trips however many events it holds.

use std::collections::BTreeMap;

use anyhow::Context;
use async_trait::async_trait;
use sqlx::{PgConnection, Postgres, Transaction};
use tenantry_application::event_store::RecordedEvent;
use tenantry_domain::TenantEvent;
use uuid::Uuid;

use super::decode;
use super::table_row::TableRow;
use crate::{EventTypes, Projector};

/// A read model kept by folding events into groups of rows, one group per aggregate.
pub(crate) trait Fold: Send + Sync + 'static {
    /// The projector's name (see [`Projector::name`]).
    const NAME: &'static str;
    /// The event types it changes on (see [`event_types!`](super::event_names::event_types)).
    const EVENT_TYPES: &'static [&'static str];
    /// The row of its one table.
    type Row: TableRow;

    /// Applies `event` to the rows of its group (empty if it has none yet), in place: rows can be
    /// changed, added and removed. Only the rows and the event may decide the outcome (a batch
    /// retried after a rollback is folded again from the rows as they were).
    fn apply(rows: &mut Vec<Self::Row>, envelope: &RecordedEvent, event: &TenantEvent);

    /// The group `event` changes: its tenant's.
    fn group(event: &TenantEvent) -> Uuid {
        event.tenant_id().as_uuid()
    }

    /// Puts a group's rows, as loaded (in no particular order), in the order [`Fold::apply`]
    /// expects.
    fn arrange(_rows: &mut [Self::Row]) {}
}

/// The [`Projector`] of a [`Fold`].
pub(crate) struct FoldingProjector<F>(pub(crate) F);

#[async_trait]
impl<F: Fold> Projector for FoldingProjector<F> {
    fn name(&self) -> &'static str {
        F::NAME
    }

    fn event_types(&self) -> EventTypes {
        EventTypes::Only(F::EVENT_TYPES)
    }

    fn tables(&self) -> &'static [&'static str] {
        <F::Row as TableRow>::TABLES
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
        let groups: Vec<Uuid> = decoded.iter().map(|(_, e)| F::group(e)).collect();
        let before = load::<F>(tx, groups).await?;
        let mut after = before.clone();
        for (envelope, event) in &decoded {
            let rows = after.entry(F::group(event)).or_default();
            F::apply(rows, envelope, event);
        }
        save(tx, &before, after).await
    }
}

/// The rows of each group in `groups`, by group (an empty list for a group without any).
async fn load<F: Fold>(
    conn: &mut PgConnection,
    mut groups: Vec<Uuid>,
) -> anyhow::Result<BTreeMap<Uuid, Vec<F::Row>>> {
    groups.sort_unstable();
    groups.dedup();
    let statements = F::Row::statements();
    let rows: Vec<F::Row> = sqlx::query_as(&statements.select)
        .bind(&groups)
        .fetch_all(conn)
        .await
        .with_context(|| format!("failed to load {} rows", F::Row::TABLE))?;
    let mut loaded: BTreeMap<Uuid, Vec<F::Row>> =
        groups.into_iter().map(|g| (g, Vec::new())).collect();
    for row in rows {
        loaded.entry(row.group()).or_default().push(row);
    }
    for rows in loaded.values_mut() {
        F::arrange(rows);
    }
    Ok(loaded)
}

/// Writes what changed from `before` to `after`: rows that are new or different are upserted,
/// rows whose key is gone are deleted.
async fn save<R: TableRow>(
    conn: &mut PgConnection,
    before: &BTreeMap<Uuid, Vec<R>>,
    after: BTreeMap<Uuid, Vec<R>>,
) -> anyhow::Result<()> {
    let (mut gone, mut changed) = (Vec::new(), Vec::new());
    for (group, rows) in after {
        let old = before.get(&group).map(Vec::as_slice).unwrap_or_default();
        gone.extend(
            old.iter()
                .filter(|o| !rows.iter().any(|r| r.same_key(o)))
                .cloned(),
        );
        changed.extend(rows.into_iter().filter(|r| !old.contains(r)));
    }
    let statements = R::statements();
    if !gone.is_empty() {
        R::bind_keys(&gone, sqlx::query(&statements.delete))
            .execute(&mut *conn)
            .await
            .with_context(|| format!("failed to delete {} rows", R::TABLE))?;
    }
    if !changed.is_empty() {
        R::bind_rows(changed, sqlx::query(&statements.upsert))
            .execute(conn)
            .await
            .with_context(|| format!("failed to write {} rows", R::TABLE))?;
    }
    Ok(())
}
