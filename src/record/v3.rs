//! Schema 3: read only, and upgraded to the current schema in memory.
//!
//! Schema 4 keeps each authenticator with an id, a label, when it was
//! added and when it was last used, so that a user can hold several. A
//! schema-3 record has at most one of each kind: each becomes an
//! authenticator with the kind's name as id (`app`, `email`, `sms`) and as
//! label, added when two-factor authentication was turned on, not yet used.

use serde::Deserialize;

use super::{
    Device, Entry, Factor, Goal, GrantRecord, Guard, Mac, OutstandingCode, RecoverySet, SendLog,
    SCHEMA_VERSION,
};
use crate::model::status::Method;
use crate::model::time::Timestamp;

/// A schema-3 record, field for field in its stored order.
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
pub(super) struct PendingSetup {
    pub(super) factor: Factor,
    pub(super) expires: Timestamp,
    pub(super) goal: Goal,
    pub(super) grant: Option<Mac>,
}

/// The id and label of the one authenticator of a kind a schema-3 record
/// could hold.
fn named(method: Method) -> (String, String) {
    (method.as_str().to_owned(), method.heading().to_owned())
}

impl From<Factors> for super::Factors {
    fn from(old: Factors) -> Self {
        let all = old
            .all
            .into_iter()
            .map(|factor| {
                let (id, label) = named(factor.method());
                Entry {
                    id,
                    label,
                    created: old.since,
                    last_used: None,
                    factor,
                }
            })
            .collect();
        super::Factors {
            primary: old.primary,
            since: old.since,
            all,
            suspended: old.suspended,
        }
    }
}

impl From<PendingSetup> for super::PendingSetup {
    fn from(old: PendingSetup) -> Self {
        super::PendingSetup {
            factor: old.factor,
            label: None,
            expires: old.expires,
            goal: old.goal,
            grant: old.grant,
        }
    }
}

impl From<Record> for super::Record {
    fn from(old: Record) -> Self {
        super::Record {
            schema: SCHEMA_VERSION,
            factors: old.factors.map(Into::into),
            pending: old.pending.map(Into::into),
            code: old.code,
            sends: old.sends,
            recovery: old.recovery,
            devices: old.devices,
            grants: old.grants,
            stamp: old.stamp,
            guard: old.guard,
            setup_required: old.setup_required,
            key_challenge: None,
        }
    }
}
