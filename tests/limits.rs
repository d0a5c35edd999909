//! Limits that hold across accounts, through the public API: codes sent to
//! one destination whatever the account, codes sent and guesses failed from
//! one source across many accounts, counted in the same store as the
//! records, bounded, expiring, and exact under races.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use common::race::*;
use common::*;
use twofactor::{
    Error, EventKind, LimitStore, LoginStep, Method, NewMethod, PhoneNumber, PortError, Reauth,
    SaveOutcome, SignInCheck, Source, Stored, Timestamp, UserStore, Verdict,
};

const VICTIM: &str = "+60123451688";

fn ip(s: &str) -> Source {
    Source::ip(s.parse::<IpAddr>().unwrap())
}

/// Twenty accounts cannot text one victim a hundred codes: five an hour and
/// ten a day reach the number, whichever accounts ask, setup codes to a
/// number not yet verified included.
#[tokio::test]
async fn one_number_gets_five_codes_an_hour_whatever_the_account() {
    let h = Harness::new();
    let tf = h.instance();
    let mut refused = 0;
    let mut day = Vec::new();
    for hour in 0..3 {
        for i in 0..20 {
            let a = h.account(&format!("pump-{hour}-{i}"));
            let number = PhoneNumber::parse(VICTIM).unwrap();
            match tf
                .begin_setup(&a, NewMethod::Sms(number), &password())
                .await
            {
                Ok(v) => assert!(v.is_accepted()),
                Err(Error::RateLimited { retry_after }) => {
                    assert!(retry_after.as_secs() > 0);
                    refused += 1;
                }
                Err(e) => panic!("{e}"),
            }
        }
        let texts = h
            .outbox
            .messages()
            .iter()
            .filter(|r| r.to == VICTIM)
            .count();
        day.push(texts);
        h.advance(3600);
    }
    assert_eq!(day, [5, 10, 10], "five an hour, ten a day");
    assert_eq!(refused, 50);
    assert_eq!(h.events.count(EventKind::SendThrottled), 50);
    // the next day it starts again
    h.advance(86_400);
    let a = h.account("next-day");
    let number = PhoneNumber::parse(VICTIM).unwrap();
    assert!(tf
        .begin_setup(&a, NewMethod::Sms(number), &password())
        .await
        .unwrap()
        .is_accepted());
}

/// An address is one destination however it is written.
#[tokio::test]
async fn one_address_is_one_destination_in_any_case() {
    let h = Harness::new();
    let tf = h.instance();
    for i in 0..6 {
        let a = h.account(&format!("user-{i}"));
        let a = twofactor::Account::new(a.id(), format!(" Victim@Example.COM{}", " ".repeat(i)));
        let got = tf.begin_setup(&a, NewMethod::Email, &password()).await;
        if i < 5 {
            assert!(got.unwrap().is_accepted(), "{i}");
        } else {
            assert!(matches!(got, Err(Error::RateLimited { .. })), "{i}");
        }
    }
}

/// A source sends at most twenty codes an hour, across accounts; another
/// source is not held back by it.
#[tokio::test]
async fn one_source_sends_twenty_codes_an_hour_across_accounts() {
    let h = Harness::new();
    let tf = h.instance();
    let pumping = tf.with_source(ip("198.51.100.9"));
    for i in 0..21 {
        let a = h.account(&format!("user-{i}"));
        let got = pumping.begin_setup(&a, NewMethod::Email, &password()).await;
        if i < 20 {
            assert!(got.unwrap().is_accepted(), "{i}");
        } else {
            assert!(matches!(got, Err(Error::RateLimited { .. })), "{i}");
        }
    }
    let other = tf.with_source(ip("203.0.113.5"));
    let a = h.account("user-elsewhere");
    assert!(other
        .begin_setup(&a, NewMethod::Email, &password())
        .await
        .unwrap()
        .is_accepted());
}

