//! A process killed (SIGKILL) while it writes leaves every record of the
//! SQLite store readable: the test starts itself again as a child that
//! verifies wrong codes as fast as it can (each one a compare-and-swap
//! save through the store's writer), kills it mid-write three times, and
//! after each kill checks the file's integrity and reads, unseals and
//! checks every account. Runs without the test harness, as its own child.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::BufRead;
use std::process::{Command, Stdio};

use twofactor::secrecy::{ExposeSecret, SecretString};
use twofactor::testing::Authenticator;
use twofactor::{
    Account, Clock, MasterKey, NewMethod, PasswordCheck, Policy, PortError, Setup, SqliteStore,
    SystemClock, TwoFactor, Verdict,
};

const ACCOUNTS: usize = 20;
const ROUNDS: usize = 3;

struct Anyone;

#[twofactor::async_trait]
impl PasswordCheck for Anyone {
    async fn verify(&self, _: &Account, _: &SecretString) -> Result<bool, PortError> {
        Ok(true)
    }
}

fn service(store: SqliteStore, key: &str) -> TwoFactor {
    let mut policy = Policy::default()
        .dangerous_lockout_threshold(u32::MAX)
        .dangerous_daily_failures(u32::MAX);
    policy.recovery.memory_kib = 64;
    policy.recovery.passes = 1;
    TwoFactor::builder()
        .issuer("Crash")
        .key(MasterKey::from_base64(key).unwrap())
        .passwords(Anyone)
        .policy(policy)
        .store(store)
        .build()
        .unwrap()
}

fn account(i: usize) -> Account {
    Account::new(format!("crash-{i}"), "crash@example.com")
}

/// The child: wrong codes on every account, round and round, printing a
/// line every 50 saves, until it is killed.
async fn child(path: &str, key: &str) {
    let tf = service(SqliteStore::open(path).await.unwrap(), key);
    let mut done = 0u64;
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        for i in 0..ACCOUNTS {
            let tf = tf.clone();
            tasks.spawn(async move { tf.verify_login(&account(i), "000000", None).await });
        }
        while let Some(verdict) = tasks.join_next().await {
            let _refused = verdict.unwrap().unwrap();
            done += 1;
            if done % 50 == 0 {
                println!("{done}");
            }
        }
    }
}

async fn parent() -> u32 {
    let dir = std::env::temp_dir().join(format!("twofactor-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("crash.db");
    let path = path.to_str().unwrap().to_owned();
    let key = MasterKey::generate().unwrap().to_base64();
    let key = key.expose_secret().to_owned();
    let mut apps = Vec::new();
    {
        let tf = service(SqliteStore::open(&path).await.unwrap(), &key);
        for i in 0..ACCOUNTS {
            let Verdict::Accepted(Setup::App(s)) = tf
                .begin_setup(&account(i), NewMethod::App, &SecretString::from("x"))
                .await
                .unwrap()
            else {
                panic!("setup refused")
            };
            let app = Authenticator::from_setup(&s).unwrap();
            let code = app.code_at(SystemClock.now());
            assert!(tf
                .confirm_setup(&account(i), &code)
                .await
                .unwrap()
                .is_accepted());
            apps.push(app);
        }
    }
    let mut failed = 0;
    for round in 1..=ROUNDS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env("TWOFACTOR_CRASH_CHILD", format!("{path}\n{key}"))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        // let it write a while (a different amount each round), then kill it
        let mut saves = 0u64;
        while saves < 200 * round as u64 {
            saves = lines.next().unwrap().unwrap().parse().unwrap();
        }
        child.kill().unwrap(); // SIGKILL: no destructor, no rollback
        child.wait().unwrap();

        let store = SqliteStore::open(&path).await.unwrap();
        let (integrity,): (String,) = sqlx::query_as("PRAGMA integrity_check")
            .fetch_one(store.pool())
            .await
            .unwrap();
        let tf = service(store, &key);
        let mut readable = 0;
        for (i, app) in apps.iter().enumerate() {
            // read, unsealed, checked and saved again: a wrong code is refused
            let wrong = app.wrong_code_at(SystemClock.now());
            match tf.verify_login(&account(i), wrong.as_str(), None).await {
                Ok(v) if !v.is_accepted() => readable += 1,
                other => println!("  account {i}: {other:?}"),
            }
        }
        let ok = integrity == "ok" && readable == ACCOUNTS;
        println!(
            "test sqlite_killed_mid_write_round_{round} ... {} (killed after {saves}+ saves; \
             integrity {integrity}; {readable}/{ACCOUNTS} records readable)",
            if ok { "ok" } else { "FAILED" }
        );
        if !ok {
            failed += 1;
        }
    }
    // and the right code still signs in (the next step's: the current
    // one was used to confirm the set-up moments ago)
    let tf = service(SqliteStore::open(&path).await.unwrap(), &key);
    let next = twofactor::Timestamp::from_unix_seconds(SystemClock.now().unix_seconds() + 30);
    let code = apps[0].code_at(next);
    let signed_in = tf
        .verify_login(&account(0), code.as_str(), None)
        .await
        .unwrap()
        .is_accepted();
    println!(
        "test sqlite_right_code_after_kills ... {}",
        if signed_in { "ok" } else { "FAILED" }
    );
    if !signed_in {
        failed += 1;
    }
    let _ = std::fs::remove_dir_all(&dir);
    failed
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if let Ok(child_args) = std::env::var("TWOFACTOR_CRASH_CHILD") {
        let (path, key) = child_args.split_once('\n').unwrap();
        runtime.block_on(child(path, key));
        return;
    }
    // `cargo test -- --list` and filters: this binary is one test
    if std::env::args().any(|a| a == "--list") {
        println!("sqlite_crash: test");
        return;
    }
    let failed = runtime.block_on(parent());
    println!(
        "\ntest result: {}. {} passed; {failed} failed",
        if failed == 0 { "ok" } else { "FAILED" },
        ROUNDS as u32 + 1 - failed
    );
    if failed > 0 {
        std::process::exit(1);
    }
}
