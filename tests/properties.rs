//! Property tests: any string or bytes at the public entry points gives
//! an answer or a typed error, never a panic, and changes nothing but the
//! failure counter; and a model-based test: random sequences of logins
//! (right, previous-step, replayed, wrong and malformed codes, recovery
//! codes, used ones again) and clock jumps, on the crate and on a small
//! reference model of the rules (replay, lockout doubling, daily limit,
//! recovery codes used once), compared after every step.
//!
//! `PROPTEST_CASES` sets the number of cases (the defaults below are what
//! CI runs; `PROPTEST_CASES=20000 cargo test --test properties` for more).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use proptest::prelude::*;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use twofactor::{
    Account, Error, ImportedApp, MasterKey, PhoneNumber, Rejection, UserStore, Verdict,
};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Any text: arbitrary Unicode, or digits and separators near a code's
/// shape, or long runs.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9 \\-]{0,12}",
        "[0-9a-zA-Z+=/:?&%]{0,80}",
        "\\PC{0,300}",
        Just(String::new()),
        Just("9".repeat(10_000)),
    ]
}

/// The stored record as JSON, without the failure counters.
async fn without_guard(h: &Harness, user: &str) -> Value {
    let doc = h.store.load(user).await.unwrap().unwrap().document;
    let mut v = document_json(&doc);
    v.as_object_mut().unwrap().remove("guard");
    v
}

proptest! {
    #![proptest_config(cases(600))]

    /// Typed where a person types: the code, the password, a phone
    /// number, a device id, an account id. Each call answers or fails
    /// with a typed error, and the record changes in its failure counter
    /// at most.
    #[test]
    fn any_text_at_the_login_and_step_up_entry_points(code in text(), other in text()) {
        runtime().block_on(async {
            let h = Harness::new();
            let tf = h.instance();
            let account = h.account("prop");
            let _app = h.set_up_app(&tf, &account).await;
            let before = without_guard(&h, "prop").await;

            let _ = tf.verify_login(&account, code.as_str(), None).await;
            let _ = tf.verify_login(&account, code.as_str(), Some(other.as_str())).await;
            let _ = tf.step_up(&account, &SecretString::from(other.clone()), code.as_str()).await;
            let _ = tf.confirm_setup(&account, code.as_str()).await;
            let _ = tf.revoke_device(&account, &code).await;
            let _ = tf.begin_login(&account, Some(code.as_str())).await;
            let _ = tf.revoke_step_up(&account, &SecretString::from(code.clone())).await;
            prop_assert_eq!(without_guard(&h, "prop").await, before);

            // an account id or address of any shape: a typed error or an answer
            let stranger = Account::new(code.clone(), other.clone());
            match tf.status(&stranger).await {
                Ok(_) | Err(Error::InvalidAccount(_)) => {}
                Err(e) => prop_assert!(false, "status of {:?}: {e:?}", code),
            }
            let _ = tf.verify_login(&stranger, other.as_str(), None).await;
            Ok(())
        })?;
    }

    /// The parsers: phone numbers, key URIs, base32 secrets, master keys.
    #[test]
    fn any_text_at_the_parsers(input in text()) {
        let _ = PhoneNumber::parse(&input);
        let _ = ImportedApp::from_uri(&SecretString::from(input.clone()));
        let _ = ImportedApp::from_base32(
            &SecretString::from(input.clone()),
            twofactor::Algorithm::Sha1,
            6,
            30,
        );
        let _ = MasterKey::from_base64(&input);
        let _ = twofactor::testing::Authenticator::from_secret_text(&SecretString::from(input));
    }

    /// Whatever bytes the store holds for an account, every call gives a
    /// typed error or an answer.
    #[test]
    fn any_stored_bytes_are_a_typed_error(doc in prop::collection::vec(any::<u8>(), 0..600)) {
        runtime().block_on(async {
            let h = Harness::new();
            let tf = h.instance();
            let account = h.account("bytes");
            let _ = h.store.save("bytes", &doc, 0).await.unwrap();
            let _ = tf.status(&account).await;
            let _ = tf.begin_login(&account, None).await;
            let _ = tf.verify_login(&account, "123456", None).await;
            let _ = tf.devices(&account).await;
            let _ = tf.authenticators(&account).await;
            let _ = tf.begin_setup(&account, twofactor::NewMethod::App, &password()).await;
            Ok::<(), TestCaseError>(())
        })?;
    }
}

/// One thing a user does in the model-based test.
#[derive(Debug, Clone)]
enum Op {
    /// The clock moves on this many seconds.
    Advance(u64),
    /// The app's code of this many steps ago (0: the current one).
    AppCode(u64),
    /// A well-formed code that is none of the window's.
    Wrong,
    /// Something that is not a code.
    Malformed,
    /// Recovery code number `i` (of the ten).
    Recovery(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => prop::sample::select(vec![0u64, 1, 29, 30, 31, 59, 61, 120, 3_599, 3_600, 86_400])
            .prop_map(Op::Advance),
        4 => (0u64..4).prop_map(Op::AppCode),
        3 => Just(Op::Wrong),
        1 => Just(Op::Malformed),
        1 => (0usize..10).prop_map(Op::Recovery),
    ]
}

