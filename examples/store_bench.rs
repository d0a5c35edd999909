//! The stores against their own limit, in one process: for each row, the
//! *floor* (the bare load + compare-and-swap save of a document of the
//! same size, through the same client library, durability and pool
//! settings, on a table of its own) and then `verify_login` through the
//! crate on the same database, each for `--seconds`. Prints both
//! throughputs, their ratio and p50/p99, with a progress bar, and appends
//! one CSV line per measurement to `--csv`. `scripts/store-bench` runs
//! every store and draws the plot.
//!
//! ```text
//! cargo run --release --features sqlite,postgres --example store_bench -- \
//!     --store sqlite --durability full --tasks 1,8,32 --seconds 5
//! cargo run --release --features sqlite,postgres --example store_bench -- \
//!     --store postgres --url postgres://… --tasks 1,8,32 --instances 1,4,8
//! ```
//!
//! SQLite's floor is one connection (the engine has one writer; a bare
//! loop on a pool of several only adds lock waits). PostgreSQL's floor has
//! as many connections as the crate's pools, in as many pools. A row with
//! several instances runs that many `TwoFactor`s, each with its own pool,
//! sharing the tasks (32 by default) on one database.

use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use twofactor::secrecy::SecretString;
use twofactor::{MasterKey, TwoFactor};

#[path = "support/guessing.rs"]
mod guessing;

use guessing::{percentile, unlocked_policy, Anyone, Guessed, Result};

/// A prime stride, so that each task walks all accounts in its own order.
const STRIDE: usize = 7919;

struct Args {
    store: String,
    durability: String,
    tasks: Vec<usize>,
    instances: Vec<usize>,
    instance_tasks: usize,
    accounts: usize,
    seconds: u64,
    db: String,
    url: String,
    csv: Option<String>,
}

fn list(text: &str) -> Result<Vec<usize>> {
    let values = text
        .split(',')
        .map(|v| v.trim().parse::<usize>())
        .collect::<std::result::Result<Vec<_>, _>>()?;
    if values.contains(&0) {
        return Err("counts must be at least 1".into());
    }
    Ok(values)
}

