//! PostgreSQL failing under load from several app instances: connections
//! killed again and again, the server restarted, statements that hang. A
//! slow or failing store never turns into an accepted replay, a lost
//! failure count or a half-made change: calls fail with a transient
//! `Error::Store` while it is down, and the pools recover by themselves.
//! Each test writes what happened (requests, errors by kind, codes
//! accepted, replays accepted) to `faults-report.txt` in cargo's test
//! temporary directory; `scripts/test` prints it.

#![cfg(feature = "postgres")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::{BTreeMap, HashSet};
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::race::*;
use common::*;
use sqlx::Connection as _;
use twofactor::{Error, PostgresOptions, PostgresStore, Verdict};

/// The fault tests take the whole database in turn: one kills every
/// other connection to it.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Four instances, each with its own small pool.
async fn farm(options: PostgresOptions) -> Farm {
    let url = postgres_url();
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(
            PostgresStore::connect_with(&url, options.clone())
                .await
                .unwrap(),
        );
    }
    stores[0].migrate().await.unwrap();
    // no lockout in reach: the replay account's refused codes must not
    // lock it, and a guesser's counts stay visible in `attempts_left`
    let policy = policy()
        .dangerous_lockout_threshold(1_000_000)
        .dangerous_daily_failures(1_000_000);
    Farm::over(Harness::new(), stores, policy)
}

/// What a load saw.
#[derive(Default, Debug)]
struct Tally {
    requests: u64,
    accepted: u64,
    replays_accepted: u64,
    rejected: u64,
    errors: BTreeMap<&'static str, u64>,
}

impl Tally {
    fn error(&mut self, e: &Error) {
        let kind = match e {
            Error::Store(p) if p.is_transient() => "store (transient)",
            Error::Store(_) => "store (permanent)",
            Error::Contention => "contention",
            _ => "other",
        };
        *self.errors.entry(kind).or_default() += 1;
    }

    fn errors(&self) -> u64 {
        self.errors.values().sum()
    }

    fn only_transient(&self) -> bool {
        self.errors.keys().all(|k| *k == "store (transient)")
    }
}

fn report(test: &str, faults: &str, tally: &Tally) {
    let line = format!(
        "{test}: {faults}; {} requests, {} accepted, {} replays accepted, {} rejected \
         (counted), errors {:?}",
        tally.requests, tally.accepted, tally.replays_accepted, tally.rejected, tally.errors
    );
    println!("{line}");
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("faults-report.txt");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    writeln!(file, "{line}").unwrap();
}

/// The accounts a load works on, set up before any fault: one whose
/// codes are replayed, and one fresh account per round to guess on.
struct Accounts {
    replay: twofactor::Account,
    app: App,
    guessers: Vec<(twofactor::Account, App)>,
}

async fn accounts(farm: &Farm, tag: &str, rounds: usize) -> Accounts {
    let replay = farm.user(&format!("{tag}-replay"));
    let app = farm.h.set_up_app(&farm.servers[0], &replay).await;
    let mut guessers = Vec::new();
    for round in 0..rounds {
        let guesser = farm.user(&format!("{tag}-guess-{round}"));
        let guessed = farm.h.set_up_app(&farm.servers[0], &guesser).await;
        guessers.push((guesser, guessed));
    }
    Accounts {
        replay,
        app,
        guessers,
    }
}