/// The inverted brute force: one guess at each of many accounts from one
/// source. After the source's limit nothing from it is evaluated, the
/// right code included; no account was locked, and other sources go on.
#[tokio::test]
async fn one_guess_on_each_of_many_accounts_is_throttled_after_the_limit() {
    let h = Harness::new();
    let tf = h.instance();
    let attacker = tf.with_source(ip("2001:db8:dead:beef::1"));
    let mut apps = Vec::new();
    for i in 0..60 {
        let a = h.account(&format!("user-{i}"));
        let app = h.set_up_app(&tf, &a).await;
        apps.push((a, app));
    }
    h.advance(30);
    let now = h.now();
    let mut verdicts = Vec::new();
    for (a, app) in &apps {
        verdicts.push(
            attacker
                .verify_login(a, &app.wrong_code(now), None)
                .await
                .unwrap(),
        );
    }
    assert!(verdicts[..50].iter().all(|v| *v == wrong(4)));
    let until = Timestamp::from_unix_seconds(now + 3600);
    assert!(verdicts[50..]
        .iter()
        .all(|v| *v == Verdict::Throttled { until }));
    // the same /64 is the same source; the right code is not evaluated either
    let same_net = tf.with_source(ip("2001:db8:dead:beef:ffff::2"));
    let (a, app) = &apps[55];
    assert_eq!(
        same_net
            .verify_login(a, &app.code(now), None)
            .await
            .unwrap(),
        Verdict::Throttled { until }
    );
    // the user, from elsewhere, logs in; the account was never locked
    let home = tf.with_source(ip("192.0.2.44"));
    assert!(logs_in(&home, a, &app.code(now)).await);
    assert!(h.events.count(EventKind::SourceThrottled) >= 11);
    // an hour on, the source is heard again
    h.advance(3600);
    let (a, app) = &apps[0];
    assert_eq!(
        attacker
            .verify_login(a, &app.wrong_code(h.now()), None)
            .await
            .unwrap(),
        wrong(3)
    );
}

/// A password check under the source's failure limit: wrong passwords
/// count, right ones are given back, and a throttled source's check is not
/// run at all.
#[tokio::test]
async fn sign_in_checks_count_wrong_passwords_only() {
    let h = Harness::new();
    let tf = h.instance();
    let office = tf.with_source(ip("192.0.2.1"));
    let alice = h.account("alice");
    let check = |right: bool| office.check_sign_in(&alice, async move { right });
    for _ in 0..49 {
        assert_eq!(check(false).await.unwrap(), SignInCheck::Wrong);
    }
    for _ in 0..20 {
        assert_eq!(check(true).await.unwrap(), SignInCheck::Right);
    }
    assert_eq!(check(false).await.unwrap(), SignInCheck::Wrong);
    let ran = Arc::new(AtomicU64::new(0));
    let counted = ran.clone();
    let throttled = office
        .check_sign_in(&alice, async move {
            counted.fetch_add(1, Ordering::SeqCst);
            true
        })
        .await
        .unwrap();
    assert!(
        matches!(throttled, SignInCheck::Throttled { .. }),
        "{throttled:?}"
    );
    assert_eq!(ran.load(Ordering::SeqCst), 0, "the check ran");
    // without a source nothing is counted
    assert_eq!(
        tf.check_sign_in(&alice, async { false }).await.unwrap(),
        SignInCheck::Wrong
    );
    assert_eq!(
        tf.check_sign_in(&alice, async { true }).await.unwrap(),
        SignInCheck::Right
    );
}

/// A live step-up grant is not typed, so a change it authorises is not
/// held back by its source's failure limit, which guards only what a
/// person types.
#[tokio::test]
async fn a_grant_is_not_held_back_by_a_throttled_source() {
    let h = Harness::new();
    let tf = h.instance();
    let office = tf.with_source(ip("192.0.2.1"));
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    let grant = h.grant(&office, &alice, &app).await;
    for _ in 0..50 {
        let _ = office.check_sign_in(&alice, async { false }).await.unwrap();
    }
    let (pw, code) = (password(), app.code(h.now()));
    let typed = office
        .regenerate_recovery_codes(&alice, Reauth::with_code(&pw, &code))
        .await
        .unwrap();
    assert!(matches!(typed, Verdict::Throttled { .. }), "{typed:?}");
    let granted = office
        .regenerate_recovery_codes(&alice, &grant)
        .await
        .unwrap();
    assert!(granted.is_accepted(), "{granted:?}");
}

