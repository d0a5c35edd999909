//! Two-factor authentication for web applications.
//!
//! `twofactor` gives a customer portal everything behind "Two-factor
//! authentication: Enabled": setting up an authenticator app (QR code and
//! secret) or codes by email or text message, fallback methods, recovery
//! codes, remembered devices, asking for the code at login, lockout after
//! failed attempts, switching method without a gap, security notices,
//! turning it off (keeping the settings or not), and an administrator's
//! list, reset and unlock. The host keeps its own users, passwords and
//! database, and plugs them in through small traits ([`UserStore`] and
//! [`LimitStore`], [`PasswordCheck`], [`Clock`], [`EmailSender`],
//! [`SmsSender`], [`EventSink`], [`AdminPolicy`]).
//!
//! A code is accepted at most once and every failed attempt is counted, even
//! when requests for one account race across many app servers: every change
//! is a compare-and-swap on the account's record. A password alone never
//! changes a factor: while two-factor authentication is on, every change to
//! it needs the password and a current second factor, or a short-lived
//! step-up grant obtained with both ([`Reauth`], [`TwoFactor::step_up`]).
//! Sends and failures are also limited per destination and per request
//! source, across accounts ([`TwoFactor::with_source`]).
//!
//! ```
//! use twofactor::prelude::*;
//! use twofactor::secrecy::{ExposeSecret, SecretString};
//! use twofactor::testing::{Authenticator, ManualClock};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let passwords = Argon2Passwords::new()?;
//! let password = SecretString::from("correct horse battery staple");
//! passwords.set("user-42", &password)?;
//! let clock = ManualClock::new(Timestamp::from_unix_seconds(1_700_000_000));
//!
//! let tf = TwoFactor::builder()
//!     .issuer("Acme Portal")
//!     .key(MasterKey::generate()?)     // load a fixed 32-byte key in production
//!     .store(MemoryStore::new())
//!     .passwords(passwords)
//!     .clock(clock.clone())
//!     .build()?;
//!
//! let alice = Account::new("user-42", "alice@example.com");
//! assert_eq!(tf.status(&alice).await?, Status::Off);
//!
//! // Setup: the password again, then a QR code to scan.
//! let Verdict::Accepted(Setup::App(app)) = tf.begin_setup(&alice, NewMethod::App, &password).await?
//! else { panic!("wrong password or locked out") };
//! assert!(app.uri.expose_secret().starts_with("otpauth://totp/Acme%20Portal:alice@example.com?"));
//!
//! // The user's app computes a code from the secret; here a test plays the app.
//! let phone = Authenticator::from_setup(&app)?;
//! let app_code = |t: Timestamp| phone.code_at(t);
//! let now = Timestamp::from_unix_seconds(1_700_000_000);
//! let on = tf.confirm_setup(&alice, &app_code(now)).await?.accepted().expect("right code");
//! // Ten recovery codes, to show once.
//! assert_eq!(on.recovery_codes.map(|c| c.codes().len()), Some(10));
//! assert!(tf.status(&alice).await?.is_on());
//!
//! // Login, 30 seconds later: the password was right, now the code. A
//! // per-request handle also limits guesses and sends per client address.
//! let tf_req = tf.with_source("192.0.2.7".parse::<std::net::IpAddr>()?);
//! clock.advance(std::time::Duration::from_secs(30));
//! assert!(matches!(tf_req.begin_login(&alice, None).await?, LoginStep::Challenge { method: Method::App, .. }));
//! let code = app_code(clock.now());
//! assert!(tf_req.verify_login(&alice, &code, None).await?.is_accepted());
//! // The same code again is a replay.
//! assert_eq!(tf_req.verify_login(&alice, &code, None).await?,
//!            Verdict::Rejected { attempts_left: 4, reason: Rejection::Replayed });
//!
//! // Off again: the password alone is not enough while it is on…
//! assert!(matches!(tf.disable(&alice, &password, Keep::Nothing).await, Err(Error::StepUpRequired)));
//! // …a step-up (password and a current code) gives a grant for ten minutes.
//! clock.advance(std::time::Duration::from_secs(30));
//! let grant = tf.step_up(&alice, &password, &app_code(clock.now())).await?
//!     .accepted().expect("right password and code");
//! assert!(tf.disable(&alice, &grant, Keep::Nothing).await?.is_accepted());
//! assert_eq!(tf.begin_login(&alice, None).await?, LoginStep::NotRequired);
//! # Ok(()) }
//! ```
//!
//! The security defaults are in [`Policy`]; the design, threat model and
//! state diagram are in `docs/manual.md`.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// How the code is laid out, top to bottom (docs/manual.md tells more):
// `service` (the one place that does I/O) → `core` (every rule, pure) →
// `crypto` (building blocks on audited crates) and `record` (the stored
// document); `model` holds the value types a host handles, `ports` the
// traits it plugs in, `provided` the default implementations, `store` and
// `transport` the adapters, `testing` the helpers for hosts' tests.

