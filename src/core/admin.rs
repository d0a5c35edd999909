//! What an administration page may see and do.

use super::device::clean;
use super::disable::forget;
use super::{restamp, Ctx, Decision, Effect};
use crate::error::{Error, Result};
use crate::event::EventKind;
use crate::message::Change;
use crate::record::Record;
use crate::status::{AccountSummary, Admin, State};

/// The longest reason kept.
const LONGEST_REASON: usize = 500;

/// One account's line on the page, from its stored record: state and
/// methods, nothing secret (nothing is unsealed).
pub(crate) fn summary(
    user: String,
    record: Result<Record>,
    now: crate::clock::Timestamp,
) -> AccountSummary {
    let Ok(record) = record else {
        return AccountSummary {
            user,
            state: State::Unreadable,
            methods: Vec::new(),
        };
    };
    let (state, methods) = match &record.enrolment {
        Some(e) if e.suspended.is_some() => (State::Suspended, e.methods()),
        Some(e) => (State::On, e.methods()),
        None if record.pending.as_ref().is_some_and(|p| p.expires > now) => {
            (State::Pending, Vec::new())
        }
        None => (State::Off, Vec::new()),
    };
    AccountSummary {
        user,
        state,
        methods,
    }
}

/// Deletes the account's setup, as the user's own delete does, for a user
/// who lost the phone: the password alone logs in until it is set up again.
pub(crate) fn reset(
    mut record: Record,
    ctx: &Ctx<'_>,
    admin: &Admin,
    reason: &str,
) -> Result<Decision<()>> {
    if record.enrolment.is_none() && record.pending.is_none() {
        return Err(Error::NotEnabled);
    }
    forget(&mut record);
    restamp(&mut record, ctx)?;
    let reason: String = clean(reason).chars().take(LONGEST_REASON).collect();
    Ok(Decision {
        save: Some(record),
        effects: vec![
            Effect::AdminEvent {
                kind: EventKind::AdminReset,
                admin: clean(admin.id()),
                reason,
            },
            Effect::Notice(Change::AdminReset),
        ],
        reply: (),
    })
}
