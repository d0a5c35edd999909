//! The one document the library keeps per user, as this build writes it
//! (schema 4).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::crypto::keys::KeyId;
use crate::crypto::recovery_hash::{Cost, Slot};
use crate::crypto::seal::Sealed;
use crate::crypto::totp::Totp;
use crate::model::key::KeyKind;
use crate::model::message::Purpose;
use crate::model::status::Method;
use crate::model::time::Timestamp;
use crate::policy::Algorithm;

/// Everything the library knows of one user's second factor: what is
/// set up, what is being set up, and the failure counters.
///
/// The store keeps it as an opaque document (`Record::encode`); secrets in
/// it are sealed, and `Debug` shows none of them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Record {
    pub(super) schema: u32,
    pub(crate) factors: Option<Factors>,
    pub(crate) pending: Option<PendingSetup>,
    pub(crate) code: Option<OutstandingCode>,
    /// Codes sent in the last hour, oldest first.
    pub(crate) sends: Vec<SendLog>,
    pub(crate) recovery: Option<RecoverySet>,
    pub(crate) devices: Vec<Device>,
    /// Live step-up grants.
    pub(crate) grants: Vec<GrantRecord>,
    /// Changes with every change of factors, so that a host can end the
    /// account's other sessions.
    pub(crate) stamp: Option<String>,
    pub(crate) guard: Guard,
    /// Since when the user must set a method up before logging in (an
    /// administrator's reset, by policy).
    pub(crate) setup_required: Option<Timestamp>,
    /// The security-key challenge last handed out, until it is answered.
    pub(crate) key_challenge: Option<KeyChallenge>,
}

impl Default for Record {
    fn default() -> Self {
        Self {
            schema: super::SCHEMA_VERSION,
            factors: None,
            pending: None,
            code: None,
            sends: Vec::new(),
            recovery: None,
            devices: Vec::new(),
            grants: Vec::new(),
            stamp: None,
            guard: Guard::default(),
            setup_required: None,
            key_challenge: None,
        }
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("schema", &self.schema)
            .field("factors", &self.factors)
            .field("pending", &self.pending)
            .field("code", &self.code)
            .field("sends", &self.sends)
            .field("recovery", &self.recovery)
            .field("devices", &self.devices)
            .field("grants", &self.grants.len())
            .field("stamp", &self.stamp)
            .field("guard", &self.guard)
            .field("setup_required", &self.setup_required)
            .field("key_challenge", &self.key_challenge)
            .finish()
    }
}

/// Second factors in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Factors {
    /// The kind of factor asked for at login.
    pub(crate) primary: Method,
    /// When two-factor authentication was turned on.
    pub(crate) since: Timestamp,
    /// Every authenticator set up, in the order they were added.
    pub(crate) all: Vec<Entry>,
    /// Since when it is turned off with the settings kept.
    pub(crate) suspended: Option<Timestamp>,
}

impl Factors {
    /// The authenticator apps set up.
    pub(crate) fn apps(&self) -> impl Iterator<Item = &AppFactor> {
        self.app_entries().map(|(_, _, app)| app)
    }

    /// The authenticator apps set up, each with its place among all the
    /// authenticators and its entry.
    pub(crate) fn app_entries(&self) -> impl Iterator<Item = (usize, &Entry, &AppFactor)> {
        self.all
            .iter()
            .enumerate()
            .filter_map(|(i, e)| match &e.factor {
                Factor::App(app) => Some((i, e, app)),
                _ => None,
            })
    }

    /// The first factor set up of `method`, if there is one (email and
    /// SMS have at most one).
    pub(crate) fn factor(&self, method: Method) -> Option<&Factor> {
        self.all
            .iter()
            .map(|e| &e.factor)
            .find(|f| f.method() == method)
    }

    /// Whether `method` is set up.
    pub(crate) fn has(&self, method: Method) -> bool {
        self.factor(method).is_some()
    }

