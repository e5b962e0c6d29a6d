//! The PostgreSQL adapter of the [`StaffAccounts`] port: the `staff_accounts` and
//! `revoked_tokens` tables of `migrations/control/20261122000003_staff.sql`.

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tenantry_application::staff::{StaffAccount, StaffAccounts, StaffError, StoredStaff};
use uuid::Uuid;

/// Staff accounts in PostgreSQL. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PgStaffAccounts {
    pool: PgPool,
}

impl PgStaffAccounts {
    /// Over `pool`, whose database has the control-plane migrations applied.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[derive(sqlx::FromRow)]
struct StaffRow {
    id: Uuid,
    email: String,
    password_hash: String,
    created_at: DateTime<Utc>,
    disabled_at: Option<DateTime<Utc>>,
}

impl From<StaffRow> for StoredStaff {
    fn from(row: StaffRow) -> Self {
        Self {
            account: StaffAccount {
                id: row.id,
                email: row.email,
                created_at: row.created_at,
                disabled_at: row.disabled_at,
            },
            password_hash: row.password_hash,
        }
    }
}

#[async_trait]
impl StaffAccounts for PgStaffAccounts {
    #[tracing::instrument(skip_all, fields(staff_id = %staff.account.id))]
    async fn create(&self, staff: &StoredStaff) -> Result<(), StaffError> {
        let account = &staff.account;
        let inserted = sqlx::query(
            "INSERT INTO staff_accounts (id, email, password_hash, created_at, disabled_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(account.id)
        .bind(&account.email)
        .bind(&staff.password_hash)
        .bind(account.created_at)
        .bind(account.disabled_at)
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.constraint() == Some("staff_accounts_email_key") => {
                Err(StaffError::AlreadyExists {
                    email: account.email.clone(),
                })
            }
            Err(e) => Err(anyhow::Error::new(e)
                .context("failed to insert the staff account")
                .into()),
        }
    }

    async fn remove(&self, id: Uuid) -> Result<(), StaffError> {
        sqlx::query("DELETE FROM staff_accounts WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .context("failed to delete the staff account")?;
        Ok(())
    }

    async fn find_by_email(&self, email: &str) -> Result<Option<StoredStaff>, StaffError> {
        let row: Option<StaffRow> = sqlx::query_as(
            "SELECT id, email, password_hash, created_at, disabled_at \
             FROM staff_accounts WHERE email = $1",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await
        .context("failed to look up the staff account")?;
        Ok(row.map(StoredStaff::from))
    }

    async fn list(&self) -> Result<Vec<StaffAccount>, StaffError> {
        let rows: Vec<StaffRow> = sqlx::query_as(
            "SELECT id, email, password_hash, created_at, disabled_at \
             FROM staff_accounts ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await
        .context("failed to list the staff accounts")?;
        Ok(rows
            .into_iter()
            .map(|row| StoredStaff::from(row).account)
            .collect())
    }

    async fn revoke_token(&self, jti: Uuid, expires_at: DateTime<Utc>) -> Result<(), StaffError> {
        // Expired rows are useless (the token is refused anyway): sweep them as new ones arrive.
        sqlx::query(
            "WITH swept AS (DELETE FROM revoked_tokens WHERE expires_at < now()) \
             INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) \
             ON CONFLICT (jti) DO NOTHING",
        )
        .bind(jti)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .context("failed to record the revoked token")?;
        Ok(())
    }

    async fn is_revoked(&self, jti: Uuid) -> Result<bool, StaffError> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $1)")
            .bind(jti)
            .fetch_one(&self.pool)
            .await
            .context("failed to check for a revoked token")
            .map_err(StaffError::from)
    }
}
