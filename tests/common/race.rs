//! Many app servers racing on one store: the farm, the storm of concurrent
//! submissions, and the scenarios every store must pass.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Barrier;
use twofactor::{
    Account, EventKind, LimitStore, Listed, PortError, SaveOutcome, Stored, Timestamp, TwoFactor,
    UserStore, Verdict,
};

use super::*;

pub const INSTANCES: usize = 8;
pub const TASKS: usize = 64;

/// A store that yields to other tasks inside every call, so that requests
/// interleave between load and save, and counts lost races.
#[derive(Clone)]
pub struct Counting<S> {
    inner: S,
    conflicts: Arc<AtomicU64>,
}

#[async_trait]
impl<S: UserStore> UserStore for Counting<S> {
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

#[async_trait]
impl<S: LimitStore> LimitStore for Counting<S> {
    async fn load_limit(&self, key: &str) -> Result<Option<Stored>, PortError> {
        tokio::task::yield_now().await;
        self.inner.load_limit(key).await
    }
    async fn save_limit(
        &self,
        key: &str,
        doc: &[u8],
        expected: u64,
        expires: Timestamp,
    ) -> Result<SaveOutcome, PortError> {
        tokio::task::yield_now().await;
        let outcome = self.inner.save_limit(key, doc, expected, expires).await?;
        if outcome == SaveOutcome::Conflict {
            self.conflicts.fetch_add(1, Ordering::Relaxed);
        }
        Ok(outcome)
    }
    async fn purge_limits(&self, now: Timestamp) -> Result<u64, PortError> {
        self.inner.purge_limits(now).await
    }
}

/// `INSTANCES` app servers, each a `TwoFactor` with its own store handle.
pub struct Farm {
    pub h: Harness,
    pub conflicts: Arc<AtomicU64>,
    pub servers: Vec<TwoFactor>,
}

impl Farm {
    /// Servers sharing the harness's memory store.
    pub fn memory(policy: twofactor::Policy) -> Self {
        let h = Harness::new();
        let stores = (0..INSTANCES).map(|_| h.store.clone()).collect();
        Self::over(h, stores, policy)
    }

    /// One server on each of `stores` (handles on one database).
    pub fn over<S: UserStore + LimitStore + Clone + 'static>(
        h: Harness,
        stores: Vec<S>,
        policy: twofactor::Policy,
    ) -> Self {
        let conflicts = Arc::new(AtomicU64::new(0));
        let servers = stores
            .into_iter()
            .map(|s| {
                let store = Counting {
                    inner: s,
                    conflicts: conflicts.clone(),
                };
                h.builder()
                    .store(store)
                    .passwords(h.passwords.clone())
                    .email(h.outbox.clone())
                    .sms(h.outbox.clone())
                    .policy(policy.clone())
                    .build()
                    .unwrap()
            })
            .collect();
        Self {
            h,
            conflicts,
            servers,
        }
    }

    pub fn conflicts(&self) -> u64 {
        self.conflicts.load(Ordering::Relaxed)
    }

    /// `TASKS` tasks, spread over the servers, submit `code(i)` at once.
    pub async fn storm(
        &self,
        account: &Account,
        code: impl Fn(usize) -> String,
    ) -> Vec<Verdict<()>> {
        self.storm_of(TASKS, account, code).await
    }

    /// `n` tasks, spread over the servers, submit `code(i)` at once.
    pub async fn storm_of(
        &self,
        n: usize,
        account: &Account,
        code: impl Fn(usize) -> String,
    ) -> Vec<Verdict<()>> {
        self.storm_from(n, account, code, |_| None).await
    }