    /// How many authenticators of `method` are set up.
    pub(crate) fn count(&self, method: Method) -> usize {
        self.all
            .iter()
            .filter(|e| e.factor.method() == method)
            .count()
    }

    /// The authenticator of this id, if there is one.
    pub(crate) fn entry(&self, id: &str) -> Option<&Entry> {
        self.all.iter().find(|e| e.id == id)
    }

    /// The kinds set up, primary first, each once.
    pub(crate) fn methods(&self) -> Vec<Method> {
        let mut methods = vec![self.primary];
        for e in &self.all {
            let m = e.factor.method();
            if !methods.contains(&m) {
                methods.push(m);
            }
        }
        methods
    }
}

/// One authenticator set up: the factor, and what a person knows it by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// Stable within the record: `email`, `sms`, `app` (one set up before
    /// authenticators had ids), or the kind and eight random characters.
    pub(crate) id: String,
    /// The name the user gave it.
    pub(crate) label: String,
    pub(crate) created: Timestamp,
    pub(crate) last_used: Option<Timestamp>,
    pub(crate) factor: Factor,
}

impl Entry {
    /// How an event names it.
    pub(crate) fn named(&self) -> crate::model::event::Named {
        crate::model::event::Named {
            id: self.id.clone(),
            label: self.label.clone(),
        }
    }

    /// How a page lists it, with `primary` the kind asked for first.
    pub(crate) fn info(&self, primary: Method) -> crate::model::status::AuthenticatorInfo {
        let method = self.factor.method();
        crate::model::status::AuthenticatorInfo {
            id: self.id.clone(),
            method,
            label: self.label.clone(),
            primary: method == primary,
            created: self.created,
            last_used: self.last_used,
        }
    }
}

/// One set-up (or pending) second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Factor {
    /// An authenticator app.
    App(AppFactor),
    /// Codes emailed to the account's address (which the host keeps).
    Email(EmailFactor),
    /// Codes texted to a number.
    Sms(SmsFactor),
    /// A security key or passkey.
    Key(KeyFactor),
}

impl Factor {
    pub(crate) fn method(&self) -> Method {
        match self {
            Factor::App(_) => Method::App,
            Factor::Email(_) => Method::Email,
            Factor::Sms(_) => Method::Sms,
            Factor::Key(_) => Method::Key,
        }
    }
}

/// A security key or passkey: webauthn-rs's own JSON of it, as its serde
/// writes it (its types are made for JSON). Nothing in it is secret: a
/// credential id and a public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KeyFactor {
    pub(crate) kind: KeyKind,
    pub(crate) stage: KeyStage,
}

/// Where a key is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum KeyStage {
    /// Being registered (a pending setup): the ceremony's state.
    Registering(String),
    /// Registered: the credential (id, public key, signature counter).
    Registered(String),
}

/// A security-key challenge handed to the browser, single-use: the
/// ceremony's state, what it is for, and until when it holds.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KeyChallenge {
    pub(crate) purpose: Purpose,
    pub(crate) kind: KeyKind,
    pub(crate) state: String,
    pub(crate) expires: Timestamp,
}

impl fmt::Debug for KeyChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyChallenge")
            .field("purpose", &self.purpose)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// Codes go to the account's current email address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EmailFactor {}

/// Codes go to this number, sealed at rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SmsFactor {
    pub(crate) number: Sealed,
}

/// An authenticator app: its sealed secret, the code parameters it was set
/// up with, and the last time step it was accepted for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AppFactor {
    pub(crate) secret: Sealed,
    pub(crate) algorithm: Algorithm,
    pub(crate) digits: u8,
    pub(crate) period: u64,
    /// Codes for this step or earlier are refused as replays.
    pub(crate) last_step: Option<u64>,
}

impl AppFactor {
    pub(crate) fn totp(&self) -> Totp {
        Totp::new(self.algorithm, self.digits, self.period)
    }
}

