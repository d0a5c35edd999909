//! Each call goes down the layers once: one load per attempt, the slow
//! work (argon2id: the password, a recovery code, new recovery codes) done
//! once per call however many times a lost race makes the core decide
//! again, and nothing slow at all when the core answers before evaluating
//! anything (a lockout, the password alone where a step-up is needed).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use common::*;
use secrecy::{ExposeSecret, SecretString};
use twofactor::{
    Account, Error, Listed, MemoryStore, NewMethod, Offload, PasswordCheck, PortError, Reauth,
    SaveOutcome, Setup, Stored, TwoFactor, UserStore, Verdict,
};

/// Counts what reaches the ports: loads and saves of records, password
/// checks, slow jobs; and loses the next `lose` saves (as when another
/// request saved first).
#[derive(Clone, Default)]
struct Counts {
    loads: Arc<AtomicU32>,
    saves: Arc<AtomicU32>,
    lose: Arc<AtomicU32>,
    passwords: Arc<AtomicU32>,
    jobs: Arc<AtomicU32>,
}

impl Counts {
    fn reset(&self) {
        for c in [&self.loads, &self.saves, &self.passwords, &self.jobs] {
            c.store(0, Ordering::SeqCst);
        }
    }
    /// (loads, saves, password checks, slow jobs) since the last reset.
    fn seen(&self) -> (u32, u32, u32, u32) {
        (
            self.loads.load(Ordering::SeqCst),
            self.saves.load(Ordering::SeqCst),
            self.passwords.load(Ordering::SeqCst),
            self.jobs.load(Ordering::SeqCst),
        )
    }
    fn lose_next_save(&self) {
        self.lose.store(1, Ordering::SeqCst);
    }
}

#[derive(Clone)]
struct Store {
    inner: MemoryStore,
    counts: Counts,
}

#[async_trait]
impl UserStore for Store {
    async fn load(&self, user: &str) -> Result<Option<Stored>, PortError> {
        self.counts.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load(user).await
    }
    async fn save(&self, user: &str, doc: &[u8], expected: u64) -> Result<SaveOutcome, PortError> {
        self.counts.saves.fetch_add(1, Ordering::SeqCst);
        let lost = self
            .counts
            .lose
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if lost {
            return Ok(SaveOutcome::Conflict);
        }
        self.inner.save(user, doc, expected).await
    }
    async fn delete(&self, user: &str) -> Result<bool, PortError> {
        self.inner.delete(user).await
    }
    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<Listed>, PortError> {
        self.inner.list(after, limit).await
    }
}

limit_store_via!(Store, inner);

struct Passwords {
    inner: twofactor::Argon2Passwords,
    counts: Counts,
}

#[async_trait]
impl PasswordCheck for Passwords {
    async fn verify(&self, account: &Account, password: &SecretString) -> Result<bool, PortError> {
        self.counts.passwords.fetch_add(1, Ordering::SeqCst);
        self.inner.verify(account, password).await
    }
}

struct Jobs(Counts);

#[async_trait]
impl Offload for Jobs {
    async fn run(&self, job: Box<dyn FnOnce() + Send + 'static>) {
        self.0.jobs.fetch_add(1, Ordering::SeqCst);
        job();
    }
}

fn service(h: &Harness, counts: &Counts) -> TwoFactor {
    h.builder()
        .store(Store {
            inner: h.store.clone(),
            counts: counts.clone(),
        })
        .passwords(Passwords {
            inner: h.passwords.clone(),
            counts: counts.clone(),
        })
        .offload(Jobs(counts.clone()))
        .email(h.outbox.clone())
        .policy(policy())
        .build()
        .unwrap()
}

/// Alice with the app on; her app and recovery codes.
async fn alice(h: &Harness, tf: &TwoFactor) -> (Account, App, Vec<String>) {
    let alice = h.account("alice");
    let app = h.begin(tf, &alice).await;
    let on = tf
        .confirm_setup(&alice, &app.code(h.now()))
        .await
        .unwrap()
        .accepted()
        .unwrap();
    let codes = on
        .recovery_codes
        .unwrap()
        .codes()
        .iter()
        .map(|c| c.expose_secret().to_owned())
        .collect();
    h.advance(30);
    (alice, app, codes)
}

#[tokio::test]
async fn a_login_code_loads_once_and_saves_once() {
    let h = Harness::new();
    let counts = Counts::default();
    let tf = service(&h, &counts);
    let (alice, app, _) = alice(&h, &tf).await;
    counts.reset();
    let v = tf
        .verify_login(&alice, &app.wrong_code(h.now()), None)
        .await
        .unwrap();
    assert_eq!(v, wrong(4));
    assert_eq!(counts.seen(), (1, 1, 0, 0));
    counts.reset();
    let v = tf
        .verify_login(&alice, &app.code(h.now()), None)
        .await
        .unwrap();
    assert!(v.is_accepted());
    assert_eq!(counts.seen(), (1, 1, 0, 0));
}

