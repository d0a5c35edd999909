//! What the flow tests share: a clock, a store, recording ports, and a
//! player for the user's authenticator app.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod race;

/// Implements `LimitStore` for a test's wrapper of a store by handing
/// every call to the store in `self.$field`, for wrappers that only change
/// how records are kept.
#[macro_export]
macro_rules! limit_store_via {
    ($ty:ty, $field:tt) => {
        #[twofactor::async_trait]
        impl twofactor::LimitStore for $ty {
            async fn load_limit(
                &self,
                key: &str,
            ) -> Result<Option<twofactor::Stored>, twofactor::PortError> {
                self.$field.load_limit(key).await
            }
            async fn save_limit(
                &self,
                key: &str,
                doc: &[u8],
                expected: u64,
                expires: twofactor::Timestamp,
            ) -> Result<twofactor::SaveOutcome, twofactor::PortError> {
                self.$field.save_limit(key, doc, expected, expires).await
            }
            async fn purge_limits(
                &self,
                now: twofactor::Timestamp,
            ) -> Result<u64, twofactor::PortError> {
                self.$field.purge_limits(now).await
            }
        }
    };
}

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use twofactor::testing::{Authenticator, ManualClock, Recorder};
use twofactor::NewMethod;
use twofactor::{
    Account, Admins, Argon2Passwords, Clock, Event, EventKind, EventSink, Grant, MasterKey,
    MemoryStore, Policy, Rejection, Setup, Timestamp, TwoFactor, TwoFactorBuilder, Verdict,
};

/// The administrators of every harness's instances.
pub const ADMINS: [&str; 2] = ["root", "support-7"];

/// A wrong code's rejection with `attempts_left`.
pub fn wrong<T>(attempts_left: u32) -> Verdict<T> {
    Verdict::Rejected {
        attempts_left,
        reason: Rejection::WrongCode,
    }
}

/// A rejection with `attempts_left` for `reason`.
pub fn rejected<T>(attempts_left: u32, reason: Rejection) -> Verdict<T> {
    Verdict::Rejected {
        attempts_left,
        reason,
    }
}

pub const T0: u64 = 1_700_000_000;
pub const PASSWORD: &str = "correct horse battery staple";

/// The default policy, with recovery codes hashed cheaply: the tests are
/// about the rules, not the cost.
pub fn policy() -> Policy {
    let mut p = Policy::default();
    p.recovery.memory_kib = 64;
    p.recovery.passes = 1;
    p
}

pub fn password() -> SecretString {
    SecretString::from(PASSWORD)
}

/// Keeps every audit event.
#[derive(Clone, Default)]
pub struct Events(pub Arc<Mutex<Vec<Event>>>);

impl Events {
    pub fn kinds(&self) -> Vec<EventKind> {
        self.0.lock().unwrap().iter().map(|e| e.kind).collect()
    }
    pub fn count(&self, kind: EventKind) -> usize {
        self.kinds().into_iter().filter(|k| *k == kind).count()
    }
}

#[async_trait]
impl EventSink for Events {
    async fn record(&self, event: &Event) {
        self.0.lock().unwrap().push(event.clone());
    }
}

pub struct Harness {
    pub store: MemoryStore,
    pub clock: ManualClock,
    pub events: Events,
    pub outbox: Recorder,
    pub passwords: Argon2Passwords,
    key: [u8; 32],
    run: String,
}

impl Harness {
    pub fn new() -> Self {
        // Real argon2id, at a low cost so that tests run quickly.
        let passwords = Argon2Passwords::with_params(64, 1, 1).unwrap();
        Self {
            store: MemoryStore::new(),
            clock: ManualClock::new(Timestamp::from_unix_seconds(T0)),
            events: Events::default(),
            outbox: Recorder::new(),
            passwords,
            key: [7; 32],
            run: {
                let mut r = [0u8; 6];
                rand::TryRng::try_fill_bytes(&mut rand::rngs::SysRng, &mut r).unwrap();
                data_encoding::HEXLOWER.encode(&r)
            },
        }
    }

