//! What the security page shows.

use crate::clock::Timestamp;
use crate::record::Record;
use crate::status::Status;

pub(crate) fn status(record: &Record, now: Timestamp) -> Status {
    if let Some(e) = &record.enrolment {
        return Status::On {
            methods: e.methods(),
            primary: e.primary,
            since: e.since,
        };
    }
    match &record.pending {
        Some(p) if p.expires > now => Status::Pending {
            method: p.factor.method(),
            expires: p.expires,
        },
        _ => Status::Off,
    }
}
