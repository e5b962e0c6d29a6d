//! The PostgreSQL adapter of the [`StaffAccounts`] port: the `staff_accounts` and
//! `revoked_tokens` tables of `migrations/control/20261122000003_staff.sql`, with the account
//! state of `20261202011500_staff_account_state.sql`.

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tenantry_application::staff::{
    StaffAccount, StaffAccounts, StaffError, StaffKey, StaffStatus, StoredStaff, TokenCheck,
};
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

/// The columns of an account, without its password hash.
const ACCOUNT_COLUMNS: &str = "id, email, created_at, disabled_at, deleted_at";

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: Uuid,
    email: String,
    created_at: DateTime<Utc>,
    disabled_at: Option<DateTime<Utc>>,
    deleted_at: Option<DateTime<Utc>>,
}

impl From<AccountRow> for StaffAccount {
    fn from(row: AccountRow) -> Self {
        Self {
            id: row.id,
            email: row.email,
            created_at: row.created_at,
            disabled_at: row.disabled_at,
            deleted_at: row.deleted_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct StaffRow {
    #[sqlx(flatten)]
    account: AccountRow,
    password_hash: String,
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
        // A live account always has a hash (`staff_accounts_hash_unless_deleted`).
        let row: Option<StaffRow> = sqlx::query_as(&format!(
            "SELECT {ACCOUNT_COLUMNS}, password_hash FROM staff_accounts \
             WHERE email = $1 AND deleted_at IS NULL"
        ))
        .bind(email)
        .fetch_optional(&self.pool)
        .await
        .context("failed to look up the staff account")?;
        Ok(row.map(|row| StoredStaff {
            account: row.account.into(),
            password_hash: row.password_hash,
        }))
    }

    async fn find(&self, key: &StaffKey) -> Result<Option<StaffAccount>, StaffError> {
        let by_id = format!("SELECT {ACCOUNT_COLUMNS} FROM staff_accounts WHERE id = $1");
        // The live account, else the one deleted last.
        let by_email = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM staff_accounts WHERE email = $1 \
             ORDER BY deleted_at DESC NULLS FIRST LIMIT 1"
        );
        let query = match key {
            StaffKey::Id(id) => sqlx::query_as(&by_id).bind(*id),
            StaffKey::Email(email) => sqlx::query_as(&by_email).bind(email.as_str()),
        };
        let row: Option<AccountRow> = query
            .fetch_optional(&self.pool)
            .await
            .context("failed to look up the staff account")?;
        Ok(row.map(StaffAccount::from))
    }

    #[tracing::instrument(skip_all, fields(staff_id = %id, %status, version))]
    async fn set_status(
        &self,
        id: Uuid,
        status: StaffStatus,
        version: u64,
        now: DateTime<Utc>,
    ) -> Result<(), StaffError> {
        // `SET` expressions see the row as it was: `disabled_at IS NULL` asks whether this update
        // is the one that disables it.
        sqlx::query(
            "UPDATE staff_accounts SET \
               state_version = $2, \
               disabled_at = CASE $3 WHEN 'active' THEN NULL WHEN 'disabled' \
                 THEN COALESCE(disabled_at, $4) ELSE disabled_at END, \
               tokens_not_before = CASE WHEN $3 = 'disabled' AND disabled_at IS NULL THEN $4 \
                 ELSE tokens_not_before END, \
               deleted_at = CASE $3 WHEN 'deleted' THEN COALESCE(deleted_at, $4) \
                 ELSE deleted_at END, \
               password_hash = CASE $3 WHEN 'deleted' THEN NULL ELSE password_hash END \
             WHERE id = $1 AND state_version < $2",
        )
        .bind(id)
        .bind(i64::try_from(version).context("stream version out of range")?)
        .bind(status.as_str())
        .bind(now)
        .execute(&self.pool)
        .await
        .context("failed to update the staff account's state")?;
        Ok(())
    }

    async fn list(&self) -> Result<Vec<StaffAccount>, StaffError> {
        let rows: Vec<AccountRow> = sqlx::query_as(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM staff_accounts ORDER BY created_at, id"
        ))
        .fetch_all(&self.pool)
        .await
        .context("failed to list the staff accounts")?;
        Ok(rows.into_iter().map(StaffAccount::from).collect())
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

    async fn check_token(
        &self,
        jti: Uuid,
        staff_id: Uuid,
        issued_at: DateTime<Utc>,
    ) -> Result<TokenCheck, StaffError> {
        // Two primary-key lookups in one round trip. `iat` has whole seconds: a token issued in
        // the second the account was disabled counts as issued after it.
        let (revoked, usable): (bool, bool) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $1), \
                    EXISTS (SELECT 1 FROM staff_accounts WHERE id = $2 \
                            AND disabled_at IS NULL AND deleted_at IS NULL \
                            AND (tokens_not_before IS NULL \
                                 OR date_trunc('second', tokens_not_before) <= $3))",
        )
        .bind(jti)
        .bind(staff_id)
        .bind(issued_at)
        .fetch_one(&self.pool)
        .await
        .context("failed to check the token")?;
        Ok(if revoked {
            TokenCheck::Revoked
        } else if !usable {
            TokenCheck::AccountInactive
        } else {
            TokenCheck::Valid
        })
    }
}
