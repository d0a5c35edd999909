//! When what the host plugged in fails: typed errors that say whether to
//! retry, and no half-done change.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use common::*;
use secrecy::SecretString;
use twofactor::Keep;
use twofactor::NewMethod;
use twofactor::{
    Account, EmailSender, Error, EventKind, Listed, MemoryStore, Message, PasswordCheck, Policy,
    PortError, SaveOutcome, Status, Stored, TwoFactor, UserStore,
};

/// A store that can be told to lose every race, or to be down.
#[derive(Clone)]
struct Flaky {
    inner: MemoryStore,
    always_conflict: Arc<AtomicBool>,
    down: Arc<AtomicBool>,
    saves: Arc<AtomicU32>,
}

#[async_trait]
impl UserStore for Flaky {
    async fn load(&self, user: &str) -> Result<Option<Stored>, PortError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(PortError::transient(std::io::Error::other(
                "connection reset",
            )));
        }
        self.inner.load(user).await
    }
    async fn save(&self, user: &str, doc: &[u8], expected: u64) -> Result<SaveOutcome, PortError> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        if self.always_conflict.load(Ordering::SeqCst) {
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

limit_store_via!(Flaky, inner);

fn flaky(h: &Harness) -> Flaky {
    Flaky {
        inner: h.store.clone(),
        always_conflict: Arc::new(AtomicBool::new(false)),
        down: Arc::new(AtomicBool::new(false)),
        saves: Arc::new(AtomicU32::new(0)),
    }
}

fn service(h: &Harness, store: Flaky, policy: Policy) -> TwoFactor {
    h.builder()
        .store(store)
        .passwords(h.passwords.clone())
        .policy(policy)
        .build()
        .unwrap()
}

#[tokio::test]
async fn endless_conflicts_end_in_contention_after_the_retry_bound() {
    let h = Harness::new();
    let store = flaky(&h);
    let mut policy = policy();
    policy.max_retries = 3;
    let tf = service(&h, store.clone(), policy);
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    let events_before = h.events.kinds().len();
    let saves_before = store.saves.load(Ordering::SeqCst);

    store.always_conflict.store(true, Ordering::SeqCst);
    h.advance(30);
    let err = tf
        .verify_login(&alice, &app.code(h.now()), None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Contention));
    assert!(err.is_transient());
    assert_eq!(
        store.saves.load(Ordering::SeqCst) - saves_before,
        4,
        "one try and 3 retries"
    );
    assert_eq!(
        h.events.kinds().len(),
        events_before,
        "nothing is reported for what was not saved"
    );

    // the code was never accepted, so it still works once the store does
    store.always_conflict.store(false, Ordering::SeqCst);
    assert!(logs_in(&tf, &alice, &app.code(h.now())).await);
}

#[tokio::test]
async fn a_store_outage_is_a_transient_error_with_its_cause() {
    let h = Harness::new();
    let store = flaky(&h);
    let tf = service(&h, store.clone(), policy());
    let alice = h.account("alice");
    store.down.store(true, Ordering::SeqCst);
    let err = tf.status(&alice).await.unwrap_err();
    assert!(matches!(err, Error::Store(_)) && err.is_transient());
    let cause = std::error::Error::source(&err).and_then(std::error::Error::source);
    assert_eq!(
        cause.map(ToString::to_string).as_deref(),
        Some("connection reset")
    );
    assert!(tf
        .begin_setup(&alice, NewMethod::App, &password())
        .await
        .is_err());
}

struct BrokenPasswords;

#[async_trait]
impl PasswordCheck for BrokenPasswords {
    async fn verify(&self, _: &Account, _: &SecretString) -> Result<bool, PortError> {
        Err(PortError::permanent(std::io::Error::other(
            "directory unreachable",
        )))
    }
}

#[tokio::test]
async fn a_failing_password_check_is_an_error_not_a_rejection() {
    let h = Harness::new();
    let tf = h
        .builder()
        .store(h.store.clone())
        .passwords(BrokenPasswords)
        .build()
        .unwrap();
    let alice = Account::new("alice", "alice@example.com");
    let err = tf
        .begin_setup(&alice, NewMethod::App, &password())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Password(_)) && !err.is_transient());
    assert_eq!(tf.status(&alice).await.unwrap(), Status::Off);
    assert!(h.events.kinds().is_empty(), "no failure was counted");
    assert!(h.store.load("alice").await.unwrap().is_none());
}

struct DownMail;

#[async_trait]
impl EmailSender for DownMail {
    async fn send_email(&self, _: &str, _: &Message) -> Result<(), PortError> {
        Err(PortError::transient(std::io::Error::other("smtp timeout")))
    }
}

#[tokio::test]
async fn a_failed_notice_does_not_undo_or_fail_the_change() {
    let h = Harness::new();
    let tf = h
        .builder()
        .store(h.store.clone())
        .passwords(h.passwords.clone())
        .email(DownMail)
        .build()
        .unwrap();
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    assert!(tf.status(&alice).await.unwrap().is_on());
    let grant = h.grant(&tf, &alice, &app).await;
    assert!(tf
        .disable(&alice, &grant, Keep::Nothing)
        .await
        .unwrap()
        .is_accepted());
    assert_eq!(tf.status(&alice).await.unwrap(), Status::Off);
    assert_eq!(h.events.count(EventKind::Disabled), 1);
}
