//! Turning two-factor authentication off, keeping the settings or not, and
//! back on with the settings kept. Each under the step-up rule.

use super::ceremony::active;
use super::stepup::{authorize, Gate, Presented};
use super::{factors_changed, texted_number, Ctx, Decision};
use crate::error::{Error, Result};
use crate::model::event::EventKind;
use crate::model::message::Change;
use crate::model::setup::Changed;
use crate::model::setup::Keep;
use crate::model::verdict::Verdict;
use crate::policy::FactorChange;
use crate::record::Record;

/// Whether there is anything to disable; checked before anything is
/// evaluated. Settings kept can still be deleted.
pub(crate) fn check(record: &Record, ctx: &Ctx<'_>, keep: Keep) -> Result<()> {
    match (keep, &record.factors) {
        (_, None) => Err(Error::NotEnabled),
        (Keep::Settings, Some(_)) if active(record).is_none() => Err(Error::NotEnabled),
        _ => super::requirement::check_change(record, ctx, &[]),
    }
}

/// Forgets every factor and what came with them. The failure counters and
/// the send log stay: deleting is no way round a lockout or a send limit.
pub(crate) fn forget(record: &mut Record) {
    record.factors = None;
    record.pending = None;
    record.code = None;
    record.key_challenge = None;
    record.recovery = None;
    record.devices.clear();
    record.grants.clear();
}

/// Turns two-factor authentication off. Keeping the settings suspends it:
/// the password alone logs in until [`reenable`]. Either way remembered
/// devices are forgotten.
pub(crate) fn disable(
    record: Record,
    ctx: &Ctx<'_>,
    keep: Keep,
    presented: &Presented<'_>,
) -> Result<Decision<Verdict<Changed>>> {
    check(&record, ctx, keep)?;
    let (mut record, authorised) = match authorize(record, ctx, FactorChange::Disable, presented)? {
        Gate::Pass(record, authorised) => (record, authorised),
        Gate::Stop(decision) => return Ok(decision),
    };
    let old_number = texted_number(&record, ctx)?;
    let method = record.factors.as_ref().map(|e| e.primary);
    let (kind, change) = match keep {
        Keep::Nothing => {
            forget(&mut record);
            (EventKind::Disabled, Change::Disabled)
        }
        Keep::Settings => {
            if let Some(e) = record.factors.as_mut() {
                e.suspended = Some(ctx.now);
            }
            record.pending = None;
            record.code = None;
            record.key_challenge = None;
            record.devices.clear();
            (EventKind::Suspended, Change::Suspended)
        }
    };
    factors_changed(
        record,
        ctx,
        authorised,
        (kind, method, change, None),
        old_number,
        |stamp| Changed { stamp },
    )
}

/// Whether there are kept settings to turn back on; checked before anything
/// is evaluated.
pub(crate) fn check_reenable(record: &Record) -> Result<()> {
    match &record.factors {
        None => Err(Error::NotEnabled),
        Some(e) if e.suspended.is_none() => Err(Error::AlreadyEnabled),
        Some(_) => Ok(()),
    }
}

/// Turns two-factor authentication back on with the kept settings, under
/// the step-up rule: the password and a current code of a kept method (or
/// a recovery code, or a grant) prove the user still has it.
pub(crate) fn reenable(
    record: Record,
    ctx: &Ctx<'_>,
    presented: &Presented<'_>,
) -> Result<Decision<Verdict<Changed>>> {
    check_reenable(&record)?;
    let (mut record, authorised) = match authorize(record, ctx, FactorChange::Reenable, presented)?
    {
        Gate::Pass(record, authorised) => (record, authorised),
        Gate::Stop(decision) => return Ok(decision),
    };
    let primary = record
        .factors
        .as_ref()
        .map(|e| e.primary)
        .ok_or(Error::NotEnabled)?;
    if let Some(e) = record.factors.as_mut() {
        e.suspended = None;
    }
    factors_changed(
        record,
        ctx,
        authorised,
        (
            EventKind::Reenabled,
            Some(primary),
            Change::Enabled(primary),
            None,
        ),
        None,
        |stamp| Changed { stamp },
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{app_code, with_app, with_code, wrong, Fixture, PASS};
    use super::*;
    use crate::model::verdict::Rejection;

    #[test]
    fn a_factor_gates_and_failures_survive() {
        let f = Fixture::new();
        let t0 = 1_800_000_000;
        let r = with_app(&f, t0, 5);
        assert!(r.recovery.is_some());

        assert!(matches!(
            disable(r.clone(), &f.ctx(t0 + 1), Keep::Nothing, &PASS),
            Err(Error::StepUpRequired)
        ));
        let wrong_password = Presented::PasswordAndCode {
            ok: false,
            code: "000000",
            recovery: None,
        };
        let d = disable(r, &f.ctx(t0 + 1), Keep::Nothing, &wrong_password).unwrap();
        assert!(matches!(
            d.ok(),
            Verdict::Rejected {
                attempts_left: 4,
                reason: Rejection::WrongPassword
            }
        ));
        let r = d.save.unwrap();
        assert!(r.factors.is_some());

        let code = app_code(5, t0 + 30);
        let off = disable(r, &f.ctx(t0 + 30), Keep::Nothing, &with_code(&code)).unwrap();
        assert!(off.ok().is_accepted());
        let r = off.save.unwrap();
        assert!(r.factors.is_none() && r.pending.is_none() && r.recovery.is_none());
        assert_eq!(
            r.guard.failures, 0,
            "the right code cleared the run of failures"
        );
        assert_eq!(r.guard.day_failures, 1, "the day's count stays");
        assert!(matches!(
            disable(r, &f.ctx(t0 + 31), Keep::Nothing, &PASS),
            Err(Error::NotEnabled)
        ));
    }

    #[test]
    fn keeping_settings_suspends_and_a_code_brings_them_back() {
        let f = Fixture::new();
        let t0 = 1_800_000_000;
        let r = with_app(&f, t0, 5);
        let code = app_code(5, t0 + 30);
        let r = disable(r, &f.ctx(t0 + 30), Keep::Settings, &with_code(&code))
            .unwrap()
            .save
            .unwrap();
        assert!(active(&r).is_none() && r.factors.is_some());
        assert!(matches!(
            disable(r.clone(), &f.ctx(t0 + 31), Keep::Settings, &PASS),
            Err(Error::NotEnabled)
        ));
        assert!(matches!(
            reenable(r.clone(), &f.ctx(t0 + 60), &PASS),
            Err(Error::StepUpRequired)
        ));
        let d = reenable(r.clone(), &f.ctx(t0 + 60), &with_code("000000")).unwrap();
        assert_eq!(*d.ok(), wrong(4));
        let d = reenable(r.clone(), &f.ctx(t0 + 60), &with_code(&code)).unwrap();
        assert!(!d.ok().is_accepted(), "the code that suspended it is used");
        let code = app_code(5, t0 + 60);
        let d = reenable(r, &f.ctx(t0 + 60), &with_code(&code)).unwrap();
        assert!(d.ok().is_accepted());
        let r = d.save.unwrap();
        assert!(active(&r).is_some());
        assert!(matches!(check_reenable(&r), Err(Error::AlreadyEnabled)));
    }
}
