use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions};

use super::sql::{
    limit_param, listed_row, now, port_error, save_outcome, stored_row, time_param, version_param,
};
use crate::error::PortError;
use crate::model::time::Timestamp;
use crate::ports::{LimitStore, Listed, SaveOutcome, Stored, UserStore};

/// A [`UserStore`] in PostgreSQL, for several app instances sharing one
/// database: compare-and-swap is `UPDATE … WHERE user_id = $1 AND
/// version = $2`, and the first save an `INSERT … ON CONFLICT DO NOTHING`.
///
/// Clones share the pool. Run [`MIGRATION`](Self::MIGRATION) with your
/// migration tool, or call [`migrate`](Self::migrate) at start-up.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// The tables this store needs (records, and the limits' counters);
    /// `CREATE … IF NOT EXISTS`, so running it again changes nothing.
    pub const MIGRATION: &'static str = concat!(
        include_str!("../../migrations/postgres/0001_twofactor.sql"),
        include_str!("../../migrations/postgres/0002_limits.sql")
    );

    /// A store on an existing pool.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Connects a pool of up to `max_connections` to `url`
    /// (`postgres://user:password@host/db`).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, PortError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .connect(url)
            .await
            .map_err(port_error)?;
        Ok(Self::new(pool))
    }

    /// Creates the tables if they are missing. Safe when several instances
    /// start at once: the migration runs in one transaction under an
    /// advisory lock, one instance after another (PostgreSQL's `CREATE
    /// TABLE IF NOT EXISTS` alone fails when two run it at the same time).
    pub async fn migrate(&self) -> Result<(), PortError> {
        /// The advisory lock's key: "twofacto" in ASCII.
        const LOCK: i64 = 0x7477_6f66_6163_746f;
        let mut tx = self.pool.begin().await.map_err(port_error)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(LOCK)
            .execute(&mut *tx)
            .await
            .map_err(port_error)?;
        sqlx::raw_sql(Self::MIGRATION)
            .execute(&mut *tx)
            .await
            .map_err(port_error)?;
        tx.commit().await.map_err(port_error)
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl UserStore for PostgresStore {
    async fn load(&self, user: &str) -> Result<Option<Stored>, PortError> {
        let row = sqlx::query("SELECT version, document FROM twofactor_records WHERE user_id = $1")
            .bind(user)
            .fetch_optional(&self.pool)
            .await
            .map_err(port_error)?;
        row.as_ref().map(stored_row).transpose()
    }

    async fn save(
        &self,
        user: &str,
        document: &[u8],
        expected: u64,
    ) -> Result<SaveOutcome, PortError> {
        let result = if expected == 0 {
            sqlx::query(
                "INSERT INTO twofactor_records (user_id, version, document, updated_at) \
                 VALUES ($1, 1, $2, $3) ON CONFLICT (user_id) DO NOTHING",
            )
            .bind(user)
            .bind(document)
            .bind(now())
            .execute(&self.pool)
            .await
        } else {
            sqlx::query(
                "UPDATE twofactor_records SET version = version + 1, document = $3, \
                 updated_at = $4 WHERE user_id = $1 AND version = $2",
            )
            .bind(user)
            .bind(version_param(expected)?)
            .bind(document)
            .bind(now())
            .execute(&self.pool)
            .await
        }
        .map_err(port_error)?;
        Ok(save_outcome(result.rows_affected(), expected))
    }

    async fn delete(&self, user: &str) -> Result<bool, PortError> {
        let result = sqlx::query("DELETE FROM twofactor_records WHERE user_id = $1")
            .bind(user)
            .execute(&self.pool)
            .await
            .map_err(port_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<Listed>, PortError> {
        let rows = sqlx::query(
            "SELECT user_id, version, document FROM twofactor_records \
             WHERE $1::text IS NULL OR user_id > $1 ORDER BY user_id LIMIT $2",
        )
        .bind(after)
        .bind(limit_param(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(port_error)?;
        rows.iter().map(listed_row).collect()
    }

    async fn load_many(&self, users: &[String]) -> Result<Vec<Listed>, PortError> {
        let rows = sqlx::query(
            "SELECT user_id, version, document FROM twofactor_records \
             WHERE user_id = ANY($1)",
        )
        .bind(users)
        .fetch_all(&self.pool)
        .await
        .map_err(port_error)?;
        rows.iter().map(listed_row).collect()
    }
}

#[async_trait]
impl LimitStore for PostgresStore {
    async fn load_limit(&self, key: &str) -> Result<Option<Stored>, PortError> {
        let row = sqlx::query("SELECT version, document FROM twofactor_limits WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(port_error)?;
        row.as_ref().map(stored_row).transpose()
    }

    async fn save_limit(
        &self,
        key: &str,
        document: &[u8],
        expected: u64,
        expires: Timestamp,
    ) -> Result<SaveOutcome, PortError> {
        let result = if expected == 0 {
            sqlx::query(
                "INSERT INTO twofactor_limits (key, version, document, expires_at) \
                 VALUES ($1, 1, $2, $3) ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(document)
            .bind(time_param(expires))
            .execute(&self.pool)
            .await
        } else {
            sqlx::query(
                "UPDATE twofactor_limits SET version = version + 1, document = $3, \
                 expires_at = $4 WHERE key = $1 AND version = $2",
            )
            .bind(key)
            .bind(version_param(expected)?)
            .bind(document)
            .bind(time_param(expires))
            .execute(&self.pool)
            .await
        }
        .map_err(port_error)?;
        Ok(save_outcome(result.rows_affected(), expected))
    }

    async fn purge_limits(&self, now: Timestamp) -> Result<u64, PortError> {
        let result = sqlx::query("DELETE FROM twofactor_limits WHERE expires_at <= $1")
            .bind(time_param(now))
            .execute(&self.pool)
            .await
            .map_err(port_error)?;
        Ok(result.rows_affected())
    }
}
