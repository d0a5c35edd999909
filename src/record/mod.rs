//! The one document the library keeps per user, and how documents of
//! earlier schema versions are read.

mod v1;
mod v2;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::message::Purpose;
use crate::methods::recovery::{Cost, Slot};
use crate::methods::seal::{KeyId, Sealed};
use crate::methods::totp::Totp;
use crate::policy::Algorithm;
use crate::status::Method;

/// The schema version this build writes. It reads this one and every
/// earlier one, upgrading in memory; the next save writes this one.
pub const SCHEMA_VERSION: u32 = 3;

/// Everything the library knows of one user's second factor: what is
/// enrolled, what is being set up, and the failure counters.
///
/// The store keeps it as an opaque document ([`Record::encode`]); secrets in
/// it are sealed, and `Debug` shows none of them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    schema: u32,
    pub(crate) enrolment: Option<Enrolment>,
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
}

impl Default for Record {
    fn default() -> Self {
        Self {
            schema: SCHEMA_VERSION,
            enrolment: None,
            pending: None,
            code: None,
            sends: Vec::new(),
            recovery: None,
            devices: Vec::new(),
            grants: Vec::new(),
            stamp: None,
            guard: Guard::default(),
            setup_required: None,
        }
    }
}

impl Record {
    /// The record as a stored document: postcard, a compact binary serde
    /// format, whose first value is the schema version.
    ///
    /// The format follows the declaration order of every field and enum
    /// variant below; reordering any of them is a schema change.
    pub fn encode(&self) -> Result<Vec<u8>> {
        // Sized for a record with an app, ten recovery codes and a few
        // devices, so that writing one seldom grows the buffer.
        postcard::to_extend(self, Vec::with_capacity(1024))
            .map_err(|e| Error::CorruptRecord(Box::new(e)))
    }

    /// Reads a document written by [`encode`](Self::encode), of this schema
    /// version or an earlier one (upgraded in memory: the next save writes
    /// the current version). A document of an unknown schema version, a
    /// broken one or one with bytes left over is a typed error.
    pub fn decode(document: &[u8]) -> Result<Self> {
        let (schema, _) = postcard::take_from_bytes::<u32>(document).map_err(corrupt)?;
        match schema {
            SCHEMA_VERSION => whole::<Record>(document),
            2 => whole::<v2::Record>(document).map(Record::from),
            1 => whole::<v1::Record>(document)
                .map(v2::Record::from)
                .map(Record::from),
            0 => Err(Error::CorruptRecord(
                "schema version 0 was never written".into(),
            )),
            newer => Err(Error::UnsupportedSchema(newer)),
        }
    }
}

fn corrupt(e: postcard::Error) -> Error {
    Error::CorruptRecord(Box::new(e))
}

/// `document` as one `T`, with no bytes left over.
fn whole<T: serde::de::DeserializeOwned>(document: &[u8]) -> Result<T> {
    match postcard::take_from_bytes::<T>(document).map_err(corrupt)? {
        (value, []) => Ok(value),
        _ => Err(Error::CorruptRecord("bytes after the record".into())),
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("schema", &self.schema)
            .field("enrolment", &self.enrolment)
            .field("pending", &self.pending)
            .field("code", &self.code)
            .field("sends", &self.sends)
            .field("recovery", &self.recovery)
            .field("devices", &self.devices)
            .field("grants", &self.grants.len())
            .field("stamp", &self.stamp)
            .field("guard", &self.guard)
            .field("setup_required", &self.setup_required)
            .finish()
    }
}

/// Second factors in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Enrolment {
    /// The method asked for at login.
    pub(crate) primary: Method,
    /// When two-factor authentication was turned on.
    pub(crate) since: Timestamp,
    /// Every enrolled factor, the primary among them.
    pub(crate) factors: Vec<Factor>,
    /// Since when it is turned off with the settings kept.
    pub(crate) suspended: Option<Timestamp>,
}

impl Enrolment {
    /// The enrolled authenticator app, if there is one.
    pub(crate) fn app_mut(&mut self) -> Option<&mut AppFactor> {
        self.factors.iter_mut().find_map(|f| match f {
            Factor::App(app) => Some(app),
            _ => None,
        })
    }

    /// The enrolled factor of `method`, if there is one.
    pub(crate) fn factor(&self, method: Method) -> Option<&Factor> {
        self.factors.iter().find(|f| f.method() == method)
    }

    /// Whether `method` is enrolled.
    pub(crate) fn has(&self, method: Method) -> bool {
        self.factor(method).is_some()
    }

    /// The methods enrolled, primary first.
    pub(crate) fn methods(&self) -> Vec<Method> {
        let mut methods = vec![self.primary];
        methods.extend(
            self.factors
                .iter()
                .map(Factor::method)
                .filter(|m| *m != self.primary),
        );
        methods
    }
}

/// One enrolled (or pending) second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Factor {
    /// An authenticator app.
    App(AppFactor),
    /// Codes emailed to the account's address (which the host keeps).
    Email(EmailFactor),
    /// Codes texted to a number.
    Sms(SmsFactor),
}