/// Successes are given back: an office behind one address logs in all day
/// without reaching the failure limit.
#[tokio::test]
async fn successes_from_one_source_are_not_failures() {
    let h = Harness::new();
    let tf = h.instance();
    let office = tf.with_source(ip("192.0.2.1"));
    let mut apps = Vec::new();
    for i in 0..13 {
        let a = h.account(&format!("staff-{i}"));
        let app = h.set_up_app(&tf, &a).await;
        apps.push((a, app));
    }
    for _ in 0..12 {
        h.advance(30);
        for (a, app) in &apps {
            assert!(logs_in(&office, a, &app.code(h.now())).await);
        }
    }
    // 156 logins, and the whole failure budget is left: four wrong codes on
    // each account (none locks), the fifty-first refused unevaluated
    let mut verdicts = Vec::new();
    for round in 0..4 {
        for (a, app) in &apps {
            let v = office
                .verify_login(a, &app.wrong_code(h.now()), None)
                .await
                .unwrap();
            verdicts.push((round, v));
        }
    }
    assert!(verdicts[..50]
        .iter()
        .all(|(round, v)| *v == wrong(4 - round)));
    assert!(verdicts[50..]
        .iter()
        .all(|(_, v)| matches!(v, Verdict::Throttled { .. })));
}

/// A limit store that counts its reads and writes.
#[derive(Clone)]
struct Counted {
    inner: twofactor::MemoryStore,
    loads: Arc<AtomicU64>,
    saves: Arc<AtomicU64>,
    keys: Arc<std::sync::Mutex<Vec<String>>>,
    purges: Arc<AtomicU64>,
}

#[async_trait]
impl LimitStore for Counted {
    async fn load_limit(&self, key: &str) -> Result<Option<Stored>, PortError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load_limit(key).await
    }
    async fn save_limit(
        &self,
        key: &str,
        document: &[u8],
        expected: u64,
        expires: Timestamp,
    ) -> Result<SaveOutcome, PortError> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        {
            let mut keys = self.keys.lock().unwrap();
            if !keys.iter().any(|k| k == key) {
                keys.push(key.to_owned());
            }
        }
        self.inner
            .save_limit(key, document, expected, expires)
            .await
    }
    async fn purge_limits(&self, now: Timestamp) -> Result<u64, PortError> {
        self.purges.fetch_add(1, Ordering::SeqCst);
        self.inner.purge_limits(now).await
    }
}

/// The key of the one counter the memory store holds (the source's).
async fn limit_key_of(limits: &Counted) -> String {
    limits.keys.lock().unwrap().first().cloned().unwrap()
}

