//! What the security page shows.

use super::code::{destination, masked};
use super::Ctx;
use crate::error::Result;
use crate::record::Record;
use crate::status::{Method, Status};

pub(crate) fn status(record: &Record, ctx: &Ctx<'_>) -> Result<Status> {
    let pending = record.pending.as_ref().filter(|p| p.expires > ctx.now);
    if let Some(e) = &record.enrolment {
        if let Some(since) = e.suspended {
            return Ok(Status::Suspended {
                methods: e.methods(),
                primary: e.primary,
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