fn args() -> Result<Args> {
    let mut a = Args {
        store: "sqlite".into(),
        durability: "full".into(),
        tasks: vec![1, 8, 32],
        instances: vec![],
        instance_tasks: 32,
        accounts: 500,
        seconds: 5,
        db: "/tmp/twofactor-store-bench.db".into(),
        url: std::env::var("TWOFACTOR_POSTGRES_URL").unwrap_or_default(),
        csv: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--store" => a.store = value()?,
            "--durability" => a.durability = value()?,
            "--tasks" => a.tasks = list(&value()?)?,
            "--instances" => a.instances = list(&value()?)?,
            "--instance-tasks" => a.instance_tasks = value()?.parse()?,
            "--accounts" => a.accounts = value()?.parse()?,
            "--seconds" => a.seconds = value()?.parse()?,
            "--db" => a.db = value()?,
            "--url" => a.url = value()?,
            "--csv" => a.csv = Some(value()?),
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    if a.accounts == 0 || a.instance_tasks == 0 {
        return Err("--accounts and --instance-tasks must be at least 1".into());
    }
    Ok(a)
}

/// One bare operation of the floor: load the row, save it back with
/// compare-and-swap; again from the load while the save loses (as the
/// crate does), so that every operation ends in one saved write.
#[async_trait]
trait Floor: Send + Sync {
    /// One load and one compare-and-swap save; whether the save won.
    async fn once(&self, id: &str, document: &[u8]) -> std::result::Result<bool, sqlx::Error>;

    /// Load and save until the save wins.
    async fn until_saved(&self, id: &str, document: &[u8]) -> std::result::Result<(), sqlx::Error> {
        while !self.once(id, document).await? {}
        Ok(())
    }
}

struct SqliteFloor(sqlx::SqlitePool);

#[async_trait]
impl Floor for SqliteFloor {
    async fn once(&self, id: &str, document: &[u8]) -> std::result::Result<bool, sqlx::Error> {
        let (version, _): (i64, Vec<u8>) =
            sqlx::query_as("SELECT version, document FROM floor_records WHERE user_id = ?")
                .bind(id)
                .fetch_one(&self.0)
                .await?;
        let result = sqlx::query(
            "UPDATE floor_records SET version = version + 1, document = ?, updated_at = ? \
             WHERE user_id = ? AND version = ?",
        )
        .bind(document)
        .bind(0_i64)
        .bind(id)
        .bind(version)
        .execute(&self.0)
        .await?;
        Ok(result.rows_affected() == 1)
    }
}

struct PgFloor(sqlx::PgPool);

#[async_trait]
impl Floor for PgFloor {
    async fn once(&self, id: &str, document: &[u8]) -> std::result::Result<bool, sqlx::Error> {
        let (version, _): (i64, Vec<u8>) =
            sqlx::query_as("SELECT version, document FROM floor_records WHERE user_id = $1")
                .bind(id)
                .fetch_one(&self.0)
                .await?;
        let result = sqlx::query(
            "UPDATE floor_records SET version = version + 1, document = $3, updated_at = $4 \
             WHERE user_id = $1 AND version = $2",
        )
        .bind(id)
        .bind(version)
        .bind(document)
        .bind(0_i64)
        .execute(&self.0)
        .await?;
        Ok(result.rows_affected() == 1)
    }
}

/// What one measurement gave.
struct Measured {
    ops: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// The latencies of one stretch of a measurement, and its length.
#[derive(Default)]
struct Sample {
    latencies: Vec<Duration>,
    seconds: f64,
}

impl Sample {
    fn add(&mut self, other: Sample) {
        self.latencies.extend(other.latencies);
        self.seconds += other.seconds;
    }

    fn summary(mut self, label: &str) -> Result<Measured> {
        self.latencies.sort();
        let all = &self.latencies;
        if all.is_empty() {
            return Err("nothing finished".into());
        }
        let pct = |p: f64| percentile(all, p);
        let m = Measured {
            ops: all.len(),
            per_second: all.len() as f64 / self.seconds,
            p50: pct(0.50),
            p99: pct(0.99),
        };
        println!(
            "  {label:<34} {:>9.0}/s  p50 {:>9.3} ms  p99 {:>9.3} ms  ({} ops)",
            m.per_second,
            m.p50.as_secs_f64() * 1e3,
            m.p99.as_secs_f64() * 1e3,
            m.ops
        );
        Ok(m)
    }
}

/// Runs `tasks` tasks for `seconds`, each calling `op` with the next
/// account, under a progress bar labelled `label`.
async fn measure<F, Fut>(label: &str, tasks: usize, seconds: f64, op: Arc<F>) -> Result<Sample>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = std::result::Result<(), String>> + Send,
{
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let workers: Vec<_> = (0..tasks)
        .map(|t| {
            let (op, done) = (op.clone(), done.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut i = t;
                while Instant::now() < deadline {
                    let start = Instant::now();
                    op(t, i).await?;
                    latencies.push(start.elapsed());
                    done.fetch_add(1, Ordering::Relaxed);
                    i = i.wrapping_add(STRIDE);
                }
                Ok::<_, String>(latencies)
            })
        })
        .collect();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let frac = (started.elapsed().as_secs_f64() / seconds).min(1.0);
        let filled = (frac * 30.0) as usize;
        print!(
            "\r  {label:<34} [{}{}] {:>8}",
            "#".repeat(filled),
            " ".repeat(30 - filled),
            done.load(Ordering::Relaxed)
        );
        std::io::stdout().flush()?;
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await??);
    }
    print!("\r{:78}\r", "");
    Ok(Sample {
        latencies: all,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A service on `store`, sealing under `key`.
fn service(
    store: impl twofactor::UserStore + twofactor::LimitStore + 'static,
    key: &SecretString,
) -> Result<TwoFactor> {
    use twofactor::secrecy::ExposeSecret;
    Ok(TwoFactor::builder()
        .issuer("Bench")
        .key(MasterKey::from_base64(key.expose_secret())?)
        .passwords(Anyone)
        .policy(unlocked_policy())
        .store(store)
        .build()?)
}

/// The CSV line of one measurement.
fn record(
    a: &Args,
    row: &str,
    what: &str,
    tasks: usize,
    instances: usize,
    m: &Measured,
) -> Result<()> {
    let Some(path) = &a.csv else { return Ok(()) };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(
        file,
        "{row},{what},{tasks},{instances},{:.1},{:.4},{:.4}",
        m.per_second,
        m.p50.as_secs_f64() * 1e3,
        m.p99.as_secs_f64() * 1e3
    )?;
    Ok(())
}

/// What every row works on: the crate's accounts, the floor's rows, and
/// the floor's document (as large as an account's).
struct Data {
    accounts: Arc<Vec<Guessed>>,
    ids: Arc<Vec<String>>,
    document: Arc<Vec<u8>>,
}

/// One row: the floor, then the crate, and the ratio.
async fn row(
    a: &Args,
    name: &str,
    tasks: usize,
    instances: usize,
    floor: Arc<dyn Floor>,
    services: &[TwoFactor],
    data: &Data,
) -> Result<()> {
    println!("{name}: {tasks} tasks, {instances} instance(s)");
    let (f_ids, f_doc) = (data.ids.clone(), data.document.clone());
    let floor_op = Arc::new(move |_, i: usize| {
        let (floor, ids, doc) = (floor.clone(), f_ids.clone(), f_doc.clone());
        async move {
            let id = ids.get(i % ids.len()).ok_or("no id")?;
            floor.until_saved(id, &doc).await.map_err(|e| e.to_string())
        }
    });
    let services = Arc::new(services.to_vec());
    let accts = data.accounts.clone();
    let crate_op = Arc::new(move |t: usize, i: usize| {
        let (services, accounts) = (services.clone(), accts.clone());
        async move {
            let tf = services.get(t % services.len()).ok_or("no service")?;
            let g = accounts.get(i % accounts.len()).ok_or("no account")?;
            let code = g.wrong_code();
            match tf.verify_login(&g.account, code.as_str(), None).await {
                Ok(v) if !v.is_accepted() => Ok(()),
                other => Err(format!("{other:?}")),
            }
        }
    });
    // floor and crate in turns, twice each, so that a drift of the
    // machine or the database during the row weighs on both alike
    let half = (a.seconds as f64 / 2.0).max(0.5);
    let (mut floor_all, mut crate_all) = (Sample::default(), Sample::default());
    for turn in 1..=2 {
        let label = format!("floor, turn {turn}");
        floor_all.add(measure(&label, tasks, half, floor_op.clone()).await?);
        let label = format!("verify_login, turn {turn}");
        crate_all.add(measure(&label, tasks, half, crate_op.clone()).await?);
    }
    let bare = floor_all.summary("floor (load + CAS save)")?;
    let ours = crate_all.summary("verify_login (wrong code)")?;
    println!(
        "  ratio {:.2}x the floor; p99 {:.2}x",
        ours.per_second / bare.per_second,
        ours.p99.as_secs_f64() / bare.p99.as_secs_f64().max(1e-9)
    );
    record(a, name, "floor", tasks, instances, &bare)?;
    record(a, name, "twofactor", tasks, instances, &ours)?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = args()?;
    let key = MasterKey::generate()?.to_base64();
    match a.store.as_str() {
        "sqlite" => sqlite(&a, &key).await,
        "postgres" => postgres(&a, &key).await,
        other => Err(format!("--store {other:?}: sqlite or postgres").into()),
    }
}

async fn sqlite(a: &Args, key: &SecretString) -> Result<()> {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    use twofactor::{SqliteDurability, SqliteOptions, SqliteStore};
    let durability = match a.durability.as_str() {
        "full" => SqliteDurability::Full,
        "normal" => SqliteDurability::Normal,
        other => return Err(format!("--durability {other:?}: full or normal").into()),
    };
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", a.db));
    }
    let store =
        SqliteStore::open_with(&a.db, SqliteOptions::default().durability(durability)).await?;
    let tf = service(store.clone(), key)?;
    print!("setting up {} accounts… ", a.accounts);
    std::io::stdout().flush()?;
    let accounts = Arc::new(guessing::accounts(&tf, "bench", a.accounts, false).await?);
    println!("done");
    let size = document_size(&store, accounts.as_slice()).await?;
    // the floor: one connection, the store's own connection settings
    let options: SqliteConnectOptions = (*store.pool().connect_options()).clone();
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    let data = Data {
        ids: Arc::new(sqlite_floor_table(&pool, a.accounts, size).await?),
        accounts,
        document: Arc::new(vec![0x5a_u8; size]),
    };
    let floor: Arc<dyn Floor> = Arc::new(SqliteFloor(pool));
    let name = format!("sqlite-{}", a.durability);
    for &tasks in &a.tasks {
        row(
            a,
            &name,
            tasks,
            1,
            floor.clone(),
            std::slice::from_ref(&tf),
            &data,
        )
        .await?;
    }
    Ok(())
}

async fn postgres(a: &Args, key: &SecretString) -> Result<()> {
    use twofactor::PostgresStore;
    if a.url.is_empty() {
        return Err("--url or TWOFACTOR_POSTGRES_URL is needed".into());
    }
    let setup = PostgresStore::connect(&a.url, 4).await?;
    setup.migrate().await?;
    let tf = service(setup.clone(), key)?;
    print!("setting up {} accounts… ", a.accounts);
    std::io::stdout().flush()?;
    let accounts = Arc::new(guessing::accounts(&tf, "bench", a.accounts, false).await?);
    println!("done");
    let size = document_size(&setup, accounts.as_slice()).await?;
    let data = Data {
        ids: Arc::new(pg_floor_table(setup.pool(), a.accounts, size).await?),
        accounts,
        document: Arc::new(vec![0x5a_u8; size]),
    };
    let mut rows: Vec<(usize, usize)> = a.tasks.iter().map(|&t| (t, 1)).collect();
    rows.extend(a.instances.iter().map(|&i| (a.instance_tasks, i)));
    for (tasks, instances) in rows {
        let per = tasks.div_ceil(instances).max(1) as u32;
        let mut services = Vec::new();
        let mut floors = Vec::new();
        for _ in 0..instances {
            let store = PostgresStore::connect(&a.url, per).await?;
            // the floor's pool: the store's pool and connection settings
            let floor = store
                .pool()
                .options()
                .clone()
                .connect_with((*store.pool().connect_options()).clone())
                .await?;
            services.push(service(store, key)?);
            floors.push(PgFloor(floor));
        }
        let floor: Arc<dyn Floor> = Arc::new(Spread(floors));
        row(a, "postgres", tasks, instances, floor, &services, &data).await?;
    }
    Ok(())
}

/// Several floors (one per instance), taken in turn.
struct Spread(Vec<PgFloor>);

#[async_trait]
impl Floor for Spread {
    async fn once(&self, id: &str, document: &[u8]) -> std::result::Result<bool, sqlx::Error> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed) as usize;
        match self.0.get(n % self.0.len().max(1)) {
            Some(floor) => floor.once(id, document).await,
            None => Err(sqlx::Error::PoolClosed),
        }
    }
}

