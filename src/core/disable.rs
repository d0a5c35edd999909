//! Turning two-factor authentication off, keeping the settings or not, and
//! back on with the settings kept.

use super::setup::active;
use super::{login, reauthenticate, reject, settings_changed, Ctx, Decision, Proofs};
use crate::error::{Error, Result};
use crate::event::EventKind;
use crate::message::Change;
use crate::record::Record;
use crate::setup::Keep;
use crate::verdict::Verdict;

/// Whether there is anything to disable; checked before the password is.
/// Settings kept can still be deleted.
pub(crate) fn check(record: &Record, keep: Keep) -> Result<()> {
    match (keep, &record.enrolment) {
        (_, None) => Err(Error::NotEnabled),
        (Keep::Settings, Some(_)) if active(record).is_none() => Err(Error::NotEnabled),
        _ => Ok(()),
    }
}

/// Forgets every factor and what came with them. The failure counters and
/// the send log stay: deleting is no way round a lockout or a send limit.
pub(crate) fn forget(record: &mut Record) {
    record.enrolment = None;
    record.pending = None;
    record.code = None;
    record.recovery = None;
    record.devices.clear();
}

/// Turns two-factor authentication off. Keeping the settings suspends it:
/// the password alone logs in until [`reenable`]. Either way remembered
/// devices are forgotten.
pub(crate) fn disable(
    mut record: Record,
    ctx: &Ctx<'_>,
    keep: Keep,
    password_ok: bool,
) -> Result<Decision<Verdict<()>>> {
    check(&record, keep)?;
    if let Some(end) = reauthenticate(&record, ctx, password_ok) {
        return Ok(end);
    }
    let method = record.enrolment.as_ref().map(|e| e.primary);
    let (kind, change) = match keep {
        Keep::Nothing => {
            forget(&mut record);
            (EventKind::Disabled, Change::Disabled)
        }
        Keep::Settings => {
            if let Some(e) = record.enrolment.as_mut() {
                e.suspended = Some(ctx.now);
            }
            record.pending = None;
            record.code = None;
            record.devices.clear();
            (EventKind::Suspended, Change::Suspended)
        }
    };
    settings_changed(record, ctx, kind, method, change)
}

/// Whether there are kept settings to turn back on; checked before the
/// password is.
pub(crate) fn check_reenable(record: &Record) -> Result<()> {
    match &record.enrolment {
        None => Err(Error::NotEnabled),
        Some(e) if e.suspended.is_none() => Err(Error::AlreadyEnabled),
        Some(_) => Ok(()),
    }
}

/// Turns two-factor authentication back on with the kept settings, once
/// the password is right and a current code of a kept method proves the
/// user still has it.
pub(crate) fn reenable(
    mut record: Record,
    ctx: &Ctx<'_>,
    proofs: Proofs<'_>,
) -> Result<Decision<Verdict<()>>> {
    check_reenable(&record)?;
    if let Some(end) = reauthenticate(&record, ctx, proofs.password_ok) {
        return Ok(end);
    }
    let typed = proofs.code.unwrap_or_default();
    let primary = record
        .enrolment
        .as_ref()
        .map(|e| e.primary)
        .ok_or(Error::NotEnabled)?;
    if login::check_code(&mut record, ctx, typed)?.is_none() {
        return Ok(reject(
            record,
            ctx,
            EventKind::SetupCodeRejected,
            Some(primary),
        ));
    }
    if let Some(e) = record.enrolment.as_mut() {
        e.suspended = None;
    }
    record.guard.succeed();
    settings_changed(
        record,
        ctx,
        EventKind::Reenabled,
        Some(primary),
        Change::Enabled(primary),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{app_code, enrolled, Fixture};
    use super::*;

    #[test]
    fn password_gates_and_failures_survive() {
        let f = Fixture::new();
        let t0 = 1_800_000_000;
        let r = enrolled(&f, t0, 5);
        assert!(r.recovery.is_some());

        let wrong = disable(r, &f.ctx(t0 + 1), Keep::Nothing, false).unwrap();
        assert_eq!(wrong.reply, Verdict::Rejected { attempts_left: 4 });
        let r = wrong.save.unwrap();
        assert!(r.enrolment.is_some());

        let off = disable(r, &f.ctx(t0 + 2), Keep::Nothing, true).unwrap();
        assert!(off.reply.is_accepted());
        let r = off.save.unwrap();
        assert!(r.enrolment.is_none() && r.pending.is_none() && r.recovery.is_none());
        assert_eq!(
            r.guard.failures, 1,
            "disabling does not wipe the failure count"
        );
        assert!(matches!(
            disable(r, &f.ctx(t0 + 3), Keep::Nothing, true),
            Err(Error::NotEnabled)
        ));
    }

    #[test]
    fn keeping_settings_suspends_and_a_code_brings_them_back() {
        let f = Fixture::new();
        let t0 = 1_800_000_000;
        let r = enrolled(&f, t0, 5);
        let r = disable(r, &f.ctx(t0 + 1), Keep::Settings, true)
            .unwrap()
            .save
            .unwrap();
        assert!(active(&r).is_none() && r.enrolment.is_some());
        assert!(matches!(
            disable(r.clone(), &f.ctx(t0 + 2), Keep::Settings, true),
            Err(Error::NotEnabled)
        ));
        let no_code = Proofs {
            password_ok: true,
            code: Some("000000"),
        };
        let d = reenable(r.clone(), &f.ctx(t0 + 40), no_code).unwrap();
        assert!(!d.reply.is_accepted());
        let code = app_code(5, t0 + 40);
        let ok = Proofs {
            password_ok: true,
            code: Some(&code),
        };
        let d = reenable(r, &f.ctx(t0 + 40), ok).unwrap();
        assert!(d.reply.is_accepted());
        let r = d.save.unwrap();
        assert!(active(&r).is_some());
        assert!(matches!(check_reenable(&r), Err(Error::AlreadyEnabled)));
    }
}
