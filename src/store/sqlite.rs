use async_trait::async_trait;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::{mpsc, oneshot};

use super::sql::{
    bounded, limit_param, listed_row, now, port_error, save_outcome, stored_row, time_param,
    version_param,
};
use crate::error::PortError;
use crate::model::time::Timestamp;
use crate::ports::{LimitStore, Listed, SaveOutcome, Stored, UserStore};

/// A [`UserStore`] in an SQLite file: the embedded choice for one server
/// (or several processes on one machine).
///
/// Reads use a pool of connections; every write of this process goes to
/// one writer task, which gathers the writes waiting at that moment into
/// one transaction (`BEGIN IMMEDIATE`, then each compare-and-swap checked
/// and answered on its own, then one `COMMIT`): *group commit*. With
/// [`SqliteDurability::Full`] (the default) a commit waits for the disk, so a
/// batch of eight saves costs one wait instead of eight, and no two
/// connections of the process queue on SQLite's write lock. Compare-and-swap
/// is `UPDATE … WHERE user_id = ? AND version = ?`, and the first save an
/// `INSERT … ON CONFLICT DO NOTHING`. A save that loses its compare-and-swap
/// inside a batch is answered [`SaveOutcome::Conflict`] and the batch's
/// winners are committed; a statement or the commit failing fails every
/// write of that batch (nothing of it is written) with the same error,
/// transient when a retry may help (SQLite busy past the busy timeout,
/// I/O).
///
/// Clones share the pool and the writer. Run [`MIGRATION`](Self::MIGRATION)
/// with your migration tool, or call [`migrate`](Self::migrate) at
/// start-up. The writer is a task on the tokio runtime of the first write
/// (started again on the runtime of the next write if that one has ended).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: Arc<Writer>,
    timeout: Duration,
}

/// How far a commit waits for the disk: SQLite's `synchronous` setting in
/// WAL mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SqliteDurability {
    /// `synchronous = FULL`: a commit is on the disk when the save is
    /// answered; a power cut loses nothing that was answered. The default.
    #[default]
    Full,
    /// `synchronous = NORMAL`: the write-ahead log is synced at
    /// checkpoints only. The database stays consistent, but a power cut
    /// (not a crash of the process) may lose the commits made since the
    /// last checkpoint: a failure counted there is forgotten, and a code
    /// accepted there may be accepted once more within its replay window
    /// (the last accepted step is what keeps a code from being used
    /// twice). Several times faster on a disk that syncs slowly.
    Normal,
}

/// How [`SqliteStore::open_with`] opens a file.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    durability: SqliteDurability,
    busy_timeout: Duration,
    timeout: Duration,
    readers: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            durability: SqliteDurability::Full,
            busy_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            readers: 4,
        }
    }
}

impl SqliteOptions {
    /// How far a commit waits for the disk ([`SqliteDurability::Full`] unless
    /// set).
    pub fn durability(mut self, durability: SqliteDurability) -> Self {
        self.durability = durability;
        self
    }

    /// How long a statement waits for a lock another process holds before
    /// it fails with a transient error (5 s unless set).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// The longest any call of the store may take, waiting included,
    /// before it fails with a transient error (10 s unless set). A write
    /// whose caller stopped waiting may still be committed, as with any
    /// database.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many connections read (4 unless set; at least 1). One more
    /// connection writes.
    pub fn readers(mut self, readers: u32) -> Self {
        self.readers = readers.max(1);
        self
    }
}

impl SqliteStore {
    /// The tables this store needs (records, and the limits' counters);
    /// `CREATE … IF NOT EXISTS`, so running it again changes nothing.
    pub const MIGRATION: &'static str = concat!(
        include_str!("../../migrations/sqlite/0001_twofactor.sql"),
        include_str!("../../migrations/sqlite/0002_limits.sql")
    );

    /// A store on an existing pool (its connection settings are yours: WAL
    /// mode and a busy timeout are advised). The writer takes one
    /// connection of the pool while it writes; calls are bounded by 10 s.
    pub fn new(pool: SqlitePool) -> Self {
        Self::with_timeout(pool, SqliteOptions::default().timeout)
    }

    fn with_timeout(pool: SqlitePool, timeout: Duration) -> Self {
        Self {
            writer: Arc::new(Writer {
                pool: pool.clone(),
                queue: Mutex::new(None),
            }),
            pool,
            timeout,
        }
    }

    /// Opens (creating if missing) the database file at `path` with the
    /// default [`SqliteOptions`] (WAL mode, [`SqliteDurability::Full`], 5 s busy
    /// timeout), and creates the tables if missing.
    pub async fn open(path: &str) -> Result<Self, PortError> {
        Self::open_with(path, SqliteOptions::default()).await
    }

    /// Opens (creating if missing) the database file at `path` in WAL
    /// mode with `options`, and creates the tables if missing.
    pub async fn open_with(path: &str, options: SqliteOptions) -> Result<Self, PortError> {
        let connect = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
            .map_err(port_error)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match options.durability {
                SqliteDurability::Full => SqliteSynchronous::Full,
                SqliteDurability::Normal => SqliteSynchronous::Normal,
            })
            .busy_timeout(options.busy_timeout);
        let pool = SqlitePoolOptions::new()
            .max_connections(options.readers.saturating_add(1))
            .acquire_timeout(options.timeout)
            .connect_with(connect)
            .await
            .map_err(port_error)?;
        let store = Self::with_timeout(pool, options.timeout);
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

    /// `work`, failing as transient when it takes longer than the timeout.
    async fn bounded<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, PortError>>,
    ) -> Result<T, PortError> {
        bounded(self.timeout, work).await
    }

    /// Hands `write` to the writer and waits for its answer.
    async fn write(&self, write: Write) -> Result<Written, PortError> {
        self.bounded(async {
            let (reply, answer) = oneshot::channel();
            self.writer.send(Job { write, reply })?;
            answer
                .await
                .map_err(|_| PortError::transient("the SQLite writer stopped"))?
        })
        .await
    }

    async fn read_one(&self, sql: &'static str, key: &str) -> Result<Option<Stored>, PortError> {
        self.bounded(async {
            let row = sqlx::query(sql)
                .bind(key)
                .fetch_optional(&self.pool)
                .await
                .map_err(port_error)?;
            row.as_ref().map(stored_row).transpose()
        })
        .await
    }
}

