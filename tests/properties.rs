//! Property tests: any string or bytes at the public entry points gives
//! an answer or a typed error, never a panic, and changes nothing but the
//! failure counter; and two model-based tests, on the crate and on a
//! small reference model of the rules, compared after every step: random
//! sequences of logins (right, previous-step, replayed, wrong and
//! malformed codes, recovery codes, used ones again) and clock jumps
//! (replay, lockout doubling, daily limit, recovery codes used once); and
//! random lives of an account (setup, switch, a second app and email added
//! and removed, email login codes under the send limits, disable keeping
//! the settings or not, re-enable, an administrator's reset), each change
//! also tried with the password alone and with a wrong password.
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
    Account, Error, ImportedApp, Keep, MasterKey, Method, NewMethod, PhoneNumber, Rejection, Setup,
    UserStore, Verdict,
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

/// The failure counters, as a person would write the rules down: five
/// failures lock for a minute, each lockout of the day twice as long up
/// to an hour; a success clears the run; a daily cap locks until the day
/// (from its first failure) is over.
#[derive(Debug, Default, Clone)]
struct Guard {
    now: u64,
    failures: u32,
    lockouts: u32,
    locked_until: u64,
    day_start: Option<u64>,
    day_failures: u32,
}

/// What the model expects of a call.
#[derive(Debug, Clone, PartialEq)]
enum Expect {
    Accepted,
    /// Attempts left, and why when the model knows.
    Rejected(u32, Option<Rejection>),
    LockedOut(u64),
    /// An error, by its variant's name.
    Refused(&'static str),
}

impl Guard {
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

    fn locked(&self) -> Option<Expect> {
        (self.locked_until > self.now).then_some(Expect::LockedOut(self.locked_until))
    }
}

/// What the user types at login in the model-based tests.
#[derive(Debug, Clone, Copy)]
enum Typed {
    /// The code `ago` steps before now of one of the user's apps.
    App(Who, u64),
    /// A well-formed code that is none of the window's.
    Wrong,
    /// Something that is not a code.
    Malformed,
    /// Recovery code number `i` (of the ten).
    Recovery(usize),
}

/// The user's authenticators: the phone's app set up last, the one it
/// replaced, a tablet's app added beside it, and codes by email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Who {
    Phone,
    OldPhone,
    Tablet,
    Email,
}

impl Who {
    fn label(self) -> &'static str {
        match self {
            Who::Phone | Who::OldPhone => "Phone",
            Who::Tablet => "Tablet",
            Who::Email => "Email",
        }
    }

    fn method(self) -> Method {
        match self {
            Who::Email => Method::Email,
            _ => Method::App,
        }
    }
}

fn typed() -> impl Strategy<Value = Typed> {
    let who = prop::sample::select(vec![Who::Phone, Who::Phone, Who::OldPhone, Who::Tablet]);
    prop_oneof![
        4 => (who, 0u64..4).prop_map(|(w, ago)| Typed::App(w, ago)),
        3 => Just(Typed::Wrong),
        1 => Just(Typed::Malformed),
        1 => (0usize..10).prop_map(Typed::Recovery),
    ]
}

fn advance() -> impl Strategy<Value = u64> {
    prop::sample::select(vec![0u64, 1, 29, 30, 31, 59, 61, 120, 3_599, 3_600, 86_400])
}

/// The authenticators, the app step each last had accepted, the
/// recovery codes used: what decides whether a code is good.
#[derive(Debug, Clone)]
struct Factors {
    /// The authenticators set up, in the order added, with the last step
    /// each app had accepted.
    apps: Vec<(Who, u64)>,
    /// The kind asked for first.
    primary: Method,
    /// The recovery codes: whether each was used.
    recovery: Option<[bool; 10]>,
}

impl Default for Factors {
    fn default() -> Self {
        Self {
            apps: Vec::new(),
            primary: Method::App,
            recovery: None,
        }
    }
}