/// The rules, as a person would write them down.
#[derive(Debug, Default)]
struct Model {
    now: u64,
    last_step: u64,
    failures: u32,
    lockouts: u32,
    locked_until: u64,
    day_start: Option<u64>,
    day_failures: u32,
    used_recovery: [bool; 10],
}

/// What the model expects: accepted, rejected (attempts left, and why
/// when the model knows), or locked out until.
#[derive(Debug, PartialEq)]
enum Expect {
    Accepted,
    Rejected(u32, Option<Rejection>),
    LockedOut(u64),
}

impl Model {
    const THRESHOLD: u32 = 5;
    const FIRST: u64 = 60;
    const LONGEST: u64 = 3_600;
    /// Lowered from 100 so that sequences reach it.
    const DAILY: u32 = 12;
    const DAY: u64 = 86_400;

    fn fail(&mut self, reason: Option<Rejection>) -> Expect {
        if !matches!(self.day_start, Some(s) if self.now < s + Self::DAY) {
            self.day_start = Some(self.now);
            self.day_failures = 0;
            self.lockouts = 0;
        }
        let day_start = self.day_start.unwrap_or(self.now);
        self.day_failures += 1;
        self.failures += 1;
        let mut until = None;
        if self.failures >= Self::THRESHOLD {
            let length = (Self::FIRST << self.lockouts.min(20)).min(Self::LONGEST);
            self.lockouts += 1;
            self.failures = 0;
            until = Some(self.now + length);
        }
        if self.day_failures >= Self::DAILY {
            until = until.max(Some(day_start + Self::DAY));
        }
        if let Some(until) = until {
            self.locked_until = until;
            return Expect::LockedOut(until);
        }
        Expect::Rejected(
            (Self::THRESHOLD - self.failures).min(Self::DAILY - self.day_failures),
            reason,
        )
    }

    fn succeed(&mut self) -> Expect {
        self.failures = 0;
        self.lockouts = 0;
        self.locked_until = 0;
        Expect::Accepted
    }

    fn apply(&mut self, op: &Op) -> Option<Expect> {
        if let Op::Advance(secs) = op {
            self.now += secs;
            return None;
        }
        if self.locked_until > self.now {
            return Some(Expect::LockedOut(self.locked_until));
        }
        Some(match op {
            Op::Advance(_) => unreachable!(),
            Op::AppCode(ago) => {
                let step = self.now / 30;
                let typed = step.saturating_sub(*ago);
                // the window is the step before, this one and the next
                if *ago > 1 {
                    self.fail(Some(Rejection::WrongCode))
                } else if typed <= self.last_step {
                    self.fail(Some(Rejection::Replayed))
                } else {
                    self.last_step = typed;
                    self.succeed()
                }
            }
            Op::Wrong => self.fail(Some(Rejection::WrongCode)),
            Op::Malformed => self.fail(Some(Rejection::Malformed)),
            Op::Recovery(i) => {
                if self.used_recovery[*i] {
                    self.fail(None)
                } else {
                    self.used_recovery[*i] = true;
                    self.succeed()
                }
            }
        })
    }
}

fn seen(v: &Verdict<twofactor::Verified>) -> Expect {
    match v {
        Verdict::Accepted(_) => Expect::Accepted,
        Verdict::Rejected {
            attempts_left,
            reason,
        } => Expect::Rejected(*attempts_left, Some(*reason)),
        Verdict::LockedOut { until } => Expect::LockedOut(until.unix_seconds()),
        other => panic!("{other:?}"),
    }
}

proptest! {
    #![proptest_config(cases(300))]

    #[test]
    fn logins_follow_the_model(ops in prop::collection::vec(op(), 1..120)) {
        runtime().block_on(async {
            let h = Harness::new();
            let mut policy = policy();
            policy.lockout.daily_limit = Model::DAILY;
            let tf = h.instance_with(policy);
            let account = h.account("model");
            let app = h.begin(&tf, &account).await;
            let on = tf.confirm_setup(&account, &app.code(h.now())).await.unwrap();
            let codes: Vec<String> = on
                .accepted()
                .unwrap()
                .recovery_codes
                .unwrap()
                .codes()
                .iter()
                .map(|c| c.expose_secret().to_owned())
                .collect();
            let mut model = Model {
                now: h.now(),
                last_step: h.now() / 30,
                ..Model::default()
            };
            for (i, op) in ops.iter().enumerate() {
                let expected = model.apply(op);
                let typed = match op {
                    Op::Advance(secs) => {
                        h.advance(*secs);
                        continue;
                    }
                    Op::AppCode(ago) => app.code(h.now() - ago * 30),
                    Op::Wrong => app.wrong_code(h.now()),
                    Op::Malformed => "12a456".to_owned(),
                    Op::Recovery(i) => codes[*i].clone(),
                };
                let verdict = tf.verify_login(&account, typed.as_str(), None).await.unwrap();
                let mut got = seen(&verdict);
                // the model does not say why a used recovery code is refused
                if let (Some(Expect::Rejected(_, None)), Expect::Rejected(left, _)) = (&expected, &got) {
                    got = Expect::Rejected(*left, None);
                }
                prop_assert_eq!(Some(got), expected, "step {} ({:?}) of {:?}", i, op, ops);
            }
            Ok(())
        })?;
    }
}