    /// `n` tasks, spread over the servers, submit `code(i)` at once, each
    /// from `source(i)` when it names one.
    pub async fn storm_from(
        &self,
        n: usize,
        account: &Account,
        code: impl Fn(usize) -> String,
        source: impl Fn(usize) -> Option<twofactor::Source>,
    ) -> Vec<Verdict<()>> {
        let barrier = Arc::new(Barrier::new(n));
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let server = &self.servers[i % self.servers.len()];
                let tf = match source(i) {
                    Some(s) => server.with_source(s),
                    None => server.clone(),
                };
                let account = account.clone();
                let barrier = barrier.clone();
                let code = code(i);
                tokio::spawn(async move {
                    barrier.wait().await;
                    tf.verify_login(&account, &code, None)
                        .await
                        .unwrap()
                        .map(|_| ())
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

/// How many were accepted, the attempts left of each rejection (sorted),
/// and how many were locked out.
pub fn tally(verdicts: &[Verdict<()>]) -> (usize, Vec<u32>, usize) {
    let accepted = verdicts.iter().filter(|v| v.is_accepted()).count();
    let mut left: Vec<u32> = verdicts
        .iter()
        .filter_map(|v| match v {
            Verdict::Rejected { attempts_left, .. } => Some(*attempts_left),
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

/// After the one acceptance every submission is a counted failure: four
/// rejections, the fifth locks, the rest are not evaluated.
fn one_accepted_rest_counted(verdicts: &[Verdict<()>], n: usize, what: &str) {
    let (accepted, left, locked) = tally(verdicts);
    assert_eq!(accepted, 1, "{what}: {verdicts:?}");
    assert_eq!(left, [1, 2, 3, 4], "{what}");
    assert_eq!(locked, n - 5, "{what}");
}

impl Farm {
    /// An account id unique to this farm (several farms share a database).
    pub fn user(&self, name: &str) -> Account {
        self.h.account(&format!("{}-{name}", self.h.run_id()))
    }
}

/// `rounds` rounds: `TASKS` concurrent submissions of one valid app code
/// over the servers; exactly one is accepted, and the refusals are counted
/// like serial ones.
pub async fn app_code_once(farm: &Farm, rounds: usize) {
    for round in 0..rounds {
        let account = farm.user(&format!("app-{round}"));
        let app = farm
            .h
            .set_up_app(&farm.servers[round % farm.servers.len()], &account)
            .await;
        farm.h.advance(30);
        let code = app.code(farm.h.now());
        let before = farm.h.events.count(EventKind::CodeReplayed);

        let verdicts = farm.storm(&account, |_| code.clone()).await;

        one_accepted_rest_counted(&verdicts, TASKS, &format!("app code, round {round}"));
        // every evaluated refusal of the right code (four, and the one that
        // locks) is audited as the replay it is
        assert_eq!(farm.h.events.count(EventKind::CodeReplayed) - before, 5);
    }
}

/// `rounds` rounds: `TASKS` concurrent submissions of one emailed login
/// code; exactly one is accepted.
pub async fn emailed_code_once(farm: &Farm, rounds: usize) {
    for round in 0..rounds {
        let account = farm.user(&format!("email-{round}"));
        let tf = &farm.servers[round % farm.servers.len()];
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
        let other = &farm.servers[(round + 1) % farm.servers.len()];
        let _ = other.begin_login(&account, None).await.unwrap();
        let code = farm.h.last_code();

        let verdicts = farm.storm(&account, |_| code.clone()).await;

        one_accepted_rest_counted(&verdicts, TASKS, &format!("emailed code, round {round}"));
    }
}

/// `rounds` rounds: `n` concurrent uses of one recovery code; exactly one is
/// accepted, and the code is spent.
pub async fn recovery_code_once(farm: &Farm, rounds: usize, n: usize) {
    for round in 0..rounds {
        let account = farm.user(&format!("recovery-{round}"));
        let tf = &farm.servers[round % farm.servers.len()];
        let app = farm.h.begin(tf, &account).await;
        let on = tf
            .confirm_setup(&account, &app.code(farm.h.now()))
            .await
            .unwrap();
        let codes = on.accepted().unwrap().recovery_codes.unwrap();
        let code = secrecy::ExposeSecret::expose_secret(&codes.codes()[round % 10]).to_owned();

        let verdicts = farm.storm_of(n, &account, |_| code.clone()).await;

        one_accepted_rest_counted(&verdicts, n, &format!("recovery code, round {round}"));
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
}

/// `rounds` rounds: `TASKS` concurrent wrong codes; every evaluated one is
/// counted, so parallel guessing locks the account as soon as serial
/// guessing would, and then even the right code is refused.
pub async fn wrong_codes_all_counted(farm: &Farm, rounds: usize) {
    for round in 0..rounds {
        let account = farm.user(&format!("wrong-{round}"));
        let app = farm.h.set_up_app(&farm.servers[0], &account).await;
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
        let v = farm.servers[1]
            .verify_login(&account, &right, None)
            .await
            .unwrap();
        assert!(matches!(v, Verdict::LockedOut { .. }));
    }
}

/// One source guesses one wrong code on each of `accounts` accounts at once,
/// spread over the servers: exactly as many are evaluated as the source's
/// hourly limit allows, however the requests race, and the rest are refused
/// unevaluated; no account is locked.
pub async fn source_failures_counted_exactly(farm: &Farm, accounts: usize) {
    let limit = farm.servers[0].policy().limits.source_failures_per_hour;
    let mut users = Vec::new();
    for i in 0..accounts {
        let account = farm.user(&format!("sprayed-{i}"));
        let app = farm
            .h
            .set_up_app(&farm.servers[i % farm.servers.len()], &account)
            .await;
        users.push((account, app.wrong_code(farm.h.now())));
    }
    let source = twofactor::Source::named(&format!("spray-{}", farm.h.run_id()));
    let barrier = Arc::new(Barrier::new(accounts));
    let tasks: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(i, (account, wrong))| {
            let tf = farm.servers[i % farm.servers.len()].with_source(source.clone());
            let account = account.clone();
            let wrong = wrong.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                tf.verify_login(&account, &wrong, None).await.unwrap()
            })
        })
        .collect();
    let mut evaluated = 0;
    let mut throttled = 0;
    for t in tasks {
        match t.await.unwrap() {
            Verdict::Rejected {
                attempts_left: 4, ..
            } => evaluated += 1,
            Verdict::Throttled { .. } => throttled += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(evaluated, limit as usize, "evaluated guesses");
    assert_eq!(throttled, accounts - limit as usize);
}
