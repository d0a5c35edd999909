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
//! [`LimitStore`], [`PasswordVerifier`], [`Clock`], [`EmailSender`],
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
//! use twofactor::{Account, Argon2Passwords, Error, Keep, LoginStep, ManualClock, MasterKey,
//!                 MemoryStore, Method, NewMethod, Rejection, Setup, Status, Timestamp,
//!                 TwoFactor, Verdict};
//! use twofactor::methods::totp::Totp;
//! use secrecy::{ExposeSecret, SecretString};
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
//! // The user's app computes a code from the secret; here we play the app.
//! let secret = data_encoding::BASE32_NOPAD.decode(app.secret.expose_secret().replace(' ', "").as_bytes())?;
//! let app_code = |t: Timestamp| Totp::new(twofactor::Algorithm::Sha1, 6, 30)
//!     .code_at(&secret, t.unix_seconds()).to_string();
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
//! let code = app_code(clock_now(&clock));
//! assert!(tf_req.verify_login(&alice, &code, None).await?.is_accepted());
//! // The same code again is a replay.
//! assert_eq!(tf_req.verify_login(&alice, &code, None).await?,
//!            Verdict::Rejected { attempts_left: 4, reason: Rejection::Replayed });
//!
//! // Off again: the password alone is not enough while it is on…
//! assert!(matches!(tf.disable(&alice, &password, Keep::Nothing).await, Err(Error::StepUpRequired)));
//! // …a step-up (password and a current code) gives a grant for ten minutes.
//! clock.advance(std::time::Duration::from_secs(30));
//! let grant = tf.step_up(&alice, &password, &app_code(clock_now(&clock))).await?
//!     .accepted().expect("right password and code");
//! assert!(tf.disable(&alice, &grant, Keep::Nothing).await?.is_accepted());
//! assert_eq!(tf.begin_login(&alice, None).await?, LoginStep::NotRequired);
//! # Ok(()) }
//! # fn clock_now(c: &ManualClock) -> Timestamp { twofactor::Clock::now(c) }
//! ```
//!
//! The security defaults are in [`Policy`]; the design, threat model and
//! state diagram are in `docs/manual.md`.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(hidden)]
pub mod __internal;
mod account;
mod admins;
mod clock;
mod core;
mod error;
mod event;
#[cfg(test)]
mod golden;
mod message;
pub mod methods;
mod password;
mod policy;
mod ports;
mod reauth;
mod record;
mod service;
mod setup;
mod source;
mod status;
pub mod store;
pub mod transport;
mod verdict;

pub use account::Account;
pub use admins::{Admins, NoAdmins};
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use error::{Error, PortError, Result};
pub use event::{Event, EventKind, TracingEvents};
pub use message::{Change, CodeMessage, Message, Notice, Purpose};
pub use methods::phone::PhoneNumber;
pub use methods::seal::MasterKey;
pub use password::{hash_password, verify_phc, Argon2Passwords};
pub use policy::{
    AfterReset, Algorithm, CodePolicy, DevicePolicy, FactorChange, LimitPolicy, LockoutPolicy,
    Policy, RecoveryPolicy, StepUpPolicy, TotpPolicy,
};
pub use ports::{
    AdminPolicy, EmailSender, EventSink, LimitStore, Listed, PasswordVerifier, SaveOutcome,
    SmsSender, Stored, UserStore,
};
pub use reauth::Reauth;
pub use record::{Record, SCHEMA_VERSION};
/// The secret-holding types of the API come from `secrecy`, re-exported so
/// that hosts use the same version.
pub use secrecy;
pub use service::{Rotation, TwoFactor, TwoFactorBuilder};
pub use setup::{AppSetup, CodeSetup, Enabled, Keep, NewMethod, RecoveryCodes, Setup};
pub use source::Source;
pub use status::{AccountSummary, AdminAction, Method, Page, State, Status};
#[cfg(feature = "memory")]
pub use store::MemoryStore;
#[cfg(feature = "postgres")]
pub use store::PostgresStore;
#[cfg(feature = "sqlite")]
pub use store::SqliteStore;
#[cfg(feature = "console")]
pub use transport::{ConsoleEmail, ConsoleSms};
pub use verdict::{
    DeviceInfo, Grant, LoginStep, Proof, Rejection, RememberedDevice, Sent, Verdict, Verified,
};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
