//! Many app servers, one store: a code is accepted once, and every failed
//! attempt is counted, however requests race.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use common::*;
use tokio::sync::Barrier;
use twofactor::{
    Account, EventKind, Listed, MemoryStore, PortError, SaveOutcome, Stored, TwoFactor, UserStore,
    Verdict,
};

const INSTANCES: usize = 8;
const TASKS: usize = 64;

/// The shared store, yielding to other tasks inside every call so that
/// requests interleave between load and save, and counting lost races.
#[derive(Clone)]
struct Interleaving {
    inner: MemoryStore,
    conflicts: Arc<AtomicU64>,
}

#[async_trait]
impl UserStore for Interleaving {
    async fn load(&self, user: &str) -> Result<Option<Stored>, PortError> {
        tokio::task::yield_now().await;
        self.inner.load(user).await
    }
    async fn save(&self, user: &str, doc: &[u8], expected: u64) -> Result<SaveOutcome, PortError> {
        tokio::task::yield_now().await;
        let outcome = self.inner.save(user, doc, expected).await?;
        if outcome == SaveOutcome::Conflict {
            self.conflicts.fetch_add(1, Ordering::Relaxed);
        }
        Ok(outcome)
    }
    async fn delete(&self, user: &str) -> Result<bool, PortError> {
        self.inner.delete(user).await
    }
    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<Listed>, PortError> {
        self.inner.list(after, limit).await
    }
}

struct Farm {
    h: Harness,
    store: Interleaving,
    servers: Vec<TwoFactor>,
}

impl Farm {
    fn new() -> Self {
        Self::with_policy(policy())
    }

    fn with_policy(policy: twofactor::Policy) -> Self {
        let h = Harness::new();
        let store = Interleaving {
            inner: h.store.clone(),
            conflicts: Arc::new(AtomicU64::new(0)),
        };
        let servers = (0..INSTANCES)
            .map(|_| {
                h.builder()
                    .store(store.clone())
                    .passwords(ArcPasswords(h.passwords.clone()))
                    .email(h.outbox.clone())
                    .policy(policy.clone())
                    .build()
                    .unwrap()
            })
            .collect();
        Self { h, store, servers }
    }

    /// `TASKS` tasks, spread over the servers, submit `code(i)` at once.
    async fn storm(&self, account: &Account, code: impl Fn(usize) -> String) -> Vec<Verdict<()>> {
        self.storm_of(TASKS, account, code).await
    }

    /// `n` tasks, spread over the servers, submit `code(i)` at once.
    async fn storm_of(
        &self,
        n: usize,
        account: &Account,
        code: impl Fn(usize) -> String,
    ) -> Vec<Verdict<()>> {
        let barrier = Arc::new(Barrier::new(n));
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let tf = self.servers[i % INSTANCES].clone();
                let account = account.clone();
                let barrier = barrier.clone();
                let code = code(i);
                tokio::spawn(async move {
                    barrier.wait().await;
                    match tf.verify_login(&account, &code, None).await.unwrap() {
                        Verdict::Accepted(_) => Verdict::Accepted(()),
                        Verdict::Rejected { attempts_left } => Verdict::Rejected { attempts_left },
                        Verdict::LockedOut { until } => Verdict::LockedOut { until },
                    }
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }
}

fn tally(verdicts: &[Verdict<()>]) -> (usize, Vec<u32>, usize) {
    let accepted = verdicts.iter().filter(|v| v.is_accepted()).count();
    let mut left: Vec<u32> = verdicts
        .iter()
        .filter_map(|v| match v {
            Verdict::Rejected { attempts_left } => Some(*attempts_left),
            _ => None,
        })
        .collect();
    left.sort_unstable();
    let locked = verdicts
        .iter()
        .filter(|v| matches!(v, Verdict::LockedOut { .. }))
        .count();
    (accepted, left, locked)
}

/// 200 rounds: 64 concurrent submissions of one valid code over 8 servers;
/// exactly one is accepted, and the refusals are counted like serial ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_valid_code_is_accepted_exactly_once() {
    let farm = Farm::new();
    for round in 0..200 {
        let account = farm.h.account(&format!("user-{round}"));
        let app = farm
            .h
            .enrol(&farm.servers[round % INSTANCES], &account)
            .await;
        farm.h.advance(30);
        let code = app.code(farm.h.now());
        let before = farm.h.events.count(EventKind::LoginRejected);

        let verdicts = farm.storm(&account, |_| code.clone()).await;

        let (accepted, left, locked) = tally(&verdicts);
        assert_eq!(accepted, 1, "round {round}: {verdicts:?}");
        // after the one acceptance, each replay is a counted failure: four
        // rejections, the fifth locks, and the rest are not evaluated
        assert_eq!(left, [1, 2, 3, 4], "round {round}");
        assert_eq!(locked, TASKS - 5, "round {round}");
        assert_eq!(farm.h.events.count(EventKind::LoginRejected) - before, 5);
    }
    assert_eq!(farm.h.events.count(EventKind::LoginAccepted), 200);
    assert!(
        farm.store.conflicts.load(Ordering::Relaxed) > 0,
        "the requests never raced, so the test proved nothing"
    );
}

/// 100 rounds: 64 concurrent submissions of one emailed login code over 8
/// servers; exactly one is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_emailed_code_is_accepted_exactly_once() {
    let farm = Farm::new();
    for round in 0..100 {
        let account = farm.h.account(&format!("user-{round}"));
        let tf = &farm.servers[round % INSTANCES];
        let setup = tf
            .begin_setup(&account, twofactor::NewMethod::Email, &password())
            .await;
        assert!(setup.unwrap().is_accepted());
        assert!(tf
            .confirm_setup(&account, &farm.h.last_code())
            .await
            .unwrap()
            .is_accepted());
        farm.h.advance(30);
        let _ = farm.servers[(round + 1) % INSTANCES]
            .begin_login(&account, None)
            .await
            .unwrap();
        let code = farm.h.last_code();

        let verdicts = farm.storm(&account, |_| code.clone()).await;

        let (accepted, left, locked) = tally(&verdicts);
        assert_eq!(accepted, 1, "round {round}: {verdicts:?}");
        assert_eq!(left, [1, 2, 3, 4], "round {round}");
        assert_eq!(locked, TASKS - 5, "round {round}");
    }
    assert!(farm.store.conflicts.load(Ordering::Relaxed) > 0);
}

