//! What the sagas and the drift report learn from the read models: which tenants are in flight,
//! and what state every tenant is in.

use anyhow::Context;
use async_trait::async_trait;
use sqlx::PgPool;
use tenantry_application::event_store::Checkpoint;
use tenantry_application::sagas::SagaWork;
use tenantry_domain::{IsolationModel, TenantId, TenantStatus};
use uuid::Uuid;

use crate::projectors::TenantPanel;

/// The tenant panel, as the sagas' and the doctor's source.
#[derive(Clone)]
pub struct ReadModelWork {
    pool: PgPool,
}

impl ReadModelWork {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Every tenant the panel knows, with its status and isolation model.
    pub async fn tenants(&self) -> anyhow::Result<Vec<(TenantId, TenantStatus, IsolationModel)>> {
        let rows: Vec<(Uuid, String, String)> =
            sqlx::query_as("SELECT tenant_id, status, isolation FROM read.tenant_panel")
                .fetch_all(&self.pool)
                .await
                .context("failed to read the tenant panel")?;
        rows.into_iter()
            .map(|(id, status, isolation)| {
                Ok((
                    TenantId::from_uuid(id),
                    status.parse()?,
                    IsolationModel::parse(&isolation)?,
                ))
            })
            .collect()
    }
}

#[async_trait]
impl SagaWork for ReadModelWork {
    async fn tenants_in_flight(&self) -> anyhow::Result<Vec<TenantId>> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT tenant_id FROM read.tenant_panel \
             WHERE status IN ('pending', 'provisioning', 'rolling_back', 'deleting') \
             OR access_pending",
        )
        .fetch_all(&self.pool)
        .await
        .context("failed to read the tenants in flight")?;
        Ok(ids.into_iter().map(TenantId::from_uuid).collect())
    }

    async fn checkpoint(&self) -> anyhow::Result<Checkpoint> {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT commit, position FROM read.projector_checkpoints WHERE name = $1",
        )
        .bind(TenantPanel::NAME)
        .fetch_optional(&self.pool)
        .await
        .context("failed to read the tenant panel's checkpoint")?;
        Ok(
            row.map_or(Checkpoint::START, |(commit, position)| Checkpoint {
                commit: commit as u64,
                position: position as u64,
            }),
        )
    }
}

#[async_trait]
impl tenantry_application::reconcile::TenantDirectory for ReadModelWork {
    async fn tenants(&self) -> anyhow::Result<Vec<(TenantId, TenantStatus, IsolationModel)>> {
        ReadModelWork::tenants(self).await
    }
}
