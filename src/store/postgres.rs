use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::sql::{
    bounded, limit_param, listed_row, now, port_error, save_outcome, stored_row, time_param,
    version_param,
};
use crate::error::PortError;
use crate::model::time::Timestamp;
use crate::ports::{LimitStore, Listed, SaveOutcome, Stored, UserStore};

/// A [`UserStore`] in PostgreSQL, for several app instances sharing one
/// database: compare-and-swap is `UPDATE … WHERE user_id = $1 AND
/// version = $2`, and the first save an `INSERT … ON CONFLICT DO NOTHING`.
///
/// A verification is one read and one write: two round trips, each a
/// prepared statement (sqlx prepares each statement once per connection).
/// Every call is bounded by a timeout (10 s unless set): a server that
/// hangs fails the call as transient, as does a statement the server
/// cancels at its `statement_timeout` (5 s on connections made by
/// [`connect_with`](Self::connect_with)).
///
/// Clones share the pool. Run [`MIGRATION`](Self::MIGRATION) with your
/// migration tool, or call [`migrate`](Self::migrate) at start-up.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    timeout: Duration,
}

/// How [`PostgresStore::connect_with`] connects.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    max_connections: u32,
    statement_timeout: Duration,
    timeout: Duration,
    test_before_use: bool,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            statement_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            test_before_use: false,
        }
    }
}

impl PostgresOptions {
    /// The most connections of the pool (16 unless set; at least 1). About
    /// as many as the requests one instance serves at once; the server's
    /// `max_connections` bounds the sum over all instances.
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// The server cancels a statement running longer than this (its
    /// `statement_timeout`, 5 s unless set); the call fails as transient.
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// The longest any call of the store may take, waiting for a
    /// connection included, before it fails as transient (10 s unless
    /// set), even when the server stops answering altogether.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether a connection is tested with a round trip each time it is
    /// taken from the pool (off unless set: a verification then costs two
    /// round trips, not four). Off, a call that meets a connection the
    /// server has dropped is made again, once, on another connection.
    pub fn test_before_use(mut self, test: bool) -> Self {
        self.test_before_use = test;
        self
    }
}

impl PostgresStore {
    /// The tables this store needs (records, and the limits' counters);
    /// `CREATE … IF NOT EXISTS`, so running it again changes nothing.
    pub const MIGRATION: &'static str = concat!(
        include_str!("../../migrations/postgres/0001_twofactor.sql"),
        include_str!("../../migrations/postgres/0002_limits.sql")
    );

    /// A store on an existing pool (its settings are yours); calls are
    /// bounded by 10 s.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            timeout: PostgresOptions::default().timeout,
        }
    }

    /// Connects a pool of up to `max_connections` to `url`
    /// (`postgres://user:password@host/db`), otherwise with the default
    /// [`PostgresOptions`].
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, PortError> {
        Self::connect_with(
            url,
            PostgresOptions::default().max_connections(max_connections),
        )
        .await
    }

    /// Connects a pool to `url` (`postgres://user:password@host/db`) with
    /// `options`.
    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<Self, PortError> {
        let statement_timeout = options.statement_timeout.as_millis().to_string();
        let connect = PgConnectOptions::from_str(url)
            .map_err(port_error)?
            .options([("statement_timeout", statement_timeout.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.timeout)
            .test_before_acquire(options.test_before_use)
            .connect_with(connect)
            .await
            .map_err(port_error)?;
        Ok(Self {
            pool,
            timeout: options.timeout,
        })
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

impl PostgresStore {
    /// `op` against the pool, bounded by the timeout, and again on another
    /// connection while the one it got turns out to be dead (the server
    /// dropped it: killed, restarted), at most once per connection the
    /// pool may hold: such a statement never ran, or ran in a transaction
    /// the server rolled back. A retried compare-and-swap that had in fact
    /// committed answers `Conflict`, and the caller loads again, as after
    /// any lost race. While the server is down, the last error is the
    /// answer (transient).
    async fn run<T, F, Fut>(&self, op: F) -> Result<T, PortError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
    {
        let tries = self.pool.options().get_max_connections().saturating_add(1);
        bounded(self.timeout, async {
            let mut tried = 1;
            loop {
                match op().await {
                    Err(e) if connection_lost(&e) && tried < tries => tried += 1,
                    other => return other.map_err(port_error),
                }
            }
        })
        .await
    }
}

/// Whether `e` says the connection was gone rather than that the
/// statement failed.
fn connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) => true,
        // admin_shutdown, crash_shutdown (pg_terminate_backend, a restart)
        sqlx::Error::Database(db) => matches!(db.code().as_deref(), Some("57P01" | "57P02")),
        _ => false,
    }
}