    /// A random id for this harness, to keep runs on one database apart.
    pub fn run_id(&self) -> &str {
        &self.run
    }

    /// An account whose password is [`PASSWORD`].
    pub fn account(&self, id: &str) -> Account {
        self.passwords.set(id, &password()).unwrap();
        Account::new(id, format!("{id}@example.com"))
    }

    /// Another app server: its own `TwoFactor`, the same store and key.
    pub fn instance(&self) -> TwoFactor {
        self.instance_with(policy())
    }

    pub fn instance_with(&self, policy: Policy) -> TwoFactor {
        self.builder()
            .store(self.store.clone())
            .passwords(self.passwords.clone())
            .email(self.outbox.clone())
            .sms(self.outbox.clone())
            .admins(Admins::new(ADMINS))
            .policy(policy)
            .build()
            .unwrap()
    }

    /// An instance with only the store and the passwords: the builder's
    /// defaults otherwise (its policy, no administrators, no sender, no
    /// security keys).
    pub fn bare(&self) -> TwoFactor {
        self.builder()
            .store(self.store.clone())
            .passwords(self.passwords.clone())
            .build()
            .unwrap()
    }

    /// A builder with this harness's issuer, key, clock and events; the
    /// caller adds the store, the passwords and what else it tests.
    pub fn builder(&self) -> TwoFactorBuilder {
        TwoFactor::builder()
            .issuer("Acme Portal")
            .key(MasterKey::new(self.key))
            .clock(self.clock.clone())
            .events(self.events.clone())
    }

    pub fn now(&self) -> u64 {
        self.clock.now().unix_seconds()
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// Sets the app up and confirms it; returns the user's authenticator.
    pub async fn set_up_app(&self, tf: &TwoFactor, account: &Account) -> App {
        let app = self.begin(tf, account).await;
        let code = app.code(self.now());
        assert!(tf
            .confirm_setup(account, &code)
            .await
            .unwrap()
            .is_accepted());
        app
    }

    /// A step-up grant for `account`, proved with the password and `app`'s
    /// code 30 s on (a step not used yet).
    pub async fn grant(&self, tf: &TwoFactor, account: &Account, app: &App) -> Grant {
        self.advance(30);
        match tf
            .step_up(account, &password(), &app.code(self.now()))
            .await
            .unwrap()
        {
            Verdict::Accepted(grant) => grant,
            other => panic!("step-up refused: {other:?}"),
        }
    }

    /// An administrator (one of [`ADMINS`]) with the app on and a live
    /// step-up grant.
    pub async fn admin(&self, tf: &TwoFactor, id: &str) -> (Account, App, Grant) {
        let admin = self.account(id);
        let app = self.set_up_app(tf, &admin).await;
        let grant = self.grant(tf, &admin, &app).await;
        (admin, app, grant)
    }

    /// Turns texted codes on for `account`, to `number`.
    pub async fn set_up_sms(&self, tf: &TwoFactor, account: &Account, number: &str) {
        let number = twofactor::PhoneNumber::parse(number).unwrap();
        let begun = tf
            .begin_setup(account, NewMethod::Sms(number), &password())
            .await
            .unwrap();
        assert!(begun.is_accepted(), "{begun:?}");
        self.confirm_last_code(tf, account).await;
    }

    /// Adds `new` as a fallback under `grant`, confirmed with the code sent.
    pub async fn add_fallback(
        &self,
        tf: &TwoFactor,
        account: &Account,
        new: NewMethod,
        grant: &Grant,
    ) {
        let begun = tf.add_fallback(account, new, grant).await.unwrap();
        assert!(begun.is_accepted(), "{begun:?}");
        self.confirm_last_code(tf, account).await;
    }

    /// Confirms the pending setup with the last code sent.
    pub async fn confirm_last_code(&self, tf: &TwoFactor, account: &Account) {
        assert!(tf
            .confirm_setup(account, &self.last_code())
            .await
            .unwrap()
            .is_accepted());
    }

    pub async fn begin(&self, tf: &TwoFactor, account: &Account) -> App {
        match tf
            .begin_setup(account, NewMethod::App, &password())
            .await
            .unwrap()
        {
            Verdict::Accepted(Setup::App(setup)) => App::from_grouped(setup.secret.expose_secret()),
            other => panic!("setup refused: {other:?}"),
        }
    }
}

/// The user's authenticator app.
pub struct App {
    pub secret: Vec<u8>,
    app: Authenticator,
}

impl App {
    pub fn from_grouped(grouped: &str) -> Self {
        let app = Authenticator::from_secret_text(&SecretString::from(grouped)).unwrap();
        Self {
            secret: app.secret().to_vec(),
            app,
        }
    }