/// A write for the writer task.
#[derive(Debug)]
enum Write {
    Record {
        user: String,
        document: Vec<u8>,
        expected: u64,
    },
    Limit {
        key: String,
        document: Vec<u8>,
        expected: u64,
        expires: i64,
    },
    Delete {
        user: String,
    },
    Purge {
        now: i64,
    },
}

/// What a write did.
#[derive(Debug)]
enum Written {
    Saved(SaveOutcome),
    Rows(u64),
}

#[derive(Debug)]
struct Job {
    write: Write,
    reply: oneshot::Sender<Result<Written, PortError>>,
}

/// The most writes one transaction gathers.
const MAX_BATCH: usize = 64;

/// The process's one writer: a queue to a task that writes in batches.
#[derive(Debug)]
struct Writer {
    pool: SqlitePool,
    queue: Mutex<Option<mpsc::UnboundedSender<Job>>>,
}

impl Writer {
    /// Queues `job`, starting the writer task when there is none (or its
    /// runtime has ended).
    fn send(&self, job: Job) -> Result<(), PortError> {
        let mut queue = self
            .queue
            .lock()
            .map_err(|_| PortError::transient("the SQLite writer's queue is poisoned"))?;
        let job = match queue.as_ref() {
            Some(q) => match q.send(job) {
                Ok(()) => return Ok(()),
                Err(mpsc::error::SendError(job)) => job,
            },
            None => job,
        };
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| PortError::permanent("SqliteStore needs a tokio runtime"))?;
        let (sender, receiver) = mpsc::unbounded_channel();
        runtime.spawn(write_loop(self.pool.clone(), receiver));
        sender
            .send(job)
            .map_err(|_| PortError::transient("the SQLite writer stopped"))?;
        *queue = Some(sender);
        Ok(())
    }
}

/// The writer task: takes what is queued, up to [`MAX_BATCH`], writes it in
/// one transaction, answers each, and again until every store is gone.
async fn write_loop(pool: SqlitePool, mut queue: mpsc::UnboundedReceiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (writes, replies): (Vec<Write>, Vec<_>) =
            batch.drain(..).map(|j| (j.write, j.reply)).unzip();
        match write_batch(&pool, &writes).await {
            Ok(written) => {
                for (reply, written) in replies.into_iter().zip(written) {
                    // a caller that stopped waiting is not told
                    let _ = reply.send(Ok(written));
                }
            }
            Err(e) => {
                // every caller gets the one error, its cause chain intact
                let transient = e.is_transient();
                let shared = Shared(Arc::new(e));
                for reply in replies {
                    let error = if transient {
                        PortError::transient(shared.clone())
                    } else {
                        PortError::permanent(shared.clone())
                    };
                    let _ = reply.send(Err(error));
                }
            }
        }
    }
}

/// The cause of the error that failed a batch, handed to each of its
/// callers: it reads as the cause itself, with the same chain below it.
#[derive(Debug, Clone)]
struct Shared(Arc<PortError>);

impl Shared {
    fn cause(&self) -> &(dyn std::error::Error + 'static) {
        std::error::Error::source(self.0.as_ref()).unwrap_or(self.0.as_ref())
    }
}

impl std::fmt::Display for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self.cause(), f)
    }
}

impl std::error::Error for Shared {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause().source()
    }
}

/// `writes` in one transaction, in order; each one's result, or the error
/// that rolled them all back.
async fn write_batch(pool: &SqlitePool, writes: &[Write]) -> Result<Vec<Written>, PortError> {
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(port_error)?;
    let mut written = Vec::with_capacity(writes.len());
    for write in writes {
        written.push(apply(&mut tx, write).await?);
    }
    tx.commit().await.map_err(port_error)?;
    Ok(written)
}