impl Factor {
    pub(crate) fn method(&self) -> Method {
        match self {
            Factor::App(_) => Method::App,
            Factor::Email(_) => Method::Email,
            Factor::Sms(_) => Method::Sms,
        }
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
    /// Replaces the enrolled SMS number with the factor's.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let mut r = Record::default();
        r.guard.failures = 3;
        let back = Record::decode(&r.encode().unwrap()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn broken_and_future_documents_are_typed_errors() {
        let corrupt = |doc: &[u8]| matches!(Record::decode(doc), Err(Error::CorruptRecord(_)));
        assert!(corrupt(b""));
        assert!(corrupt(&[0]), "schema 0 was never written");
        assert!(matches!(
            Record::decode(&[4]),
            Err(Error::UnsupportedSchema(4))
        ));
        assert!(matches!(
            Record::decode(&[0x80, 0x01, 0xff]),
            Err(Error::UnsupportedSchema(128))
        ));
        let mut doc = sample().encode().unwrap();
        for len in 0..doc.len() {
            assert!(corrupt(&doc[..len]), "cut to {len} bytes");
        }
        doc.push(0);
        assert!(corrupt(&doc), "a byte left over");
    }

    /// Any single changed byte decodes to a record or a typed error, in
    /// this schema and the one before.
    #[test]
    fn changed_bytes_never_panic() {
        for doc in [
            sample().encode().unwrap(),
            SCHEMA_2.to_vec(),
            SCHEMA_1.to_vec(),
        ] {
            for at in 0..doc.len() {
                for byte in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                    let mut changed = doc.clone();
                    changed[at] = byte;
                    match Record::decode(&changed) {
                        Ok(_) | Err(Error::CorruptRecord(_) | Error::UnsupportedSchema(_)) => {}
                        Err(other) => panic!("{other:?}"),
                    }
                }
            }
        }
    }

    fn sample() -> Record {
        Record {
            enrolment: Some(Enrolment {
                primary: Method::Sms,
                since: Timestamp::from_unix_seconds(300),
                factors: vec![Factor::Email(EmailFactor {})],
                suspended: None,
            }),
            code: Some(OutstandingCode {
                purpose: Purpose::Login,
                method: Method::Email,
                key: KeyId::UNKNOWN,
                mac: vec![0xaa],
                expires: Timestamp::from_unix_seconds(5),
                tries_left: 4,
            }),
            stamp: Some("s".into()),
            guard: Guard {
                failures: 2,
                ..Guard::default()
            },
            ..Record::default()
        }
    }

    /// `sample()` as schema 1 stored it (twofactor 0.1).
    #[rustfmt::skip]
    const SCHEMA_1: [u8; 27] = [
        1, // schema
        1, 2, 0xac, 0x02, 1, 1, 0, // enrolment: Sms, since 300, [Email], not suspended
        0, // pending
        1, 1, 1, 1, 0xaa, 5, 4, // code: Login, Email, mac, expires 5, 4 tries
        0, 0, 0, // sends, recovery, devices
        1, 1, b's', // stamp
        2, 0, 0, 0, 0, // guard
    ];

    /// `sample()` as schema 2 stored it.
    #[rustfmt::skip]
    const SCHEMA_2: [u8; 29] = [
        2, // schema
        1, 2, 0xac, 0x02, 1, 1, 0, // enrolment: Sms, since 300, [Email], not suspended
        0, // pending
        1, 1, 1, 1, 0xaa, 5, 4, // code: Login, Email, mac, expires 5, 4 tries
        0, 0, 0, 0, // sends, recovery, devices, grants
        1, 1, b's', // stamp
        2, 0, 0, 0, 0, // guard
        0, // setup required
    ];

    /// The stored form is postcard in declaration order: fields, then enum
    /// variants by position. Reordering either changes these bytes, and is
    /// a schema change.
    #[test]
    fn the_stored_form_is_fixed() {
        assert_eq!(
            Record::default().encode().unwrap(),
            [3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        #[rustfmt::skip]
        let expected = [
            3, // schema
            1, 2, 0xac, 0x02, 1, 1, 0, // enrolment: Sms, since 300, [Email], not suspended
            0, // pending
            1, 1, 1, 0, 1, 0xaa, 5, 4, // code: Login, Email, key 0, mac, expires 5, 4 tries
            0, 0, 0, 0, // sends, recovery, devices, grants
            1, 1, b's', // stamp
            2, 0, 0, 0, 0, // guard
            0, // setup required
        ];
        assert_eq!(sample().encode().unwrap(), expected);
        assert_eq!(Record::decode(&expected).unwrap(), sample());
        assert_eq!(
            Record::decode(&SCHEMA_2).unwrap(),
            sample(),
            "schema 2 reads"
        );
    }

    /// A schema-1 document reads as the same record in this schema (through
    /// schema 2), and is written back as this schema.
    #[test]
    fn schema_1_is_upgraded() {
        let upgraded = Record::decode(&SCHEMA_1).unwrap();
        assert_eq!(upgraded, sample());
        assert_eq!(
            upgraded.encode().unwrap().first(),
            Some(&(SCHEMA_VERSION as u8))
        );
        let mut with_sends = SCHEMA_1;
        with_sends[16] = 1; // one send…
        let mut doc = with_sends[..17].to_vec();
        doc.push(7); // …at 7 s
        doc.extend_from_slice(&with_sends[17..]);
        let r = Record::decode(&doc).unwrap();
        assert_eq!(
            r.sends,
            [SendLog {
                at: Timestamp::from_unix_seconds(7),
                purpose: Purpose::Login
            }]
        );
    }
}