    pub fn code(&self, unix: u64) -> String {
        self.app.code_at(Timestamp::from_unix_seconds(unix))
    }

    /// A well-formed code that is none of the window's around `unix`.
    pub fn wrong_code(&self, unix: u64) -> String {
        self.app.wrong_code_at(Timestamp::from_unix_seconds(unix))
    }
}

impl Harness {
    /// The last code sent, as the user reads it.
    pub fn last_code(&self) -> String {
        self.outbox
            .last_code()
            .map(|c| c.expose_secret().to_owned())
            .expect("a code was sent")
    }

    /// The security notices sent so far, oldest first.
    pub fn notices(&self) -> Vec<twofactor::Change> {
        self.outbox
            .messages()
            .into_iter()
            .filter_map(|r| match r.message {
                twofactor::Message::Notice(n) => Some(n.change),
                _ => None,
            })
            .collect()
    }

    /// How many messages were sent so far.
    pub fn sent(&self) -> usize {
        self.outbox.messages().len()
    }
}

/// The throwaway PostgreSQL that `scripts/test` starts. A missing server
/// fails the test with what to do; it is never skipped.
pub fn postgres_url() -> String {
    std::env::var("TWOFACTOR_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "TWOFACTOR_POSTGRES_URL is not set. The PostgreSQL tests need a server: \
             run `bash scripts/test`, which starts a throwaway one (or set the variable \
             to a postgres:// URL of a database the tests may write to)."
        )
    })
}

/// A fresh SQLite file path in the temporary directory.
pub fn sqlite_path(name: &str) -> std::path::PathBuf {
    let mut r = [0u8; 6];
    rand::TryRng::try_fill_bytes(&mut rand::rngs::SysRng, &mut r).unwrap();
    std::env::temp_dir().join(format!(
        "twofactor-{name}-{}.db",
        data_encoding::HEXLOWER.encode(&r)
    ))
}

/// The id of `account`'s authenticator labelled `label`.
#[allow(dead_code)]
pub async fn id_of(tf: &TwoFactor, account: &Account, label: &str) -> String {
    tf.authenticators(account)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.label == label)
        .map(|a| a.id)
        .unwrap_or_else(|| panic!("no {label}"))
}

/// Whether `code` logs `account` in (no remembered device offered).
#[allow(dead_code)]
pub async fn logs_in(tf: &TwoFactor, account: &Account, code: &str) -> bool {
    tf.verify_login(account, code, None)
        .await
        .unwrap()
        .is_accepted()
}

/// Whether removing `account`'s authenticator labelled `label` with
/// `grant` is accepted.
#[allow(dead_code)]
pub async fn removes(tf: &TwoFactor, account: &Account, label: &str, grant: &Grant) -> bool {
    let id = id_of(tf, account, label).await;
    tf.remove_authenticator(account, &id, grant)
        .await
        .unwrap()
        .is_accepted()
}

/// A stored document as JSON: the record's fields by name.
#[allow(dead_code)]
pub fn document_json(document: &[u8]) -> serde_json::Value {
    twofactor::__internal::document_json(document).expect("a readable record")
}

#[allow(unused_imports)]
pub use twofactor::__internal::holds;