/// One write on the writer's transaction.
async fn apply(tx: &mut sqlx::SqliteConnection, write: &Write) -> Result<Written, PortError> {
    let (result, expected) = match write {
        Write::Record {
            user,
            document,
            expected: 0,
        } => (
            sqlx::query(
                "INSERT INTO twofactor_records (user_id, version, document, updated_at) \
                 VALUES (?, 1, ?, ?) ON CONFLICT (user_id) DO NOTHING",
            )
            .bind(user)
            .bind(document)
            .bind(now())
            .execute(&mut *tx)
            .await,
            0,
        ),
        Write::Record {
            user,
            document,
            expected,
        } => (
            sqlx::query(
                "UPDATE twofactor_records SET version = version + 1, document = ?, \
                 updated_at = ? WHERE user_id = ? AND version = ?",
            )
            .bind(document)
            .bind(now())
            .bind(user)
            .bind(version_param(*expected)?)
            .execute(&mut *tx)
            .await,
            *expected,
        ),
        Write::Limit {
            key,
            document,
            expected: 0,
            expires,
        } => (
            sqlx::query(
                "INSERT INTO twofactor_limits (key, version, document, expires_at) \
                 VALUES (?, 1, ?, ?) ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(document)
            .bind(expires)
            .execute(&mut *tx)
            .await,
            0,
        ),
        Write::Limit {
            key,
            document,
            expected,
            expires,
        } => (
            sqlx::query(
                "UPDATE twofactor_limits SET version = version + 1, document = ?, \
                 expires_at = ? WHERE key = ? AND version = ?",
            )
            .bind(document)
            .bind(expires)
            .bind(key)
            .bind(version_param(*expected)?)
            .execute(&mut *tx)
            .await,
            *expected,
        ),
        Write::Delete { user } => {
            let rows = sqlx::query("DELETE FROM twofactor_records WHERE user_id = ?")
                .bind(user)
                .execute(&mut *tx)
                .await
                .map_err(port_error)?
                .rows_affected();
            return Ok(Written::Rows(rows));
        }
        Write::Purge { now } => {
            let rows = sqlx::query("DELETE FROM twofactor_limits WHERE expires_at <= ?")
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(port_error)?
                .rows_affected();
            return Ok(Written::Rows(rows));
        }
    };
    let rows = result.map_err(port_error)?.rows_affected();
    Ok(Written::Saved(save_outcome(rows, expected)))
}

/// The answer to a save, from what the writer did.
fn saved(written: Written) -> Result<SaveOutcome, PortError> {
    match written {
        Written::Saved(outcome) => Ok(outcome),
        Written::Rows(_) => Err(PortError::permanent(
            "the SQLite writer answered out of turn",
        )),
    }
}

/// The answer to a delete or a purge, from what the writer did.
fn rows(written: Written) -> Result<u64, PortError> {
    match written {
        Written::Rows(rows) => Ok(rows),
        Written::Saved(_) => Err(PortError::permanent(
            "the SQLite writer answered out of turn",
        )),
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn load(&self, user: &str) -> Result<Option<Stored>, PortError> {
        self.read_one(
            "SELECT version, document FROM twofactor_records WHERE user_id = ?",
            user,
        )
        .await
    }

    async fn save(
        &self,
        user: &str,
        document: &[u8],
        expected: u64,
    ) -> Result<SaveOutcome, PortError> {
        version_param(expected)?;
        saved(
            self.write(Write::Record {
                user: user.to_owned(),
                document: document.to_vec(),
                expected,
            })
            .await?,
        )
    }

    async fn delete(&self, user: &str) -> Result<bool, PortError> {
        let deleted = rows(
            self.write(Write::Delete {
                user: user.to_owned(),
            })
            .await?,
        )?;
        Ok(deleted > 0)
    }

    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<Listed>, PortError> {
        self.bounded(async {
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
        })
        .await
    }

    async fn load_many(&self, users: &[String]) -> Result<Vec<Listed>, PortError> {
        // Well under the oldest SQLite's limit of 999 parameters a query.
        const CHUNK: usize = 500;
        self.bounded(async {
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
        })
        .await
    }
}

#[async_trait]
impl LimitStore for SqliteStore {
    async fn load_limit(&self, key: &str) -> Result<Option<Stored>, PortError> {
        self.read_one(
            "SELECT version, document FROM twofactor_limits WHERE key = ?",
            key,
        )
        .await
    }

    async fn save_limit(
        &self,
        key: &str,
        document: &[u8],
        expected: u64,
        expires: Timestamp,
    ) -> Result<SaveOutcome, PortError> {
        version_param(expected)?;
        saved(
            self.write(Write::Limit {
                key: key.to_owned(),
                document: document.to_vec(),
                expected,
                expires: time_param(expires),
            })
            .await?,
        )
    }

    async fn purge_limits(&self, now: Timestamp) -> Result<u64, PortError> {
        rows(
            self.write(Write::Purge {
                now: time_param(now),
            })
            .await?,
        )
    }
}
