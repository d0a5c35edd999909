//! Schema 1, as twofactor 0.1 wrote it: read only, and upgraded to the
//! current schema in memory.
//!
//! Schema 2 added step-up grants (and the one a pending setup was begun
//! with), the purpose of each logged send, and the "setup required" mark.
//! Every other part is stored as schema 1 stored it, so it is read with the
//! current types.

use serde::Deserialize;

use super::{
    Device, Enrolment, Factor, Goal, Guard, OutstandingCode, RecoverySet, SendLog, SCHEMA_VERSION,
};
use crate::clock::Timestamp;
use crate::message::Purpose;

/// A schema-1 record, field for field in its stored order.
#[derive(Deserialize)]
pub(super) struct Record {
    #[allow(dead_code)]
    schema: u32,
    enrolment: Option<Enrolment>,
    pending: Option<PendingSetup>,
    code: Option<OutstandingCode>,
    sends: Vec<Timestamp>,
    recovery: Option<RecoverySet>,
    devices: Vec<Device>,
    stamp: Option<String>,
    guard: Guard,
}

/// A schema-1 pending setup: no grant.
#[derive(Deserialize)]
struct PendingSetup {
    factor: Factor,
    expires: Timestamp,
    goal: Goal,
}

impl From<Record> for super::Record {
    fn from(old: Record) -> Self {
        Self {
            schema: SCHEMA_VERSION,
            enrolment: old.enrolment,
            pending: old.pending.map(|p| super::PendingSetup {
                factor: p.factor,
                expires: p.expires,
                goal: p.goal,
                grant: None,
            }),
            code: old.code,
            // Schema 1 kept no purpose: count each as a login code, which
            // holds back the next login code as schema 1 did.
            sends: old
                .sends
                .into_iter()
                .map(|at| SendLog {
                    at,
                    purpose: Purpose::Login,
                })
                .collect(),
            recovery: old.recovery,
            devices: old.devices,
            grants: Vec::new(),
            stamp: old.stamp,
            guard: old.guard,
            setup_required: None,
        }
    }
}
