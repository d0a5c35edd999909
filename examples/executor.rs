//! What argon2id does to everyone else's requests: on a tokio runtime with
//! two worker threads, N tasks keep checking passwords (a sign-in form
//! under load; each check is an argon2id computation at OWASP's cost,
//! 19 MiB and 2 passes), while one task measures `verify_login` (a code
//! from an authenticator app, on the memory store) arriving 2 ms after the
//! last one ended; its latency counts from its arrival, so the time it
//! waits for a worker thread is in it.
//!
//! ```text
//! cargo run --release --example executor -- --checkers 8 --seconds 10
//! ```
//!
//! Three runs, one after the other in one process: `alone` (no password
//! checks: the floor), `inline` (the checks run on the executor's worker
//! threads, as with the `Inline` offload) and `pool` (the default: tokio's
//! blocking pool, at most `--bound` at once). Prints, for each, the
//! latency of `verify_login` at p50 / p99 / max from each request's
//! arrival (the tokio timer's ~1 ms tick is in every run alike), the p99 of
//! the call alone once polled, and the password checks
//! done per second.

use std::error::Error;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use twofactor::secrecy::SecretString;
use twofactor::testing::Authenticator;
use twofactor::{
    Account, Argon2Passwords, Clock, Inline, MasterKey, MemoryStore, NewMethod, Offload, Policy,
    Setup, SystemClock, TokioBlocking, TwoFactor, Verdict,
};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

struct Args {
    checkers: usize,
    seconds: u64,
    bound: usize,
}

fn args() -> Result<Args> {
    let mut a = Args {
        checkers: 8,
        seconds: 10,
        bound: 2,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--checkers" => a.checkers = value.parse()?,
            "--seconds" => a.seconds = value.parse()?,
            "--bound" => a.bound = value.parse()?,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    Ok(a)
}

/// One run's figures.
struct Figures {
    p50: Duration,
    p99: Duration,
    max: Duration,
    /// p99 of the call alone, from the first poll to its answer.
    call_p99: Duration,
    samples: usize,
    checks_per_second: f64,
}

/// A service whose only account has the app on; the account, and a code
/// that is wrong now (so every verification does the whole TOTP path and
/// is never a replay: the lockout is lifted out of reach).
async fn service(
    passwords: &Argon2Passwords,
    offload: Arc<dyn Offload>,
) -> Result<(TwoFactor, Account, String)> {
    let policy = Policy::default()
        .dangerous_lockout_threshold(u32::MAX)
        .dangerous_daily_failures(u32::MAX);
    let tf = TwoFactor::builder()
        .issuer("Acme Portal")
        .key(MasterKey::generate()?)
        .store(MemoryStore::new())
        .passwords(passwords.clone())
        .offload(offload)
        .policy(policy)
        .build()?;
    let alice = Account::new("alice", "alice@example.com");
    let pw = SecretString::from("correct horse battery staple");
    passwords.set("alice", &pw)?;
    let Verdict::Accepted(Setup::App(setup)) = tf.begin_setup(&alice, NewMethod::App, &pw).await?
    else {
        return Err("setup refused".into());
    };
    let app = Authenticator::from_setup(&setup)?;
    let now = SystemClock.now();
    if !tf
        .confirm_setup(&alice, &app.code_at(now))
        .await?
        .is_accepted()
    {
        return Err("confirm refused".into());
    }
    Ok((tf, alice, app.wrong_code_at(now)))
}

async fn measure(
    passwords: Argon2Passwords,
    offload: Arc<dyn Offload>,
    checkers: usize,
    seconds: u64,
) -> Result<Figures> {
    let (tf, alice, wrong) = service(&passwords, offload).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let checks = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..checkers {
        let (passwords, stop, checks) = (passwords.clone(), stop.clone(), checks.clone());
        tasks.push(tokio::spawn(async move {
            let pw = SecretString::from("a wrong password");
            while !stop.load(Ordering::Relaxed) {
                let _ = passwords.check("alice", &pw).await;
                checks.fetch_add(1, Ordering::Relaxed);
                // A server's request ends here and the next one is another
                // task: let the worker poll something else.
                tokio::task::yield_now().await;
            }
        }));
    }
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    // The measuring task runs on the workers too, like any request.
    let measurer = tokio::spawn(async move {
        let mut latencies = Vec::new();
        let mut calls = Vec::new();
        while Instant::now() < end {
            // A request arrives 2 ms after the last one ended; its latency
            // runs from its arrival, so time spent waiting for a worker
            // counts, as it would for a user.
            let arrival = tokio::time::Instant::now() + Duration::from_millis(2);
            tokio::time::sleep_until(arrival).await;
            let polled = Instant::now();
            let verdict = tf
                .verify_login(&alice, &wrong, None)
                .await
                .map_err(|e| e.to_string())?;
            calls.push(polled.elapsed());
            latencies.push(arrival.elapsed());
            if verdict.is_accepted() {
                return Err("a wrong code was accepted".to_string());
            }
        }
        Ok((latencies, calls))
    });
    let measured = measurer.await;
    stop.store(true, Ordering::Relaxed);
    let (mut latencies, mut calls) = measured?.map_err(|e| e.to_string())?;
    let elapsed = start.elapsed().as_secs_f64();
    for task in tasks {
        task.await?;
    }
    latencies.sort();
    calls.sort();
    let at = |v: &[Duration], q: f64| {
        let i = ((v.len() as f64 - 1.0) * q).round() as usize;
        v.get(i).copied().unwrap_or_default()
    };
    Ok(Figures {
        p50: at(&latencies, 0.50),
        p99: at(&latencies, 0.99),
        call_p99: at(&calls, 0.99),
        max: latencies.last().copied().unwrap_or_default(),
        samples: latencies.len(),
        checks_per_second: checks.load(Ordering::Relaxed) as f64 / elapsed,
    })
}

fn main() -> Result<()> {
    let a = args()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    println!(
        "verify_login on a 2-worker runtime, {} s per run, {} password-checking tasks",
        a.seconds, a.checkers
    );
    println!(
        "{:<8} {:>10} {:>10} {:>10} {:>10} {:>8} {:>10}",
        "run", "p50", "p99", "max", "call p99", "samples", "checks/s"
    );
    let runs: [(&str, usize, Arc<dyn Offload>); 3] = [
        ("alone", 0, Arc::new(TokioBlocking::new(a.bound))),
        ("inline", a.checkers, Arc::new(Inline)),
        ("pool", a.checkers, Arc::new(TokioBlocking::new(a.bound))),
    ];
    for (name, checkers, offload) in runs {
        let passwords = Argon2Passwords::new()?.offload(offload.clone());
        let f = runtime.block_on(measure(passwords, offload, checkers, a.seconds))?;
        println!(
            "{:<8} {:>10.1?} {:>10.1?} {:>10.1?} {:>10.1?} {:>8} {:>10.1}",
            name, f.p50, f.p99, f.max, f.call_p99, f.samples, f.checks_per_second
        );
    }
    Ok(())
}
