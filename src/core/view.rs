//! What the pages show: an account's own security page, and its line on an
//! administration page.

use super::authenticators::list;
use super::sending::{destination, masked};
use super::Ctx;
use crate::error::Result;
use crate::model::status::{AccountSummary, Method, State, Status};
use crate::record::Record;

pub(crate) fn status(record: &Record, ctx: &Ctx<'_>) -> Result<Status> {
    let pending = record.pending.as_ref().filter(|p| p.expires > ctx.now);
    if let Some(e) = &record.factors {
        if let Some(since) = e.suspended {
            return Ok(Status::Suspended {
                methods: e.methods(),
                primary: e.primary,
                authenticators: list(e),
                since,
            });
        }
        let phone = match e.factor(Method::Sms) {
            Some(f) => destination(f, ctx)?.map(|to| masked(Method::Sms, &to)),
            None => None,
        };
        return Ok(Status::On {
            methods: e.methods(),
            primary: e.primary,
            authenticators: list(e),
            since: e.since,
            phone,
            pending: pending.map(|p| p.factor.method()),
            recovery_codes_left: record.recovery.as_ref().map_or(0, |r| r.left()),
            devices: record
                .devices
                .iter()
                .filter(|d| d.expires > ctx.now)
                .count(),
        });
    }
    Ok(match (pending, record.setup_required) {
        (Some(p), _) => Status::Pending {
            method: p.factor.method(),
            expires: p.expires,
        },
        (None, Some(since)) => Status::SetupRequired { since },
        (None, None) => Status::Off,
    })
}

/// One account's line on the page, from its stored record: state and
/// methods, nothing secret (nothing is unsealed).
pub(crate) fn summary(
    user: String,
    record: Result<Record>,
    now: crate::model::time::Timestamp,
) -> AccountSummary {
    let Ok(record) = record else {
        return AccountSummary {
            user,
            state: State::Unreadable,
            methods: Vec::new(),
            authenticators: Vec::new(),
        };
    };
    let state = match &record.factors {
        Some(e) if e.suspended.is_some() => State::Suspended,
        Some(_) => State::On,
        None if record.pending.as_ref().is_some_and(|p| p.expires > now) => State::Pending,
        None if record.setup_required.is_some() => State::SetupRequired,
        None => State::Off,
    };
    AccountSummary {
        user,
        state,
        methods: record.factors.as_ref().map_or(Vec::new(), |e| e.methods()),
        authenticators: record.factors.as_ref().map_or(Vec::new(), list),
    }
}