/// The size of an account's stored document.
async fn document_size(store: &impl twofactor::UserStore, accounts: &[Guessed]) -> Result<usize> {
    let first = accounts.first().ok_or("no account")?;
    let stored = store
        .load(first.account.id())
        .await?
        .ok_or("no record stored")?;
    Ok(stored.document.len())
}

/// The floor's table in SQLite, with `n` rows of `size` bytes; their ids.
async fn sqlite_floor_table(pool: &sqlx::SqlitePool, n: usize, size: usize) -> Result<Vec<String>> {
    sqlx::raw_sql(
        "DROP TABLE IF EXISTS floor_records; \
         CREATE TABLE floor_records (user_id TEXT PRIMARY KEY, version INTEGER NOT NULL, \
         document BLOB NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID",
    )
    .execute(pool)
    .await?;
    let ids: Vec<String> = (0..n).map(|i| format!("floor-{i}")).collect();
    for id in &ids {
        sqlx::query("INSERT INTO floor_records VALUES (?, 1, ?, 0)")
            .bind(id)
            .bind(vec![0xa5_u8; size])
            .execute(pool)
            .await?;
    }
    Ok(ids)
}

/// The floor's table in PostgreSQL, with `n` rows of `size` bytes; their ids.
async fn pg_floor_table(pool: &sqlx::PgPool, n: usize, size: usize) -> Result<Vec<String>> {
    sqlx::raw_sql(
        "DROP TABLE IF EXISTS floor_records; \
         CREATE TABLE floor_records (user_id TEXT PRIMARY KEY, version BIGINT NOT NULL, \
         document BYTEA NOT NULL, updated_at BIGINT NOT NULL)",
    )
    .execute(pool)
    .await?;
    let ids: Vec<String> = (0..n).map(|i| format!("floor-{i}")).collect();
    for id in &ids {
        sqlx::query("INSERT INTO floor_records VALUES ($1, 1, $2, 0)")
            .bind(id)
            .bind(vec![0xa5_u8; size])
            .execute(pool)
            .await?;
    }
    Ok(ids)
}