impl Factors {
    /// A code (not a recovery code) checked as the crate checks it at
    /// login and at a step-up: the window is the step before, this one
    /// and the next; a step once accepted from any app is spent on all.
    fn check(&mut self, guard: &mut Guard, typed: Typed) -> Expect {
        match typed {
            Typed::App(who, ago) => {
                let step = guard.now / 30;
                let Some(last) = self.apps.iter().find(|a| a.0 == who).map(|a| a.1) else {
                    return guard.fail(Some(Rejection::WrongCode));
                };
                if ago > 1 {
                    guard.fail(Some(Rejection::WrongCode))
                } else if step - ago <= last {
                    guard.fail(Some(Rejection::Replayed))
                } else {
                    for app in &mut self.apps {
                        app.1 = app.1.max(step - ago);
                    }
                    guard.succeed()
                }
            }
            Typed::Wrong => guard.fail(Some(Rejection::WrongCode)),
            Typed::Malformed => guard.fail(Some(Rejection::Malformed)),
            Typed::Recovery(i) => match &mut self.recovery {
                Some(used) if !used[i] => {
                    used[i] = true;
                    guard.succeed()
                }
                _ => guard.fail(None),
            },
        }
    }
}

/// One thing a user does in the login model.
#[derive(Debug, Clone)]
enum Op {
    /// The clock moves on this many seconds.
    Advance(u64),
    /// A login with this.
    Login(Typed),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => advance().prop_map(Op::Advance),
        9 => typed().prop_filter("the phone only", |t| !matches!(t, Typed::App(w, _) if *w != Who::Phone))
            .prop_map(Op::Login),
    ]
}

fn seen<T: std::fmt::Debug>(v: &twofactor::Result<Verdict<T>>) -> Expect {
    match v {
        Ok(Verdict::Accepted(_)) => Expect::Accepted,
        Ok(Verdict::Rejected {
            attempts_left,
            reason,
        }) => Expect::Rejected(*attempts_left, Some(*reason)),
        Ok(Verdict::LockedOut { until }) => Expect::LockedOut(until.unix_seconds()),
        Err(Error::NotEnabled) => Expect::Refused("NotEnabled"),
        Err(Error::AlreadyEnabled) => Expect::Refused("AlreadyEnabled"),
        Err(Error::StepUpRequired) => Expect::Refused("StepUpRequired"),
        Err(Error::NoSuchAuthenticator) => Expect::Refused("NoSuchAuthenticator"),
        Err(Error::TooManyAuthenticators { .. }) => Expect::Refused("TooManyAuthenticators"),
        Err(Error::MethodAlreadySetUp) => Expect::Refused("MethodAlreadySetUp"),
        Err(Error::MethodNotSetUp) => Expect::Refused("MethodNotSetUp"),
        Err(Error::RateLimited { .. }) => Expect::Refused("RateLimited"),
        other => panic!("{other:?}"),
    }
}

/// The model does not say why a used recovery code is refused.
fn compare(expected: &Expect, got: Expect) -> Expect {
    match (expected, got) {
        (Expect::Rejected(_, None), Expect::Rejected(left, _)) => Expect::Rejected(left, None),
        (_, got) => got,
    }
}

/// Recovery codes as the user reads them off the page.
fn read(codes: &twofactor::RecoveryCodes) -> Vec<String> {
    codes
        .codes()
        .iter()
        .map(|c| c.expose_secret().to_owned())
        .collect()
}

/// A confirmed app setup's recovery codes, as the user reads them.
fn codes_of(on: Verdict<twofactor::Enabled>) -> Vec<String> {
    read(&on.accepted().unwrap().recovery_codes.unwrap())
}