/// A setup begun and not yet confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PendingSetup {
    pub(crate) factor: Factor,
    /// The label the user gave it, if any, as checked when the setup began
    /// (trimmed, or made from the kind, when it is confirmed).
    pub(crate) label: Option<String>,
    pub(crate) expires: Timestamp,
    pub(crate) goal: Goal,
    /// The keyed hash of the step-up grant that authorised it, if one did:
    /// that grant outlives the change when it is confirmed.
    pub(crate) grant: Option<Mac>,
}

/// A keyed hash, stored as bytes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Mac(#[serde(with = "serde_bytes")] pub(crate) Vec<u8>);

impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Mac([REDACTED])")
    }
}

/// What a confirmed setup does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Goal {
    /// Turns two-factor authentication on with the factor as primary.
    TurnOn,
    /// Adds the factor as a fallback.
    AddFallback,
    /// Replaces the SMS number with the factor's.
    ReplaceNumber,
    /// Makes the factor the primary in place of the current one.
    Switch,
}

/// Recovery codes: one argon2id hash per slot, `None` once used, and the
/// argon2id parameters they were hashed with.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RecoverySet {
    pub(crate) created: Timestamp,
    pub(crate) cost: Cost,
    pub(crate) slots: Vec<Option<Slot>>,
}

impl RecoverySet {
    pub(crate) fn left(&self) -> usize {
        self.slots.iter().flatten().count()
    }
}

impl fmt::Debug for RecoverySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecoverySet")
            .field("created", &self.created)
            .field("left", &self.left())
            .finish_non_exhaustive()
    }
}

/// A remembered device: the keyed hash of its token (and which master key
/// made it), and what to show.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Device {
    pub(crate) id: String,
    pub(crate) key: KeyId,
    #[serde(with = "serde_bytes")]
    pub(crate) mac: Vec<u8>,
    pub(crate) label: String,
    pub(crate) created: Timestamp,
    pub(crate) expires: Timestamp,
    pub(crate) last_used: Option<Timestamp>,
}

impl fmt::Debug for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Device")
            .field("id", &self.id)
            .field("label", &self.label)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// The one code sent and not yet used: its keyed hash (and which master key
/// made it) and what bounds it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OutstandingCode {
    pub(crate) purpose: Purpose,
    pub(crate) method: Method,
    pub(crate) key: KeyId,
    #[serde(with = "serde_bytes")]
    pub(crate) mac: Vec<u8>,
    pub(crate) expires: Timestamp,
    pub(crate) tries_left: u8,
}

impl OutstandingCode {
    /// Whether it can still be used for `purpose` at `now`.
    pub(crate) fn live_for(&self, purpose: Purpose, now: Timestamp) -> bool {
        self.purpose == purpose && self.expires > now && self.tries_left > 0
    }
}

impl fmt::Debug for OutstandingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutstandingCode")
            .field("purpose", &self.purpose)
            .field("method", &self.method)
            .field("mac", &"[REDACTED]")
            .field("expires", &self.expires)
            .field("tries_left", &self.tries_left)
            .finish()
    }
}

/// A code sent: when, and what for (the resend spacing is per purpose).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SendLog {
    pub(crate) at: Timestamp,
    pub(crate) purpose: Purpose,
}

/// A step-up grant: the keyed hash of its token (and which master key made
/// it), and until when it holds.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GrantRecord {
    pub(crate) key: KeyId,
    #[serde(with = "serde_bytes")]
    pub(crate) mac: Vec<u8>,
    pub(crate) created: Timestamp,
    pub(crate) expires: Timestamp,
}

impl fmt::Debug for GrantRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrantRecord")
            .field("mac", &"[REDACTED]")
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// Failure counters and lockout.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Guard {
    /// Consecutive failures since the last success or lockout.
    pub(crate) failures: u32,
    /// Lockouts since the last success (each doubles the next).
    pub(crate) lockouts: u32,
    /// Nothing is evaluated before this moment.
    pub(crate) locked_until: Option<Timestamp>,
    /// Start of the current 24-hour window, and failures in it.
    pub(crate) day_start: Option<Timestamp>,
    pub(crate) day_failures: u32,
}