#[async_trait]
impl UserStore for PostgresStore {
    async fn load(&self, user: &str) -> Result<Option<Stored>, PortError> {
        let row = self
            .run(|| {
                sqlx::query("SELECT version, document FROM twofactor_records WHERE user_id = $1")
                    .bind(user)
                    .fetch_optional(&self.pool)
            })
            .await?;
        row.as_ref().map(stored_row).transpose()
    }

    async fn save(
        &self,
        user: &str,
        document: &[u8],
        expected: u64,
    ) -> Result<SaveOutcome, PortError> {
        let version = version_param(expected)?;
        let result = self
            .run(|| {
                if expected == 0 {
                    sqlx::query(
                        "INSERT INTO twofactor_records (user_id, version, document, updated_at) \
                         VALUES ($1, 1, $2, $3) ON CONFLICT (user_id) DO NOTHING",
                    )
                    .bind(user)
                    .bind(document)
                    .bind(now())
                    .execute(&self.pool)
                } else {
                    sqlx::query(
                        "UPDATE twofactor_records SET version = version + 1, document = $3, \
                         updated_at = $4 WHERE user_id = $1 AND version = $2",
                    )
                    .bind(user)
                    .bind(version)
                    .bind(document)
                    .bind(now())
                    .execute(&self.pool)
                }
            })
            .await?;
        Ok(save_outcome(result.rows_affected(), expected))
    }

    async fn delete(&self, user: &str) -> Result<bool, PortError> {
        let result = self
            .run(|| {
                sqlx::query("DELETE FROM twofactor_records WHERE user_id = $1")
                    .bind(user)
                    .execute(&self.pool)
            })
            .await?;
        Ok(result.rows_affected() > 0)
    }

    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<Listed>, PortError> {
        let rows = self
            .run(|| {
                sqlx::query(
                    "SELECT user_id, version, document FROM twofactor_records \
                     WHERE $1::text IS NULL OR user_id > $1 ORDER BY user_id LIMIT $2",
                )
                .bind(after)
                .bind(limit_param(limit))
                .fetch_all(&self.pool)
            })
            .await?;
        rows.iter().map(listed_row).collect()
    }

    async fn load_many(&self, users: &[String]) -> Result<Vec<Listed>, PortError> {
        let rows = self
            .run(|| {
                sqlx::query(
                    "SELECT user_id, version, document FROM twofactor_records \
                     WHERE user_id = ANY($1)",
                )
                .bind(users)
                .fetch_all(&self.pool)
            })
            .await?;
        rows.iter().map(listed_row).collect()
    }
}

#[async_trait]
impl LimitStore for PostgresStore {
    async fn load_limit(&self, key: &str) -> Result<Option<Stored>, PortError> {
        let row = self
            .run(|| {
                sqlx::query("SELECT version, document FROM twofactor_limits WHERE key = $1")
                    .bind(key)
                    .fetch_optional(&self.pool)
            })
            .await?;
        row.as_ref().map(stored_row).transpose()
    }

    async fn save_limit(
        &self,
        key: &str,
        document: &[u8],
        expected: u64,
        expires: Timestamp,
    ) -> Result<SaveOutcome, PortError> {
        let version = version_param(expected)?;
        let result = self
            .run(|| {
                if expected == 0 {
                    sqlx::query(
                        "INSERT INTO twofactor_limits (key, version, document, expires_at) \
                         VALUES ($1, 1, $2, $3) ON CONFLICT (key) DO NOTHING",
                    )
                    .bind(key)
                    .bind(document)
                    .bind(time_param(expires))
                    .execute(&self.pool)
                } else {
                    sqlx::query(
                        "UPDATE twofactor_limits SET version = version + 1, document = $3, \
                         expires_at = $4 WHERE key = $1 AND version = $2",
                    )
                    .bind(key)
                    .bind(version)
                    .bind(document)
                    .bind(time_param(expires))
                    .execute(&self.pool)
                }
            })
            .await?;
        Ok(save_outcome(result.rows_affected(), expected))
    }

    async fn purge_limits(&self, now: Timestamp) -> Result<u64, PortError> {
        let result = self
            .run(|| {
                sqlx::query("DELETE FROM twofactor_limits WHERE expires_at <= $1")
                    .bind(time_param(now))
                    .execute(&self.pool)
            })
            .await?;
        Ok(result.rows_affected())
    }
}
