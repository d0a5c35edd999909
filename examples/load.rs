//! Throughput of `verify_login`: N tasks over M accounts, against memory,
//! SQLite or PostgreSQL. Each verification is a well-formed wrong code
//! (six digits, not the current code) under an unlimited lockout, so each
//! one loads, unseals, computes the whole TOTP window, counts the failure
//! and saves.
//!
//! ```text
//! cargo run --release --example load -- --tasks 16 --accounts 100 --seconds 10
//! cargo run --release --features sqlite --example load -- --store sqlite --db /tmp/load.db
//! cargo run --release --features postgres --example load -- --store postgres --url postgres://…
//! ```
//! Prints p50, p99 and verifications per second. `--malformed` submits
//! `"0"` instead, which is refused on its length before any unsealing or
//! HMAC: a load and a save, what this tool measured before 0.2.
//!
//! `--hot H` adds H more tasks that all come from one source (one IP
//! address), guessing wrong codes on accounts of their own, to see what one
//! hammering client does to everyone else: `--hot-mode throttled` (the
//! default policy: the source is throttled after its limit and then costs
//! no store round trip) or `--hot-mode busy` (the source's limit raised out
//! of reach, so every one of its guesses writes its counter: one key as hot
//! as it gets), or `--hot-mode plain` (the same tasks with no source: as
//! much load, no hot key, to compare with). Each of those tasks yields
//! between attempts, as separate requests would. The figures printed are
//! the N ordinary tasks'.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use twofactor::{MasterKey, MemoryStore, TwoFactor, TwoFactorBuilder};

#[path = "support/guessing.rs"]
mod guessing;

use guessing::{percentile, unlocked_policy, Anyone, Result};

/// A prime stride, so that each task walks all accounts in its own order.
const STRIDE: usize = 7919;

struct Args {
    store: String,
    tasks: usize,
    accounts: usize,
    seconds: u64,
    db: String,
    url: String,
    hot: usize,
    hot_mode: String,
    /// Submit "0" (refused on its length, before any unsealing or HMAC)
    /// instead of a well-formed wrong code: what this tool measured before.
    malformed: bool,
}