/// Rounds of load over the farm, one per guessing account, until `stop`
/// says so: each round moves the clock a step on, and 16 concurrent
/// requests over the instances submit the new code of the replay account
/// and its previous code (no step is accepted twice: the previous code is
/// accepted only when its round accepted none), and wrong codes on the
/// round's account (every one evaluated is counted: no two see the same
/// count).
async fn load(farm: &Farm, accounts: &Accounts, stop: impl Fn() -> bool) -> Tally {
    let mut tally = Tally::default();
    let mut accepted_steps = HashSet::new();
    for (guesser, guessed) in &accounts.guessers {
        if stop() {
            break;
        }
        farm.h.advance(30);
        let now = farm.h.now();
        let app = &accounts.app;
        let (code, previous) = (app.code(now), app.code(now - 30));
        let wrong = guessed.wrong_code(now);
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let tf = farm.servers[i % farm.servers.len()].clone();
                let (replay, guesser) = (accounts.replay.clone(), guesser.clone());
                let submitted = match i % 4 {
                    0 | 3 => (now / 30, code.clone(), replay),
                    1 => (now / 30 - 1, previous.clone(), replay),
                    _ => (0, wrong.clone(), guesser),
                };
                tokio::spawn(async move {
                    let (step, code, account) = submitted;
                    (step, tf.verify_login(&account, &code, None).await)
                })
            })
            .collect();
        let mut left_seen = HashSet::new();
        for t in tasks {
            let (step, verdict) = t.await.unwrap();
            tally.requests += 1;
            match verdict {
                Err(e) => tally.error(&e),
                Ok(Verdict::Accepted(_)) => {
                    tally.accepted += 1;
                    assert_ne!(step, 0, "a wrong code was accepted");
                    // a step accepted twice is a replay
                    if !accepted_steps.insert(step) {
                        tally.replays_accepted += 1;
                    }
                }
                Ok(Verdict::Rejected { attempts_left, .. }) => {
                    tally.rejected += 1;
                    if step == 0 {
                        // each evaluated failure saw its own count
                        assert!(
                            left_seen.insert(attempts_left),
                            "count {attempts_left} seen twice"
                        );
                    }
                }
                Ok(other) => panic!("{other:?}"),
            }
        }
    }
    tally
}

/// Terminates every other backend on the database, every `every`, until
/// `stop`; how many it terminated.
async fn killer(every: Duration, stop: Arc<AtomicBool>) -> u64 {
    let mut conn = sqlx::PgConnection::connect(&postgres_url()).await.unwrap();
    let mut killed = 0;
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(every).await;
        let (n,): (i64,) = sqlx::query_as(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
             AND backend_type = 'client backend'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        killed += n as u64;
    }
    killed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connections_killed_again_and_again_never_let_a_replay_or_a_lost_count_through() {
    let _one = ONE_AT_A_TIME.lock().await;
    let farm = farm(PostgresOptions::default().max_connections(4)).await;
    let during = accounts(&farm, "during", 40).await;
    let clean = accounts(&farm, "after", 3).await;
    let stop = Arc::new(AtomicBool::new(false));
    let kills = tokio::spawn(killer(Duration::from_millis(40), stop.clone()));
    let tally = load(&farm, &during, || false).await;
    stop.store(true, Ordering::Relaxed);
    let killed = kills.await.unwrap();
    // the pools recover by themselves: clean rounds after the kills
    let after = load(&farm, &clean, || false).await;
    report(
        "connections killed",
        &format!("{killed} backends terminated, every 40 ms"),
        &tally,
    );
    // the pools' connections, the only ones on the database, were killed
    // again and again, made anew each time, and the calls went on
    assert!(killed > 50, "{killed} terminated");
    assert_eq!(tally.replays_accepted, 0);
    assert!(tally.only_transient(), "{:?}", tally.errors);
    assert!(tally.accepted > 0 && tally.rejected > 0, "{tally:?}");
    assert_eq!(after.errors(), 0, "{after:?}");
    assert_eq!(after.replays_accepted, 0);
    // one a round, and in the first also the code of the step before
    // it, which nothing had used yet
    assert!((3..=4).contains(&after.accepted), "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_restart_mid_load_fails_calls_as_transient_and_the_pools_recover() {
    let _one = ONE_AT_A_TIME.lock().await;
    let restart = std::env::var("TWOFACTOR_PG_RESTART").unwrap_or_else(|_| {
        panic!(
            "TWOFACTOR_PG_RESTART is not set: this test restarts the server, which only the \
             throwaway one of `bash scripts/test` allows"
        )
    });
    // calls give up after 1 s, so the 3 s the server is down are felt
    let farm = farm(
        PostgresOptions::default()
            .max_connections(4)
            .timeout(Duration::from_secs(1)),
    )
    .await;
    let during = accounts(&farm, "during", 200).await;
    let clean = accounts(&farm, "after", 3).await;
    let restarted = Arc::new(AtomicU64::new(0));
    let r = restarted.clone();
    let restarter = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(500));
        let status = std::process::Command::new(&restart)
            .arg("3")
            .status()
            .unwrap();
        assert!(status.success(), "restart failed");
        r.store(1, Ordering::Relaxed);
    });
    let started = Instant::now();
    // load until well after the restart
    let tally = load(&farm, &during, || {
        restarted.load(Ordering::Relaxed) == 1 && started.elapsed() > Duration::from_secs(3)
    })
    .await;
    restarter.await.unwrap();
    let after = load(&farm, &clean, || false).await;
    report(
        "server restarted",
        "stopped mid-load, down for 3 s, started",
        &tally,
    );
    assert_eq!(tally.replays_accepted, 0);
    assert!(tally.only_transient(), "{:?}", tally.errors);
    assert!(
        tally.errors() > 0,
        "no call failed: the restart was not felt"
    );
    assert_eq!(after.errors(), 0, "{after:?}");
    // one a round, and in the first also the code of the step before
    // it, which nothing had used yet
    assert!((3..=4).contains(&after.accepted), "{after:?}");
}