/// 50 rounds: 32 concurrent uses of one recovery code over 8 servers;
/// exactly one is accepted, and the code is spent.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_recovery_code_is_accepted_exactly_once() {
    let farm = Farm::new();
    for round in 0..50 {
        let account = farm.h.account(&format!("user-{round}"));
        let tf = &farm.servers[round % INSTANCES];
        let app = farm.h.begin(tf, &account).await;
        let on = tf
            .confirm_setup(&account, &app.code(farm.h.now()))
            .await
            .unwrap();
        let codes = on.accepted().unwrap().recovery_codes.unwrap();
        let code = secrecy::ExposeSecret::expose_secret(&codes.codes()[round % 10]).to_owned();

        let verdicts = farm.storm_of(32, &account, |_| code.clone()).await;

        let (accepted, left, locked) = tally(&verdicts);
        assert_eq!(accepted, 1, "round {round}: {verdicts:?}");
        assert_eq!(left, [1, 2, 3, 4], "round {round}");
        assert_eq!(locked, 32 - 5, "round {round}");
        let status = farm.servers[0].status(&account).await.unwrap();
        assert!(matches!(
            status,
            twofactor::Status::On {
                recovery_codes_left: 9,
                ..
            }
        ));
        farm.h.advance(30);
    }
    assert!(farm.store.conflicts.load(Ordering::Relaxed) > 0);
}

/// 64 concurrent wrong codes: every evaluated one is counted, so parallel
/// guessing locks the account as soon as serial guessing would.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_codes_are_all_counted() {
    let farm = Farm::new();
    for round in 0..50 {
        let account = farm.h.account(&format!("user-{round}"));
        let app = farm.h.enrol(&farm.servers[0], &account).await;
        farm.h.advance(30);
        let right = app.code(farm.h.now());
        let wrong = |i: usize| {
            let c = format!("{:06}", (i * 7919 + round) % 1_000_000);
            if c == right {
                "000000".to_owned()
            } else {
                c
            }
        };
        let before_rejected = farm.h.events.count(EventKind::LoginRejected);
        let before_locked = farm.h.events.count(EventKind::LockedOut);

        let verdicts = farm.storm(&account, wrong).await;

        let (accepted, left, locked) = tally(&verdicts);
        assert_eq!(accepted, 0);
        assert_eq!(
            left,
            [1, 2, 3, 4],
            "round {round}: each evaluated guess saw its own count"
        );
        assert_eq!(locked, TASKS - 4);
        assert_eq!(
            farm.h.events.count(EventKind::LoginRejected) - before_rejected,
            5
        );
        assert_eq!(farm.h.events.count(EventKind::LockedOut) - before_locked, 1);
        // and the right code is refused while locked
        assert!(matches!(
            farm.servers[1]
                .verify_login(&account, &right, None)
                .await
                .unwrap(),
            Verdict::LockedOut { .. }
        ));
    }
    assert!(farm.store.conflicts.load(Ordering::Relaxed) > 0);
}

/// Concurrent setups and confirmations leave one consistent enrolment.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_setups_leave_one_consistent_secret() {
    // enough tries to test each of the sixteen secrets
    let mut policy = policy();
    policy.lockout.threshold = 20;
    let farm = Farm::with_policy(policy);
    let account = farm.h.account("alice");
    let barrier = Arc::new(Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let tf = farm.servers[i % INSTANCES].clone();
            let account = account.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                tf.begin_setup(&account, twofactor::NewMethod::App, &password())
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut apps = Vec::new();
    for t in tasks {
        if let Verdict::Accepted(twofactor::Setup::App(s)) = t.await.unwrap() {
            apps.push(App::from_grouped(secrecy::ExposeSecret::expose_secret(
                &s.secret,
            )));
        }
    }
    assert_eq!(apps.len(), 16);
    // exactly one of the sixteen secrets is the pending one
    let now = farm.h.now();
    let mut confirmed = 0;
    for app in &apps {
        match farm.servers[0]
            .confirm_setup(&account, &app.code(now))
            .await
        {
            Ok(v) if v.is_accepted() => confirmed += 1,
            Ok(_) => {}
            // once one confirmed, the rest find 2FA on
            Err(twofactor::Error::AlreadyEnabled) => assert_eq!(confirmed, 1),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(confirmed, 1);
    assert!(farm.servers[3].status(&account).await.unwrap().is_on());
}
