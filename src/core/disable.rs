//! Turning two-factor authentication off.

use super::{reauthenticate, settings_changed, Ctx, Decision};
use crate::error::{Error, Result};
use crate::event::EventKind;
use crate::message::Change;
use crate::record::Record;
use crate::verdict::Verdict;

/// Whether there is anything to disable; checked before the password is.
pub(crate) fn check(record: &Record) -> Result<()> {
    if record.enrolment.is_none() {
        return Err(Error::NotEnabled);
    }
    Ok(())
}

/// Turns two-factor authentication off and forgets the factors, numbers and
/// any code sent. The failure counters and the send log stay: disabling is
/// no way round a lockout or a send limit.
pub(crate) fn disable(
    mut record: Record,
    ctx: &Ctx<'_>,
    password_ok: bool,
) -> Result<Decision<Verdict<()>>> {
    check(&record)?;
    if let Some(end) = reauthenticate(&record, ctx, password_ok) {
        return Ok(end);
    }
    let method = record.enrolment.take().map(|e| e.primary);
    record.pending = None;
    record.code = None;
    Ok(settings_changed(
        record,
        EventKind::Disabled,
        method,
        Change::Disabled,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{enrolled, Fixture};
    use super::*;

    #[test]
    fn password_gates_and_failures_survive() {
        let f = Fixture::new();
        let t0 = 1_800_000_000;
        let r = enrolled(&f, t0, 5);

        let wrong = disable(r, &f.ctx(t0 + 1), false).unwrap();
        assert_eq!(wrong.reply, Verdict::Rejected { attempts_left: 4 });
        let r = wrong.save.unwrap();
        assert!(r.enrolment.is_some());

        let off = disable(r, &f.ctx(t0 + 2), true).unwrap();
        assert!(off.reply.is_accepted());
        let r = off.save.unwrap();
        assert!(r.enrolment.is_none() && r.pending.is_none());
        assert_eq!(
            r.guard.failures, 1,
            "disabling does not wipe the failure count"
        );
        assert!(matches!(
            disable(r, &f.ctx(t0 + 3), true),
            Err(Error::NotEnabled)
        ));
    }
}