proptest! {
    #![proptest_config(cases(300))]

    /// Logins only: right, previous-step, replayed, wrong and malformed
    /// codes, recovery codes, used ones again, and clock jumps.
    #[test]
    fn logins_follow_the_model(ops in prop::collection::vec(op(), 1..120)) {
        runtime().block_on(async {
            let h = Harness::new();
            let mut policy = policy();
            policy.lockout.daily_limit = Guard::DAILY;
            let tf = h.instance_with(policy);
            let account = h.account("model");
            let app = h.begin(&tf, &account).await;
            let on = tf.confirm_setup(&account, &app.code(h.now())).await.unwrap();
            let codes = codes_of(on);
            let mut guard = Guard { now: h.now(), ..Guard::default() };
            let mut factors = Factors {
                apps: vec![(Who::Phone, h.now() / 30)],
                recovery: Some([false; 10]),
                ..Factors::default()
            };
            for (i, op) in ops.iter().enumerate() {
                let t = match op {
                    Op::Advance(secs) => {
                        guard.now += secs;
                        h.advance(*secs);
                        continue;
                    }
                    Op::Login(t) => *t,
                };
                let expected = guard.locked().unwrap_or_else(|| factors.check(&mut guard, t));
                let typed = match t {
                    Typed::App(_, ago) => app.code(h.now() - ago * 30),
                    Typed::Wrong => app.wrong_code(h.now()),
                    Typed::Malformed => "12a456".to_owned(),
                    Typed::Recovery(i) => codes[i].clone(),
                };
                let got = seen(&tf.verify_login(&account, typed.as_str(), None).await);
                prop_assert_eq!(compare(&expected, got), expected, "step {} ({:?}) of {:?}", i, op, ops);
            }
            Ok(())
        })?;
    }
}

/// How a factor change is proved in the lifecycle model.
#[derive(Debug, Clone, Copy)]
enum Proof {
    /// The password alone: what an attacker with the password has.
    Password,
    /// A wrong password with a code.
    WrongPassword,
    /// The password and this app's current code.
    Code(Who),
}

/// One thing a user (or an administrator) does in the lifecycle model.
#[derive(Debug, Clone)]
enum Act {
    Advance(u64),
    Login(Typed),
    /// Set a new app up on the phone, confirmed with its code: turns on
    /// from off, replaces the settings kept while suspended, and is a
    /// switch (the new app replaces the apps) while on.
    Setup(Proof),
    /// Add the tablet's app beside the phone's, confirmed with its code.
    AddTablet(Proof),
    /// Remove one authenticator (the last one turns it off, nothing kept).
    Remove(Who, Proof),
    /// Add codes by email beside the apps, confirmed with the code sent.
    AddEmail(Proof),
    /// A login with a code sent by email.
    EmailLogin,
    /// Turn off, keeping the settings or not.
    Disable(bool, Proof),
    Reenable(Proof),
    /// An administrator's reset.
    Reset,
}

fn proof() -> impl Strategy<Value = Proof> {
    prop_oneof![
        2 => Just(Proof::Password),
        1 => Just(Proof::WrongPassword),
        5 => Just(Proof::Code(Who::Phone)),
        1 => Just(Proof::Code(Who::Tablet)),
        1 => Just(Proof::Code(Who::OldPhone)),
    ]
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        10 => advance().prop_map(Act::Advance),
        10 => typed().prop_map(Act::Login),
        3 => proof().prop_map(Act::Setup),
        3 => proof().prop_map(Act::AddTablet),
        2 => (prop::sample::select(vec![Who::Phone, Who::Tablet, Who::Email]), proof())
            .prop_map(|(w, p)| Act::Remove(w, p)),
        2 => proof().prop_map(Act::AddEmail),
        4 => Just(Act::EmailLogin),
        4 => (any::<bool>(), proof()).prop_map(|(k, p)| Act::Disable(k, p)),
        4 => proof().prop_map(Act::Reenable),
        1 => Just(Act::Reset),
    ]
}