#[tokio::test]
async fn a_lost_race_checks_a_recovery_code_once() {
    let h = Harness::new();
    let counts = Counts::default();
    let tf = service(&h, &counts);
    let (alice, _, codes) = alice(&h, &tf).await;
    counts.reset();
    counts.lose_next_save();
    let v = tf.verify_login(&alice, &codes[3], None).await.unwrap();
    assert!(v.is_accepted(), "{v:?}");
    // two attempts, two loads; one argon2id check through the offload
    assert_eq!(counts.seen(), (2, 2, 0, 1));
    // and it was spent: once only
    h.advance(1);
    assert!(!logs_in(&tf, &alice, &codes[3]).await);
}

#[tokio::test]
async fn a_lost_race_hashes_new_recovery_codes_once() {
    let h = Harness::new();
    let counts = Counts::default();
    let tf = service(&h, &counts);
    let alice = h.account("alice");
    let app = h.begin(&tf, &alice).await;
    counts.reset();
    counts.lose_next_save();
    let on = tf
        .confirm_setup(&alice, &app.code(h.now()))
        .await
        .unwrap()
        .accepted()
        .unwrap();
    assert_eq!(on.recovery_codes.map(|c| c.codes().len()), Some(10));
    // ten codes hashed in one job, not again on the second attempt
    assert_eq!(counts.seen(), (2, 2, 0, 1));

    h.advance(30);
    counts.reset();
    counts.lose_next_save();
    let codes = tf
        .regenerate_recovery_codes(&alice, Reauth::with_code(&password(), &app.code(h.now())))
        .await
        .unwrap()
        .accepted()
        .unwrap();
    assert_eq!(codes.codes.codes().len(), 10);
    // the password checked once, the codes hashed once, over two attempts
    assert_eq!(counts.seen(), (2, 2, 1, 1));
}

#[tokio::test]
async fn nothing_slow_runs_when_the_core_answers_first() {
    let h = Harness::new();
    let counts = Counts::default();
    let tf = service(&h, &counts);
    // a step-up with no second factor to step up with: refused before
    // the password is tried
    let bob = h.account("bob");
    counts.reset();
    let r = tf.step_up(&bob, &password(), "123456").await;
    assert!(matches!(r, Err(Error::NotEnabled)), "{r:?}");
    assert_eq!(counts.seen(), (1, 0, 0, 0));
    // and so are new recovery codes: nothing to make them for
    counts.reset();
    let r = tf
        .regenerate_recovery_codes(&bob, Reauth::with_code(&password(), "123456"))
        .await;
    assert!(matches!(r, Err(Error::NotEnabled)), "{r:?}");
    assert_eq!(counts.seen(), (1, 0, 0, 0));

    let (alice, app, codes) = alice(&h, &tf).await;

    // the password alone where a step-up is needed: refused unevaluated
    counts.reset();
    let r = tf.regenerate_recovery_codes(&alice, &password()).await;
    assert!(matches!(r, Err(Error::StepUpRequired)));
    assert_eq!(counts.seen(), (1, 0, 0, 0));

    // locked out: neither a recovery code nor a password is evaluated
    for _ in 0..5 {
        let _ = tf
            .verify_login(&alice, &app.wrong_code(h.now()), None)
            .await
            .unwrap();
    }
    counts.reset();
    let v = tf.verify_login(&alice, &codes[0], None).await.unwrap();
    assert!(matches!(v, Verdict::LockedOut { .. }), "{v:?}");
    let v = tf
        .regenerate_recovery_codes(&alice, Reauth::with_code(&password(), &codes[1]))
        .await
        .unwrap();
    assert!(matches!(v, Verdict::LockedOut { .. }), "{v:?}");
    assert_eq!(counts.seen(), (2, 0, 0, 0));
}

#[tokio::test]
async fn a_setup_begun_with_the_password_checks_it_once() {
    let h = Harness::new();
    let counts = Counts::default();
    let tf = service(&h, &counts);
    let alice = h.account("alice");
    counts.reset();
    counts.lose_next_save();
    let v = tf
        .begin_setup(&alice, NewMethod::App, &password())
        .await
        .unwrap();
    assert!(matches!(v, Verdict::Accepted(Setup::App(_))));
    assert_eq!(counts.seen(), (2, 2, 1, 0));
}

#[tokio::test]
async fn a_refused_change_makes_no_recovery_codes() {
    let h = Harness::new();
    let counts = Counts::default();
    let tf = service(&h, &counts);
    let (alice, app, _) = alice(&h, &tf).await;
    counts.reset();
    let wrong_password = SecretString::from("not the password");
    let v = tf
        .regenerate_recovery_codes(
            &alice,
            Reauth::with_code(&wrong_password, &app.code(h.now())),
        )
        .await
        .unwrap();
    assert_eq!(v, rejected(4, twofactor::Rejection::WrongPassword));
    let v = tf
        .regenerate_recovery_codes(
            &alice,
            Reauth::with_code(&password(), &app.wrong_code(h.now())),
        )
        .await
        .unwrap();
    assert_eq!(v, wrong(3));
    // two password checks, no argon2id job: no codes were made for nothing
    assert_eq!(counts.seen(), (2, 2, 2, 0));
}