fn args() -> Result<Args> {
    let mut a = Args {
        store: "memory".into(),
        tasks: 16,
        accounts: 100,
        seconds: 10,
        db: "/tmp/twofactor-load.db".into(),
        url: std::env::var("TWOFACTOR_POSTGRES_URL").unwrap_or_default(),
        hot: 0,
        hot_mode: "throttled".into(),
        malformed: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--store" => a.store = value()?,
            "--tasks" => a.tasks = value()?.parse()?,
            "--accounts" => a.accounts = value()?.parse()?,
            "--seconds" => a.seconds = value()?.parse()?,
            "--db" => a.db = value()?,
            "--url" => a.url = value()?,
            "--hot" => a.hot = value()?.parse()?,
            "--hot-mode" => a.hot_mode = value()?,
            "--malformed" => a.malformed = true,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    if a.tasks == 0 || a.accounts == 0 {
        return Err("--tasks and --accounts must be at least 1".into());
    }
    Ok(a)
}

async fn store(builder: TwoFactorBuilder, a: &Args) -> Result<TwoFactorBuilder> {
    Ok(match a.store.as_str() {
        "memory" => builder.store(MemoryStore::new()),
        #[cfg(feature = "sqlite")]
        "sqlite" => builder.store(twofactor::SqliteStore::open(&a.db).await?),
        #[cfg(feature = "postgres")]
        "postgres" => {
            let pool = (a.tasks + a.hot).min(64) as u32;
            let s = twofactor::PostgresStore::connect(&a.url, pool).await?;
            s.migrate().await?;
            builder.store(s)
        }
        other => {
            return Err(
                format!("store {other:?}: memory, or sqlite/postgres with that feature").into(),
            )
        }
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = args()?;
    let mut policy = unlocked_policy();
    match a.hot_mode.as_str() {
        "throttled" | "plain" => {}
        "busy" => {
            policy.limits.source_failures_per_hour = u32::MAX;
            policy.limits.source_failures_per_day = u32::MAX;
        }
        other => return Err(format!("--hot-mode {other:?}: throttled, busy or plain").into()),
    }
    let builder = TwoFactor::builder()
        .issuer("Load")
        .key(MasterKey::generate()?)
        .passwords(Anyone)
        .policy(policy);
    let tf = store(builder, &a).await?.build()?;

    print!("setting up {} accounts… ", a.accounts + a.hot);
    std::io::stdout().flush()?;
    let mut accounts = guessing::accounts(&tf, "load", a.accounts + a.hot, a.malformed).await?;
    println!("done");

    let hot_accounts = Arc::new(accounts.split_off(a.accounts));
    let accounts = Arc::new(accounts);
    let done = Arc::new(AtomicU64::new(0));
    let hot_done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(a.seconds);
    let started = Instant::now();
    // one client hammering from one address
    let hot_source = std::net::IpAddr::from([203, 0, 113, 66]);
    let hammers: Vec<_> = (0..a.hot)
        .map(|t| {
            let tf = match a.hot_mode.as_str() {
                "plain" => tf.clone(),
                _ => tf.with_source(hot_source),
            };
            let (accounts, done) = (hot_accounts.clone(), hot_done.clone());
            tokio::spawn(async move {
                let mut i = t;
                while Instant::now() < deadline {
                    let Some(account) = accounts.get(i % accounts.len()) else {
                        return Err("no account".to_owned());
                    };
                    let wrong = account.wrong_code();
                    let verdict = tf
                        .verify_login(&account.account, wrong.as_str(), None)
                        .await;
                    if verdict.is_err() {
                        return Err(format!("{verdict:?}"));
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                    i += STRIDE;
                    // another request: let the others run
                    tokio::task::yield_now().await;
                }
                Ok(())
            })
        })
        .collect();
    let yielding = a.hot > 0;
    let workers: Vec<_> = (0..a.tasks)
        .map(|t| {
            let (tf, accounts, done) = (tf.clone(), accounts.clone(), done.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut i = t;
                while Instant::now() < deadline {
                    let Some(account) = accounts.get(i % accounts.len()) else {
                        return Err("no account".to_owned());
                    };
                    let wrong = account.wrong_code();
                    let start = Instant::now();
                    // six digits that are not the code: the whole check runs, and a failure is saved
                    let verdict = tf
                        .verify_login(&account.account, wrong.as_str(), None)
                        .await;
                    latencies.push(start.elapsed());
                    if verdict.is_err() {
                        return Err(format!("{verdict:?}"));
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                    i += STRIDE;
                    if yielding {
                        // beside the hot tasks, take turns as they do
                        tokio::task::yield_now().await;
                    }
                }
                Ok(latencies)
            })
        })
        .collect();

    // a progress bar, on one line
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let elapsed = started.elapsed().as_secs_f64();
        let frac = (elapsed / a.seconds as f64).min(1.0);
        let width = 30;
        let filled = (frac * width as f64) as usize;
        print!(
            "\r[{}{}] {:>4.1}s {:>9} verifies",
            "#".repeat(filled),
            " ".repeat(width - filled),
            elapsed,
            done.load(Ordering::Relaxed)
        );
        std::io::stdout().flush()?;
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await??);
    }
    for h in hammers {
        h.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    if all.is_empty() {
        return Err("no verification finished".into());
    }
    let pct = |p: f64| percentile(&all, p);
    println!(
        "\n{} store, {} tasks, {} accounts: {} verifies in {:.1} s = {:.0}/s; p50 {:?}, p99 {:?}",
        a.store,
        a.tasks,
        a.accounts,
        all.len(),
        elapsed,
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99)
    );
    if a.hot > 0 {
        let hot = hot_done.load(Ordering::Relaxed);
        println!(
            "hot source ({} tasks, {}): {} attempts = {:.0}/s",
            a.hot,
            a.hot_mode,
            hot,
            hot as f64 / elapsed
        );
    }
    Ok(())
}
