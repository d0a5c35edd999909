//! Schema 2: read only, and upgraded in memory through schema 3.
//!
//! Schema 3 records which master key made each sealed value and each keyed
//! hash. Values of schema 2 and earlier were all made before key ids were
//! kept: they are marked [`KeyId::UNKNOWN`], and every key in hand is tried
//! on them until their record is next saved, sealed again under the
//! current key.

use serde::Deserialize;

use super::{v3, EmailFactor, Goal, Guard, Mac, RecoverySet, SendLog};
use crate::crypto::keys::KeyId;
use crate::crypto::seal::Sealed;
use crate::model::message::Purpose;
use crate::model::status::Method;
use crate::model::time::Timestamp;
use crate::policy::Algorithm;

/// A schema-2 record, field for field in its stored order.
#[derive(Deserialize)]
pub(super) struct Record {
    #[allow(dead_code)]
    pub(super) schema: u32,
    pub(super) factors: Option<Factors>,
    pub(super) pending: Option<PendingSetup>,
    pub(super) code: Option<OutstandingCode>,
    pub(super) sends: Vec<SendLog>,
    pub(super) recovery: Option<RecoverySet>,
    pub(super) devices: Vec<Device>,
    pub(super) grants: Vec<GrantRecord>,
    pub(super) stamp: Option<String>,
    pub(super) guard: Guard,
    pub(super) setup_required: Option<Timestamp>,
}

#[derive(Deserialize)]
pub(super) struct Factors {
    pub(super) primary: Method,
    pub(super) since: Timestamp,
    pub(super) all: Vec<Factor>,
    pub(super) suspended: Option<Timestamp>,
}

#[derive(Deserialize)]
pub(super) enum Factor {
    App(AppFactor),
    Email(EmailFactor),
    Sms(SmsFactor),
}

#[derive(Deserialize)]
pub(super) struct SmsFactor {
    number: SealedWithoutKey,
}

#[derive(Deserialize)]
pub(super) struct AppFactor {
    secret: SealedWithoutKey,
    algorithm: Algorithm,
    digits: u8,
    period: u64,
    last_step: Option<u64>,
}

/// A sealed value before key ids: nonce and ciphertext.
#[derive(Deserialize)]
struct SealedWithoutKey {
    #[serde(with = "serde_bytes")]
    nonce: Vec<u8>,
    #[serde(with = "serde_bytes")]
    ciphertext: Vec<u8>,
}

#[derive(Deserialize)]
pub(super) struct PendingSetup {
    pub(super) factor: Factor,
    pub(super) expires: Timestamp,
    pub(super) goal: Goal,
    pub(super) grant: Option<Mac>,
}

#[derive(Deserialize)]
pub(super) struct Device {
    pub(super) id: String,
    #[serde(with = "serde_bytes")]
    pub(super) mac: Vec<u8>,
    pub(super) label: String,
    pub(super) created: Timestamp,
    pub(super) expires: Timestamp,
    pub(super) last_used: Option<Timestamp>,
}

#[derive(Deserialize)]
pub(super) struct OutstandingCode {
    pub(super) purpose: Purpose,
    pub(super) method: Method,
    #[serde(with = "serde_bytes")]
    pub(super) mac: Vec<u8>,
    pub(super) expires: Timestamp,
    pub(super) tries_left: u8,
}

#[derive(Deserialize)]
pub(super) struct GrantRecord {
    #[serde(with = "serde_bytes")]
    mac: Vec<u8>,
    created: Timestamp,
    expires: Timestamp,
}

impl From<SealedWithoutKey> for Sealed {
    fn from(old: SealedWithoutKey) -> Self {
        Sealed {
            key: KeyId::UNKNOWN,
            nonce: old.nonce,
            ciphertext: old.ciphertext,
        }
    }
}

impl From<Factor> for super::Factor {
    fn from(old: Factor) -> Self {
        match old {
            Factor::App(app) => super::Factor::App(super::AppFactor {
                secret: app.secret.into(),
                algorithm: app.algorithm,
                digits: app.digits,
                period: app.period,
                last_step: app.last_step,
            }),
            Factor::Email(email) => super::Factor::Email(email),
            Factor::Sms(sms) => super::Factor::Sms(super::SmsFactor {
                number: sms.number.into(),
            }),
        }
    }
}

impl From<Factors> for v3::Factors {
    fn from(old: Factors) -> Self {
        v3::Factors {
            primary: old.primary,
            since: old.since,
            all: old.all.into_iter().map(Into::into).collect(),
            suspended: old.suspended,
        }
    }
}

impl From<PendingSetup> for v3::PendingSetup {
    fn from(old: PendingSetup) -> Self {
        v3::PendingSetup {
            factor: old.factor.into(),
            expires: old.expires,
            goal: old.goal,
            grant: old.grant,
        }
    }
}

impl From<OutstandingCode> for super::OutstandingCode {
    fn from(old: OutstandingCode) -> Self {
        super::OutstandingCode {
            purpose: old.purpose,
            method: old.method,
            key: KeyId::UNKNOWN,
            mac: old.mac,
            expires: old.expires,
            tries_left: old.tries_left,
        }
    }
}

impl From<Device> for super::Device {
    fn from(old: Device) -> Self {
        super::Device {
            id: old.id,
            key: KeyId::UNKNOWN,
            mac: old.mac,
            label: old.label,
            created: old.created,
            expires: old.expires,
            last_used: old.last_used,
        }
    }
}

impl From<GrantRecord> for super::GrantRecord {
    fn from(old: GrantRecord) -> Self {
        super::GrantRecord {
            key: KeyId::UNKNOWN,
            mac: old.mac,
            created: old.created,
            expires: old.expires,
        }
    }
}

impl From<Record> for v3::Record {
    fn from(old: Record) -> Self {
        v3::Record {
            schema: 3,
            factors: old.factors.map(Into::into),
            pending: old.pending.map(Into::into),
            code: old.code.map(Into::into),
            sends: old.sends,
            recovery: old.recovery,
            devices: old.devices.into_iter().map(Into::into).collect(),
            grants: old.grants.into_iter().map(Into::into).collect(),
            stamp: old.stamp,
            guard: old.guard,
            setup_required: old.setup_required,
        }
    }
}