/// A life: set up first (as most accounts are), then anything.
fn life() -> impl Strategy<Value = Vec<Act>> {
    prop::collection::vec(act(), 1..100).prop_map(|mut acts| {
        acts.insert(0, Act::Setup(Proof::Password));
        acts
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Off,
    On,
    Suspended,
}

/// The account's whole life as the rules say it goes.
#[derive(Debug, Clone)]
struct Life {
    guard: Guard,
    state: State,
    factors: Factors,
    /// Codes sent: when, and whether for a login (else for a setup).
    sends: Vec<(u64, bool)>,
}

impl Life {
    /// The gate of a factor change: the password alone serves only while
    /// no factor is set up (refused before anything else); nothing is
    /// evaluated while locked out; a wrong password is counted; a code
    /// must be good (and is spent).
    fn gate(&mut self, proof: Proof) -> Option<Expect> {
        let needs_factor = self.state != State::Off;
        if matches!(proof, Proof::Password) && needs_factor {
            return Some(Expect::Refused("StepUpRequired"));
        }
        if let Some(locked) = self.guard.locked() {
            return Some(locked);
        }
        match proof {
            Proof::WrongPassword => Some(self.guard.fail(Some(Rejection::WrongPassword))),
            Proof::Code(who) if needs_factor => {
                match self.factors.check(&mut self.guard, Typed::App(who, 0)) {
                    Expect::Accepted => None,
                    refused => Some(refused),
                }
            }
            Proof::Password | Proof::Code(_) => None,
        }
    }

    /// Lowered from 5 so that sequences reach it.
    const SENDS_PER_HOUR: usize = 3;

    /// Whether the account's own send limits let a code go now: 30 s
    /// between two codes for one purpose, a few in any hour; sending
    /// records it. Nothing goes while locked out.
    fn send(&mut self, login: bool) -> bool {
        let now = self.guard.now;
        let recent: Vec<_> = self.sends.iter().filter(|s| s.0 + 3_600 > now).collect();
        let spaced = !recent.iter().any(|s| s.1 == login && s.0 + 30 > now);
        let ok = spaced && recent.len() < Life::SENDS_PER_HOUR && self.guard.locked().is_none();
        if ok {
            self.sends.push((now, login));
        }
        ok
    }

    /// Whether the address's own limit (ten a day, in windows from the
    /// first send) may hold a code back where the account's would not.
    fn address_may_refuse(&self) -> bool {
        let now = self.guard.now;
        self.sends.iter().filter(|s| s.0 + 2 * 86_400 > now).count() >= 10
    }

    fn forget(&mut self) {
        self.state = State::Off;
        self.factors = Factors::default();
    }

    /// What `act` should answer, and the state after it.
    fn apply(&mut self, act: &Act) -> Expect {
        match *act {
            Act::Advance(_) => Expect::Accepted,
            Act::Login(typed) => {
                if self.state != State::On {
                    return Expect::Refused("NotEnabled");
                }
                self.guard
                    .locked()
                    .unwrap_or_else(|| self.factors.check(&mut self.guard, typed))
            }
            Act::Setup(proof) => {
                if self.state == State::On && self.factors.apps.len() >= 5 {
                    return Expect::Refused("TooManyAuthenticators");
                }
                if let Some(stop) = self.gate(proof) {
                    return stop;
                }
                self.guard.succeed();
                let step = self.guard.now / 30;
                if self.state == State::On {
                    // a switch: the new app replaces the apps and the
                    // primary kind; the recovery codes stay
                    let primary = self.factors.primary;
                    self.factors
                        .apps
                        .retain(|a| a.0.method() != primary && a.0.method() != Method::App);
                    self.factors.apps.push((Who::Phone, step));
                    self.factors.primary = Method::App;
                } else {
                    self.state = State::On;
                    self.factors = Factors {
                        apps: vec![(Who::Phone, step)],
                        recovery: Some([false; 10]),
                        ..Factors::default()
                    };
                }
                Expect::Accepted
            }
            Act::AddTablet(proof) => {
                if self.state != State::On {
                    return Expect::Refused("NotEnabled");
                }
                if let Some(stop) = self.gate(proof) {
                    return stop;
                }
                self.guard.succeed();
                self.factors.apps.push((Who::Tablet, self.guard.now / 30));
                Expect::Accepted
            }
            Act::Remove(who, proof) => {
                if self.state != State::On {
                    return Expect::Refused("NotEnabled");
                }
                if let Some(stop) = self.gate(proof) {
                    return stop;
                }
                self.factors.apps.retain(|a| a.0 != who);
                let kinds = |m| self.factors.apps.iter().any(|a| a.0.method() == m);
                match self.factors.apps.first() {
                    None => self.forget(),
                    // the next kind set up becomes the primary
                    Some(next) if !kinds(self.factors.primary) => {
                        self.factors.primary = next.0.method();
                    }
                    Some(_) => {}
                }
                Expect::Accepted
            }
            Act::AddEmail(proof) => {
                if self.state != State::On {
                    return Expect::Refused("NotEnabled");
                }
                if self.factors.apps.iter().any(|a| a.0 == Who::Email) {
                    return Expect::Refused("MethodAlreadySetUp");
                }
                let before = self.clone();
                if let Some(stop) = self.gate(proof) {
                    return stop;
                }
                if !self.send(false) {
                    // nothing half-done: not even the code proved is spent
                    *self = before;
                    return Expect::Refused("RateLimited");
                }
                self.guard.succeed();
                self.factors.apps.push((Who::Email, 0));
                Expect::Accepted
            }
            Act::EmailLogin => {
                if self.state != State::On {
                    return Expect::Refused("NotEnabled");
                }
                if self.guard.locked().is_some() {
                    return Expect::Refused("RateLimited");
                }
                if !self.factors.apps.iter().any(|a| a.0 == Who::Email) {
                    return Expect::Refused("MethodNotSetUp");
                }
                if !self.send(true) {
                    return Expect::Refused("RateLimited");
                }
                self.guard.succeed()
            }
            Act::Disable(keep, proof) => {
                if self.state == State::Off || (keep && self.state == State::Suspended) {
                    return Expect::Refused("NotEnabled");
                }
                if let Some(stop) = self.gate(proof) {
                    return stop;
                }
                if keep {
                    self.state = State::Suspended;
                } else {
                    self.forget();
                }
                Expect::Accepted
            }
            Act::Reenable(proof) => {
                match self.state {
                    State::Off => return Expect::Refused("NotEnabled"),
                    State::On => return Expect::Refused("AlreadyEnabled"),
                    State::Suspended => {}
                }
                if let Some(stop) = self.gate(proof) {
                    return stop;
                }
                self.state = State::On;
                Expect::Accepted
            }
            Act::Reset => {
                if self.state == State::Off {
                    return Expect::Refused("NotEnabled");
                }
                self.forget();
                Expect::Accepted
            }
        }
    }

    /// What `status` should show: the state, the authenticators by name
    /// in the order added, the primary kind, and the recovery codes left
    /// while on.
    fn shown(&self) -> Shown {
        let names = self
            .factors
            .apps
            .iter()
            .map(|a| a.0.label().to_owned())
            .collect();
        let left = match (self.state, &self.factors.recovery) {
            (State::On, Some(used)) => used.iter().filter(|u| !**u).count(),
            _ => 0,
        };
        let primary = (self.state != State::Off).then_some(self.factors.primary);
        (self.state, names, primary, left)
    }
}

type Shown = (State, Vec<String>, Option<Method>, usize);

fn status_of(status: &twofactor::Status) -> Shown {
    let names = |a: &[twofactor::AuthenticatorInfo]| a.iter().map(|a| a.label.clone()).collect();
    match status {
        twofactor::Status::Off => (State::Off, Vec::new(), None, 0),
        twofactor::Status::On {
            authenticators,
            primary,
            recovery_codes_left,
            ..
        } => (
            State::On,
            names(authenticators),
            Some(*primary),
            *recovery_codes_left,
        ),
        twofactor::Status::Suspended {
            authenticators,
            primary,
            ..
        } => (State::Suspended, names(authenticators), Some(*primary), 0),
        other => panic!("{other:?}"),
    }
}

/// The user's side of the lifecycle test: their apps and recovery codes.
struct User {
    apps: std::collections::HashMap<Who, App>,
    codes: Vec<String>,
}

impl User {
    /// What the user types for `typed`, or `None` when the user has no
    /// such app or its code is one another app of the account would also
    /// take (one in a few hundred thousand: the model leaves it out).
    fn typed(&self, typed: Typed, now: u64, life: &Life) -> Option<String> {
        let code = match typed {
            Typed::App(who, ago) => self.apps.get(&who)?.code(now - ago * 30),
            Typed::Wrong => self.apps.get(&Who::Phone)?.wrong_code(now),
            Typed::Malformed => "12a456".to_owned(),
            Typed::Recovery(i) => return self.codes.get(i).cloned(),
        };
        let owner = match typed {
            Typed::App(who, _) => Some(who),
            _ => None,
        };
        let clash = life.factors.apps.iter().any(|(other, _)| {
            Some(*other) != owner
                && self
                    .apps
                    .get(other)
                    .is_some_and(|app| (0..3).any(|k| app.code(now + 30 - k * 30) == code))
        });
        (!clash).then_some(code)
    }
}

proptest! {
    #![proptest_config(cases(150))]

    /// The account's whole life: turning on, logins, adding and removing
    /// an app, disabling with or without the settings, re-enabling, an
    /// administrator's reset, clock jumps; each change tried with the
    /// password alone, a wrong password, and the code of an app the
    /// account has or no longer has. After every step the answer and the
    /// account's status are the model's.
    #[test]
    fn an_accounts_life_follows_the_model(acts in life()) {
        runtime().block_on(async {
            let h = Harness::new();
            let mut policy = policy();
            policy.lockout.daily_limit = Guard::DAILY;
            policy.codes.sends_per_hour = Life::SENDS_PER_HOUR as u8;
            let tf = h.instance_with(policy);
            let account = h.account("life");
            let (admin, admin_app, _) = h.admin(&tf, ADMINS[0]).await;
            let mut admin_step = h.now() / 30;
            let mut life = Life {
                guard: Guard { now: h.now(), ..Guard::default() },
                state: State::Off,
                factors: Factors::default(),
                sends: Vec::new(),
            };
            let mut user = User { apps: Default::default(), codes: Vec::new() };
            let pw = password();
            let wrong_pw = SecretString::from("not the password");
            for (i, act) in acts.iter().enumerate() {
                let now = h.now();
                // what the user types, when the act can be done at all
                let proof_code = |p: Proof| match p {
                    Proof::Code(who) => user.typed(Typed::App(who, 0), now, &life),
                    _ => Some(user.apps.get(&Who::Phone).map_or("000000".to_owned(), |a| a.wrong_code(now))),
                };
                let reauth = |p: Proof, code: &str| -> (SecretString, String) {
                    match p {
                        Proof::Password => (pw.clone(), String::new()),
                        Proof::WrongPassword => (wrong_pw.clone(), code.to_owned()),
                        Proof::Code(_) => (pw.clone(), code.to_owned()),
                    }
                };
                macro_rules! gated {
                    ($p:expr, |$r:ident| $call:expr) => {{
                        let Some(code) = proof_code($p) else { continue };
                        let (secret, code) = reauth($p, &code);
                        let $r = match $p {
                            Proof::Password => twofactor::Reauth::password(&secret),
                            _ => twofactor::Reauth::with_code(&secret, &code),
                        };
                        $call
                    }};
                }
                let got = match *act {
                    Act::Advance(secs) => {
                        h.advance(secs);
                        life.guard.now += secs;
                        continue;
                    }
                    Act::Login(t) => {
                        let Some(code) = user.typed(t, now, &life) else { continue };
                        seen(&tf.verify_login(&account, code.as_str(), None).await)
                    }
                    Act::Setup(p) => {
                        let begun = gated!(p, |r| tf
                            .begin_setup(&account, NewMethod::App.labelled("Phone"), r)
                            .await);
                        if let Ok(Verdict::Accepted(Setup::App(setup))) = &begun {
                            let phone = App::from_grouped(setup.secret.expose_secret());
                            let on = tf.confirm_setup(&account, &phone.code(now)).await.unwrap();
                            prop_assert!(on.is_accepted(), "{:?}", on);
                            // a switch keeps the codes; turning on makes new ones
                            if let Some(codes) = on.accepted().and_then(|e| e.recovery_codes) {
                                user.codes = read(&codes);
                            }
                            if let Some(old) = user.apps.insert(Who::Phone, phone) {
                                user.apps.insert(Who::OldPhone, old);
                            }
                        }
                        seen(&begun)
                    }
                    Act::AddTablet(p) => {
                        if life.factors.apps.iter().any(|a| a.0 == Who::Tablet) {
                            continue;
                        }
                        let begun = gated!(p, |r| tf
                            .add_fallback(&account, NewMethod::App.labelled("Tablet"), r)
                            .await);
                        if let Ok(Verdict::Accepted(Setup::App(setup))) = &begun {
                            let tablet = App::from_grouped(setup.secret.expose_secret());
                            let on = tf.confirm_setup(&account, &tablet.code(now)).await.unwrap();
                            prop_assert!(on.is_accepted(), "{:?}", on);
                            user.apps.insert(Who::Tablet, tablet);
                        }
                        seen(&begun)
                    }
                    Act::Remove(who, p) => {
                        let listed = tf.authenticators(&account).await.unwrap();
                        let Some(id) = listed.iter().find(|a| a.label == who.label()).map(|a| a.id.clone()) else {
                            continue;
                        };
                        seen(&gated!(p, |r| tf.remove_authenticator(&account, &id, r).await))
                    }
                    Act::AddEmail(p) => {
                        let begun = gated!(p, |r| tf.add_fallback(&account, NewMethod::Email, r).await);
                        if matches!(begun, Ok(Verdict::Accepted(_))) {
                            let on = tf.confirm_setup(&account, &h.last_code()).await.unwrap();
                            prop_assert!(on.is_accepted(), "{:?}", on);
                        }
                        seen(&begun)
                    }
                    Act::EmailLogin => match tf.send_code(&account, Method::Email).await {
                        Ok(_) => seen(&tf.verify_login(&account, h.last_code().as_str(), None).await),
                        Err(e) => seen::<()>(&Err(e)),
                    },
                    Act::Disable(keep, p) => {
                        let keep = if keep { Keep::Settings } else { Keep::Nothing };
                        seen(&gated!(p, |r| tf.disable(&account, r, keep).await))
                    }
                    Act::Reenable(p) => seen(&gated!(p, |r| tf.reenable(&account, r).await)),
                    Act::Reset => {
                        // the administrator's own code, of a step not yet used
                        let step = (admin_step + 1).max(now / 30 - 1);
                        if step > now / 30 + 1 {
                            continue;
                        }
                        admin_step = step;
                        let code = admin_app.code(step * 30);
                        let proof = twofactor::Reauth::with_code(&pw, &code);
                        seen(&tf.admin_reset(&admin, proof, &account, "lost phone").await)
                    }
                };
                let before = life.clone();
                let mut expected = life.apply(act);
                if got == Expect::Refused("RateLimited") && before.address_may_refuse() {
                    // the address's daily window, which the model leaves out
                    life = before;
                    expected = got.clone();
                }
                prop_assert_eq!(compare(&expected, got), expected.clone(), "step {} ({:?}) of {:?}", i, act, acts);
                let status = tf.status(&account).await.unwrap();
                prop_assert_eq!(status_of(&status), life.shown(),
                    "status after step {} ({:?}) of {:?}", i, act, acts);
            }
            Ok(())
        })?;
    }
}