/// A row locked by another transaction makes the store's save wait.
async fn lock_row(user: &str) -> sqlx::PgConnection {
    let mut conn = sqlx::PgConnection::connect(&postgres_url()).await.unwrap();
    sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
    sqlx::query("SELECT 1 FROM twofactor_records WHERE user_id = $1 FOR UPDATE")
        .bind(user)
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hanging_statement_is_bounded_and_fails_as_transient() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut tally = Tally::default();
    // the server's statement_timeout, and the store's own timeout
    for (name, options) in [
        (
            "statement_timeout 300 ms",
            PostgresOptions::default().statement_timeout(Duration::from_millis(300)),
        ),
        (
            "store timeout 300 ms",
            PostgresOptions::default()
                .statement_timeout(Duration::from_secs(60))
                .timeout(Duration::from_millis(300)),
        ),
    ] {
        let farm = farm(options.max_connections(2)).await;
        let account = farm.user("hang");
        let app = farm.h.set_up_app(&farm.servers[0], &account).await;
        let now = farm.h.now();
        let Verdict::Rejected {
            attempts_left: before,
            ..
        } = farm.servers[0]
            .verify_login(&account, &app.wrong_code(now), None)
            .await
            .unwrap()
        else {
            panic!("a wrong code was not refused")
        };
        tally.requests += 1;
        tally.rejected += 1;
        let mut lock = lock_row(account.id()).await;
        let started = Instant::now();
        let v = farm.servers[0]
            .verify_login(&account, &app.wrong_code(now), None)
            .await;
        let waited = started.elapsed();
        tally.requests += 1;
        match &v {
            Err(e) => tally.error(e),
            Ok(other) => panic!("{name}: {other:?}"),
        }
        assert!(waited < Duration::from_secs(5), "{name}: waited {waited:?}");
        sqlx::query("ROLLBACK").execute(&mut lock).await.unwrap();
        // the next call works, on the same pool; the failure that timed out
        // may have been counted (never lost, never counted twice)
        match farm.servers[0]
            .verify_login(&account, &app.wrong_code(now), None)
            .await
            .unwrap()
        {
            Verdict::Rejected { attempts_left, .. } => {
                tally.rejected += 1;
                assert!(
                    attempts_left + 1 == before || attempts_left + 2 == before,
                    "{name}: {before} then {attempts_left}"
                );
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    report("hanging statements", "a row held locked, twice", &tally);
    assert!(tally.only_transient(), "{:?}", tally.errors);
    assert_eq!(tally.errors(), 2);
}