/// The counters are small, never listed as accounts, and gone once both
/// their windows have passed; a source that keeps hammering once throttled
/// costs this instance no store round trip.
#[tokio::test]
async fn counters_are_bounded_apart_and_expire() {
    let h = Harness::new();
    let limits = Counted {
        inner: h.store.clone(),
        loads: Arc::default(),
        saves: Arc::default(),
        keys: Arc::default(),
        purges: Arc::default(),
    };
    let tf = h
        .builder()
        .records(h.store.clone())
        .limit_store(limits.clone())
        .passwords(h.passwords.clone())
        .email(h.outbox.clone())
        .build()
        .unwrap();
    let attacker = tf.with_source(ip("198.51.100.7"));
    let mut accounts = Vec::new();
    for i in 0..51 {
        let a = h.account(&format!("user-{i}"));
        let app = h.set_up_app(&tf, &a).await;
        accounts.push((a, app.wrong_code(h.now())));
    }
    for (i, (a, wrong_code)) in accounts.iter().enumerate() {
        let v = attacker.verify_login(a, wrong_code, None).await.unwrap();
        assert_eq!(
            matches!(v, Verdict::Throttled { .. }),
            i == 50,
            "{i}: {v:?}"
        );
    }
    // each counter is a small fixed-size document, however many events
    let key_doc = h
        .store
        .load_limit(&limit_key_of(&limits).await)
        .await
        .unwrap()
        .unwrap();
    assert!(key_doc.document.len() <= 32, "{}", key_doc.document.len());
    let loads = limits.loads.load(Ordering::SeqCst);
    let (a, wrong_code) = &accounts[0];
    for _ in 0..100 {
        let v = attacker.verify_login(a, wrong_code, None).await.unwrap();
        assert!(matches!(v, Verdict::Throttled { .. }));
    }
    assert_eq!(
        limits.loads.load(Ordering::SeqCst),
        loads,
        "a throttled source was looked up again"
    );
    // no counter is an account
    let page = tf.admin_list(None, 100).await.unwrap();
    assert_eq!(page.accounts.len(), 51);
    assert!(page.accounts.iter().all(|l| l.user.starts_with("user-")));
    assert_eq!(h.store.list(None, 100).await.unwrap().len(), 51);
    // the instance purged expired counters by itself once in that hour
    assert_eq!(limits.purges.load(Ordering::SeqCst), 1);
    // gone after a day and an hour
    h.advance(86_400 + 3600);
    assert!(tf.purge_limits().await.unwrap() >= 1);
    assert_eq!(tf.purge_limits().await.unwrap(), 0);
    assert_eq!(limits.purges.load(Ordering::SeqCst), 3);
    // and again once the hour since its last purge has passed
    let _ = attacker.verify_login(a, wrong_code, None).await.unwrap();
    let _ = attacker.verify_login(a, wrong_code, None).await.unwrap();
    assert_eq!(limits.purges.load(Ordering::SeqCst), 4);
}

/// A code held back by a send limit at login does not lose the challenge:
/// the user is told what is asked for and when a code can be sent.
#[tokio::test]
async fn a_held_back_login_code_keeps_the_challenge() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    h.set_up_sms(&tf, &alice, VICTIM).await;
    // others pump the same number up to its hourly limit
    for i in 0..4 {
        let a = h.account(&format!("pump-{i}"));
        let number = PhoneNumber::parse(VICTIM).unwrap();
        let _ = tf
            .begin_setup(&a, NewMethod::Sms(number), &password())
            .await
            .unwrap();
    }
    h.advance(60);
    let step = tf.begin_login(&alice, None).await.unwrap();
    let LoginStep::Challenge {
        method: Method::Sms,
        sent: None,
        retry_after: Some(wait),
        key: None,
        ..
    } = step
    else {
        panic!("{step:?}")
    };
    assert_eq!(wait.as_secs(), 3600 - 60);
    h.advance(wait.as_secs());
    assert!(matches!(
        tf.begin_login(&alice, None).await.unwrap(),
        LoginStep::Challenge {
            sent: Some(_),
            key: None,
            retry_after: None,
            ..
        }
    ));
}

/// Within one instance, requests on one hot counter take turns instead of
/// racing each other's compare-and-swaps in the store: 64 wrong passwords
/// at once from one source lose no race and are counted exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_instances_requests_on_a_counter_take_turns() {
    let h = Harness::new();
    let store = h.store.clone();
    let farm = Farm::over(h, vec![store], policy());
    let tf = farm.servers[0].with_source(ip("203.0.113.9"));
    let alice = farm.h.account("alice");
    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (tf, alice, barrier) = (tf.clone(), alice.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                tf.check_sign_in(&alice, async { false }).await.unwrap()
            })
        })
        .collect();
    let mut wrong = 0;
    for t in tasks {
        match t.await.unwrap() {
            SignInCheck::Wrong => wrong += 1,
            SignInCheck::Throttled { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(wrong, 50);
    assert_eq!(farm.conflicts(), 0, "one instance's requests raced");
}

/// Eight instances on one store: one source's concurrent guesses across
/// eighty accounts are evaluated exactly up to its limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_instances_count_a_source_exactly() {
    let farm = Farm::memory(policy());
    source_failures_counted_exactly(&farm, 80).await;
    assert!(farm.conflicts() > 0, "the instances never raced");
}
