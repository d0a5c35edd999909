//! Schema 1, as twofactor 0.1 wrote it: read only, upgraded to schema 2
//! (and on to the current schema) in memory.
//!
//! Schema 2 added step-up grants (and the one a pending setup was begun
//! with), the purpose of each logged send, and the "setup required" mark.
//! Every other part is stored as schema 2 stored it, so it is read with the
//! schema-2 types.

use serde::Deserialize;

use super::v2;
use super::{Goal, Guard, RecoverySet, SendLog};
use crate::model::message::Purpose;
use crate::model::time::Timestamp;

/// A schema-1 record, field for field in its stored order.
#[derive(Deserialize)]
pub(super) struct Record {
    schema: u32,
    factors: Option<v2::Factors>,
    pending: Option<PendingSetup>,
    code: Option<v2::OutstandingCode>,
    sends: Vec<Timestamp>,
    recovery: Option<RecoverySet>,
    devices: Vec<v2::Device>,
    stamp: Option<String>,
    guard: Guard,
}

/// A schema-1 pending setup: no grant.
#[derive(Deserialize)]
struct PendingSetup {
    factor: v2::Factor,
    expires: Timestamp,
    goal: Goal,
}

impl From<Record> for v2::Record {
    fn from(old: Record) -> Self {
        v2::Record {
            schema: old.schema,
            factors: old.factors,
            pending: old.pending.map(|p| v2::PendingSetup {
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
