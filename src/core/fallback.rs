//! Managing enrolled methods once two-factor authentication is on:
//! removing a fallback, and choosing which method is asked for first.

use super::{reauthenticate, settings_changed, Ctx, Decision};
use crate::error::{Error, Result};
use crate::event::EventKind;
use crate::message::Change;
use crate::record::Record;
use crate::status::Method;
use crate::verdict::Verdict;

/// Whether `method` is enrolled and not the primary: a fallback, which can
/// be removed or made primary. Checked before the password is.
pub(crate) fn check_fallback(record: &Record, method: Method) -> Result<()> {
    let e = super::setup::active(record).ok_or(Error::NotEnabled)?;
    if !e.has(method) {
        return Err(Error::MethodNotEnrolled);
    }
    if e.primary == method {
        return Err(Error::WrongMethod);
    }
    Ok(())
}

/// Removes the fallback `method`; a code sent by it is void.
pub(crate) fn remove(
    mut record: Record,
    ctx: &Ctx<'_>,
    method: Method,
    password_ok: bool,
) -> Result<Decision<Verdict<()>>> {
    check_fallback(&record, method)?;
    if let Some(end) = reauthenticate(&record, ctx, password_ok) {
        return Ok(end);
    }
    if let Some(e) = record.enrolment.as_mut() {
        e.factors.retain(|f| f.method() != method);
    }
    if record.code.as_ref().is_some_and(|c| c.method == method) {
        record.code = None;
    }
    settings_changed(
        record,
        ctx,
        EventKind::FallbackRemoved,
        Some(method),
        Change::FallbackRemoved(method),
    )
}

/// Makes the enrolled `method` the one asked for first at login.
pub(crate) fn set_primary(
    mut record: Record,
    ctx: &Ctx<'_>,
    method: Method,
    password_ok: bool,
) -> Result<Decision<Verdict<()>>> {
    check_fallback(&record, method)?;
    if let Some(end) = reauthenticate(&record, ctx, password_ok) {
        return Ok(end);
    }
    if let Some(e) = record.enrolment.as_mut() {
        e.primary = method;
    }
    // Devices were remembered under the old method: they ask again.
    record.devices.clear();
    settings_changed(
        record,
        ctx,
        EventKind::PrimaryChanged,
        Some(method),
        Change::PrimaryChanged(method),
    )
}
