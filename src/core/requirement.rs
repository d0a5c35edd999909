//! What the host requires: whether a login must be followed by setting a
//! method up, and which changes a requirement refuses.

use super::ceremony::active;
use super::Ctx;
use crate::error::{Error, Result};
use crate::model::requirement::{SetupDue, Strength};
use crate::model::status::Method;
use crate::model::verdict::LoginStep;
use crate::policy::WhileRequired;
use crate::record::Record;

/// Whether `methods`, in force, meet `strength`.
fn meets(methods: &[Method], strength: Strength) -> bool {
    match strength {
        Strength::App => methods.contains(&Method::App) || methods.contains(&Method::Key),
        Strength::Key => methods.contains(&Method::Key),
        Strength::Any => !methods.is_empty(),
    }
}

/// The methods in force: none when off or suspended.
fn in_force(record: &Record) -> Vec<Method> {
    active(record).map(|f| f.methods()).unwrap_or_default()
}

/// At login, for an account without a second factor in force: the setup
/// step, when one is due. An administrator's reset that asks for a new
/// setup is due at once; the host's requirement within its grace period.
pub(crate) fn login_step(record: &Record, ctx: &Ctx<'_>) -> Option<LoginStep> {
    let required = ctx.requirement;
    if record.factors.is_none() && record.setup_required.is_some() {
        return Some(LoginStep::SetupRequired {
            strength: required.strength(),
            grace_until: None,
        });
    }
    required.is_required().then(|| LoginStep::SetupRequired {
        strength: required.strength(),
        grace_until: required.grace_until(ctx.now),
    })
}

/// After a login with a second factor that does not meet the required
/// strength (a text message where an app is required): what to set up.
pub(crate) fn due_after_login(record: &Record, ctx: &Ctx<'_>) -> Option<SetupDue> {
    let required = ctx.requirement;
    (required.is_required() && !meets(&in_force(record), required.strength())).then(|| SetupDue {
        strength: required.strength(),
        grace_until: required.grace_until(ctx.now),
    })
}

/// Whether a change leaving `after` (the methods in force after it) may be
/// made while the requirement holds: refused when it would leave an
/// account that meets the requirement without a method that does, unless
/// the policy lets the next login ask for a setup instead. Checked before
/// anything is evaluated.
pub(crate) fn check_change(record: &Record, ctx: &Ctx<'_>, after: &[Method]) -> Result<()> {
    let required = ctx.requirement;
    if !required.is_required() || ctx.policy.while_required == WhileRequired::SetupRequired {
        return Ok(());
    }
    let strength = required.strength();
    match meets(&in_force(record), strength) && !meets(after, strength) {
        true => Err(Error::Required),
        false => Ok(()),
    }
}

/// [`check_change`] for removing `method`.
pub(crate) fn check_remove(record: &Record, ctx: &Ctx<'_>, method: Method) -> Result<()> {
    let after: Vec<Method> = in_force(record)
        .into_iter()
        .filter(|m| *m != method)
        .collect();
    check_change(record, ctx, &after)
}
