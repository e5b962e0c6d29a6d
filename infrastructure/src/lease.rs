//! Leadership across processes: a PostgreSQL session advisory lock held on a connection of its
//! own. If the process dies or the connection drops, PostgreSQL releases the lock, and another
//! process takes the lead.

use async_trait::async_trait;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};
use tenantry_application::sagas::Lease;
use tokio::sync::Mutex;

/// An advisory-lock [`Lease`] with a fixed key.
pub struct PgLease {
    options: PgConnectOptions,
    key: i64,
    /// The connection holding the lock, while we hold it.
    conn: Mutex<Option<PgConnection>>,
}

impl PgLease {
    /// A lease named `key` (one number per kind of leader) on the database of `pool`.
    pub fn new(pool: &PgPool, key: i64) -> Self {
        Self {
            options: (*pool.connect_options()).clone(),
            key,
            conn: Mutex::new(None),
        }
    }
}

#[async_trait]
impl Lease for PgLease {
    async fn try_acquire(&self) -> anyhow::Result<bool> {
        let mut slot = self.conn.lock().await;
        if slot.is_some() {
            return Ok(true);
        }
        let mut conn = PgConnection::connect_with(&self.options).await?;
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(self.key)
            .fetch_one(&mut conn)
            .await?;
        if got {
            *slot = Some(conn);
        } else {
            conn.close().await.ok();
        }
        Ok(got)
    }

    async fn held(&self) -> bool {
        let mut slot = self.conn.lock().await;
        let Some(conn) = slot.as_mut() else {
            return false;
        };
        if conn.ping().await.is_ok() {
            return true;
        }
        *slot = None;
        false
    }

    async fn release(&self) {
        if let Some(mut conn) = self.conn.lock().await.take() {
            let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(self.key)
                .execute(&mut conn)
                .await;
            conn.close().await.ok();
        }
    }
}