#[cfg(feature = "__internal")]
#[doc(hidden)]
pub mod __internal;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
mod core;
mod crypto;
mod error;
#[cfg(test)]
mod golden;
mod model;
mod policy;
mod ports;
pub mod prelude;
mod provided;
mod record;
mod service;
pub mod store;
pub mod testing;
pub mod transport;

/// `async_trait`, re-exported so that implementing a port needs no
/// dependency of its own: `#[twofactor::async_trait]`.
pub use async_trait::async_trait;
/// The secret-holding types of the API come from `secrecy`, re-exported so
/// that hosts use the same version.
pub use secrecy;

// The service.
pub use service::{Rotation, TwoFactor, TwoFactorBuilder};

// What calls take and answer.
pub use model::account::Account;
pub use model::import::{ExportedApp, ImportedApp};
pub use model::key::{KeyKind, KeyRequest, KeySetup, Response};
pub use model::phone::PhoneNumber;
pub use model::reauth::Reauth;
pub use model::requirement::{Requirement, SetupDue, Strength};
pub use model::setup::{
    AppSetup, Changed, CodeSetup, Enabled, Keep, NewAuthenticator, NewMethod, RecoveryCodes,
    Regenerated, Setup,
};
pub use model::source::Source;
pub use model::status::{
    AccountSummary, AdminAction, AuthenticatorInfo, Method, Page, State, Status,
};
pub use model::time::Timestamp;
pub use model::verdict::{
    DeviceInfo, Grant, LoginStep, Proof, Rejection, RememberedDevice, Sent, SignInCheck, Verdict,
    Verified,
};

// What is sent and reported.
pub use model::event::{Event, EventKind, Named};
pub use model::message::{Change, CodeMessage, Message, Notice, Purpose};

// Configuration.
pub use crypto::keys::MasterKey;
pub use policy::{
    AfterReset, Algorithm, AuthenticatorPolicy, CodePolicy, DevicePolicy, FactorChange,
    LimitPolicy, LockoutPolicy, Policy, RecoveryPolicy, StepUpPolicy, TotpPolicy, WhileRequired,
};

// Errors.
pub use error::{Error, ErrorKind, ParseError, PortError, Result};

// The ports a host plugs in, and the implementations provided.
pub use ports::{
    AdminPolicy, Clock, EmailSender, EventSink, LimitStore, Listed, Offload, PasswordCheck,
    RequirementPolicy, SaveOutcome, SmsSender, Stored, UserStore,
};
pub use provided::admins::{Admins, NoAdmins};
pub use provided::offload::Inline;
#[cfg(feature = "tokio")]
pub use provided::offload::TokioBlocking;
pub use provided::passwords::{hash_password, verify_phc, Argon2Passwords};
pub use provided::requirements::Requirements;
#[cfg(feature = "webauthn")]
pub use provided::security_keys::{Attestation, SecurityKeys};
pub use provided::system_clock::SystemClock;
pub use provided::tracing_events::TracingEvents;
#[cfg(feature = "memory")]
pub use store::MemoryStore;
#[cfg(feature = "postgres")]
pub use store::{PostgresOptions, PostgresStore};
#[cfg(feature = "sqlite")]
pub use store::{SqliteDurability, SqliteOptions, SqliteStore};
#[cfg(feature = "console")]
pub use transport::{ConsoleEmail, ConsoleSms};
/// webauthn-rs, whose types the browser's security-key calls take and give
/// (`CreationChallengeResponse`, `RegisterPublicKeyCredential`,
/// `RequestChallengeResponse`, `PublicKeyCredential`), at the version this
/// crate uses.
#[cfg(feature = "webauthn")]
pub use webauthn_rs;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
