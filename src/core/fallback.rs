//! Managing the methods set up once two-factor authentication is on:
//! removing a fallback, and choosing which method is asked for first. Both
//! under the step-up rule.

use super::stepup::{authorize, Gate, Presented};
use super::{factors_changed, texted_number, Ctx, Decision};
use crate::error::{Error, Result};
use crate::model::event::EventKind;
use crate::model::message::Change;
use crate::model::setup::Changed;
use crate::model::status::Method;
use crate::model::verdict::Verdict;
use crate::policy::FactorChange;
use crate::record::Record;

/// Whether `method` is set up and not the primary: a fallback, which can
/// be removed or made primary. Checked before anything is evaluated.
pub(crate) fn check_fallback(record: &Record, method: Method) -> Result<()> {
    let e = super::ceremony::active(record).ok_or(Error::NotEnabled)?;
    if !e.has(method) {
        return Err(Error::MethodNotSetUp);
    }
    if e.primary == method {
        return Err(Error::WrongMethod);
    }
    Ok(())
}

/// Whether the fallback `method` may be removed: [`check_fallback`], and
/// not the only method that meets the host's requirement. Checked before
/// anything is evaluated.
pub(crate) fn check_remove(record: &Record, ctx: &Ctx<'_>, method: Method) -> Result<()> {
    check_fallback(record, method)?;
    super::requirement::check_remove(record, ctx, method)
}

/// Removes the fallback `method`; a code sent by it is void. A number that
/// no longer receives codes is told.
pub(crate) fn remove(
    record: Record,
    ctx: &Ctx<'_>,
    method: Method,
    presented: &Presented<'_>,
) -> Result<Decision<Verdict<Changed>>> {
    check_remove(&record, ctx, method)?;
    let (mut record, authorised) =
        match authorize(record, ctx, FactorChange::RemoveMethod, presented)? {
            Gate::Pass(record, authorised) => (record, authorised),
            Gate::Stop(decision) => return Ok(decision),
        };
    let old_number = texted_number(&record, ctx)?;
    if let Some(e) = record.factors.as_mut() {
        e.all.retain(|f| f.factor.method() != method);
    }
    super::authenticators::kind_removed(&mut record, method);
    factors_changed(
        record,
        ctx,
        authorised,
        (
            EventKind::FallbackRemoved,
            Some(method),
            Change::FallbackRemoved(method),
            None,
        ),
        old_number,
        |stamp| Changed { stamp },
    )
}

/// Makes `method`, set up, the one asked for first at login.
pub(crate) fn set_primary(
    record: Record,
    ctx: &Ctx<'_>,
    method: Method,
    presented: &Presented<'_>,
) -> Result<Decision<Verdict<Changed>>> {
    check_fallback(&record, method)?;
    let (mut record, authorised) =
        match authorize(record, ctx, FactorChange::SetPrimary, presented)? {
            Gate::Pass(record, authorised) => (record, authorised),
            Gate::Stop(decision) => return Ok(decision),
        };
    if let Some(e) = record.factors.as_mut() {
        e.primary = method;
    }
    // Devices were remembered under the old method: they ask again.
    record.devices.clear();
    factors_changed(
        record,
        ctx,
        authorised,
        (
            EventKind::PrimaryChanged,
            Some(method),
            Change::PrimaryChanged(method),
            None,
        ),
        None,
        |stamp| Changed { stamp },
    )
}
