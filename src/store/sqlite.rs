use async_trait::async_trait;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use super::sql::{
    limit_param, listed_row, now, port_error, save_outcome, stored_row, time_param, version_param,
};
use crate::error::PortError;
use crate::model::time::Timestamp;
use crate::ports::{LimitStore, Listed, SaveOutcome, Stored, UserStore};

/// A [`UserStore`] in an SQLite file: the embedded choice for one server
/// (or several processes on one machine). Compare-and-swap is `UPDATE …
/// WHERE user_id = ? AND version = ?`, and the first save an `INSERT … ON
/// CONFLICT DO NOTHING`; SQLite runs each atomically.
///
/// Clones share the pool. Run [`MIGRATION`](Self::MIGRATION) with your
/// migration tool, or call [`migrate`](Self::migrate) at start-up.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// The tables this store needs (records, and the limits' counters);
    /// `CREATE … IF NOT EXISTS`, so running it again changes nothing.
    pub const MIGRATION: &'static str = concat!(
        include_str!("../../migrations/sqlite/0001_twofactor.sql"),
        include_str!("../../migrations/sqlite/0002_limits.sql")
    );

    /// A store on an existing pool.
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// Opens (creating if missing) the database file at `path`, in WAL mode,
    /// waiting up to 5 s for a lock, and creates the table if missing.
    pub async fn open(path: &str) -> Result<Self, PortError> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
            .map_err(port_error)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(port_error)?;
        let store = Self::new(pool);
        store.migrate().await?;
        Ok(store)
    }

    /// Creates the table if it is missing.
    pub async fn migrate(&self) -> Result<(), PortError> {
        sqlx::raw_sql(Self::MIGRATION)
            .execute(&self.pool)
            .await
            .map_err(port_error)?;
        Ok(())
    }

    /// The pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn load(&self, user: &str) -> Result<Option<Stored>, PortError> {
        let row = sqlx::query("SELECT version, document FROM twofactor_records WHERE user_id = ?")
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
                 VALUES (?, 1, ?, ?) ON CONFLICT (user_id) DO NOTHING",
            )
            .bind(user)
            .bind(document)
            .bind(now())
            .execute(&self.pool)
            .await
        } else {
            sqlx::query(
                "UPDATE twofactor_records SET version = version + 1, document = ?, \
                 updated_at = ? WHERE user_id = ? AND version = ?",
            )
            .bind(document)
            .bind(now())
            .bind(user)
            .bind(version_param(expected)?)
            .execute(&self.pool)
            .await
        }
        .map_err(port_error)?;
        Ok(save_outcome(result.rows_affected(), expected))
    }

    async fn delete(&self, user: &str) -> Result<bool, PortError> {
        let result = sqlx::query("DELETE FROM twofactor_records WHERE user_id = ?")
            .bind(user)
            .execute(&self.pool)
            .await
            .map_err(port_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<Listed>, PortError> {
        let rows = sqlx::query(
            "SELECT user_id, version, document FROM twofactor_records \
             WHERE ?1 IS NULL OR user_id > ?1 ORDER BY user_id LIMIT ?2",
        )
        .bind(after)
        .bind(limit_param(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(port_error)?;
        rows.iter().map(listed_row).collect()
    }

    async fn load_many(&self, users: &[String]) -> Result<Vec<Listed>, PortError> {
        // Well under the oldest SQLite's limit of 999 parameters a query.
        const CHUNK: usize = 500;
        let mut found = Vec::with_capacity(users.len());
        for chunk in users.chunks(CHUNK) {
            let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "SELECT user_id, version, document FROM twofactor_records WHERE user_id IN (",
            );
            let mut ids = query.separated(", ");
            for user in chunk {
                ids.push_bind(user);
            }
            ids.push_unseparated(")");
            let rows = query
                .build()
                .fetch_all(&self.pool)
                .await
                .map_err(port_error)?;
            for row in &rows {
                found.push(listed_row(row)?);
            }
        }
        Ok(found)
    }
}

#[async_trait]
impl LimitStore for SqliteStore {
    async fn load_limit(&self, key: &str) -> Result<Option<Stored>, PortError> {
        let row = sqlx::query("SELECT version, document FROM twofactor_limits WHERE key = ?")
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
                 VALUES (?, 1, ?, ?) ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(document)
            .bind(time_param(expires))
            .execute(&self.pool)
            .await
        } else {
            sqlx::query(
                "UPDATE twofactor_limits SET version = version + 1, document = ?, \
                 expires_at = ? WHERE key = ? AND version = ?",
            )
            .bind(document)
            .bind(time_param(expires))
            .bind(key)
            .bind(version_param(expected)?)
            .execute(&self.pool)
            .await
        }
        .map_err(port_error)?;
        Ok(save_outcome(result.rows_affected(), expected))
    }

    async fn purge_limits(&self, now: Timestamp) -> Result<u64, PortError> {
        let result = sqlx::query("DELETE FROM twofactor_limits WHERE expires_at <= ?")
            .bind(time_param(now))
            .execute(&self.pool)
            .await
            .map_err(port_error)?;
        Ok(result.rows_affected())
    }
}
