//! What an administrator may do to an account. Who may act on whom is the
//! host's [`AdminPolicy`](crate::AdminPolicy); the administrator's own
//! step-up is [`authorize_admin`](super::stepup::authorize_admin); what is
//! done to the account is here, and what the page shows in `view`.

use super::ceremony::active;
use super::device::clean;
use super::disable::forget;
use super::stepup::{authorize_admin, Gate, Presented};
use super::{restamp, texted_number, Ctx, Decision, Effect};
use crate::error::{Error, Result};
use crate::model::account::Account;
use crate::model::event::EventKind;
use crate::model::message::Change;
use crate::model::status::AdminAction;
use crate::model::verdict::Verdict;
use crate::policy::AfterReset;
use crate::record::Record;

/// The longest reason taken, in characters.
const LONGEST_REASON: usize = 500;

/// An administrator's reason, fit for the audit trail: control characters
/// out, trimmed; [`Error::InvalidReason`] when blank or over 500
/// characters. Checked before anything is evaluated.
pub(crate) fn reason(text: &str) -> Result<String> {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = cleaned.trim();
    if trimmed.is_empty() || trimmed.chars().count() > LONGEST_REASON {
        return Err(Error::InvalidReason);
    }
    Ok(trimmed.to_owned())
}

/// Whether `admin` may act on `account`: the host's policy `allowed` it,
/// and nobody acts on their own account this way (their own changes go
/// through their own step-up). Checked before anything is evaluated.
pub(crate) fn permit(admin: &Account, account: &Account, allowed: bool) -> Result<()> {
    admin.validate()?;
    account.validate()?;
    match allowed && admin.id() != account.id() {
        true => Ok(()),
        false => Err(Error::NotPermitted),
    }
}

/// Whether `action` applies to the account's record: a reset needs a setup
/// to delete. Checked before the administrator's proof is evaluated.
pub(crate) fn check(record: &Record, action: AdminAction) -> Result<()> {
    match action {
        AdminAction::Reset => check_reset(record),
        AdminAction::Export => super::import::check_export(record),
        _ => Ok(()),
    }
}

/// Whether there is a setup to delete.
fn check_reset(record: &Record) -> Result<()> {
    match (&record.factors, &record.pending) {
        (None, None) => Err(Error::NotEnabled),
        _ => Ok(()),
    }
}

/// Whether the administrator's own record can prove a second factor:
/// two-factor authentication on, not suspended.
pub(crate) fn check_admin(record: &Record) -> Result<()> {
    active(record).map(|_| ()).ok_or(Error::NotPermitted)
}

/// The administrator's own step-up, on the administrator's record: the
/// password and a current code (the code's use recorded), or a live grant
/// of theirs (nothing to save).
pub(crate) fn prove(
    record: Record,
    ctx: &Ctx<'_>,
    presented: &Presented<'_>,
) -> Result<Decision<Verdict<()>>> {
    Ok(match authorize_admin(record, ctx, presented)? {
        Gate::Pass(record, authorised) => Decision {
            save: authorised.grant.is_none().then_some(record),
            effects: authorised.effects,
            reply: Ok(Verdict::Accepted(())),
            failed: false,
            wants_codes: false,
        },
        Gate::Stop(decision) => decision,
    })
}

/// Does `action` to the account, for the administrator `admin`.
pub(crate) fn act(
    record: Record,
    ctx: &Ctx<'_>,
    action: AdminAction,
    admin: &str,
    reason: &str,
) -> Result<Decision<()>> {
    match action {
        AdminAction::Unlock => unlock(record, ctx, admin, reason),
        _ => reset(record, ctx, admin, reason),
    }
}

/// Deletes the account's setup, as the user's own delete does, for a user
/// who lost the phone. By policy, the next login then asks the user to set
/// a method up again, or lets the password alone in.
fn reset(mut record: Record, ctx: &Ctx<'_>, admin: &str, reason: &str) -> Result<Decision<()>> {
    check_reset(&record)?;
    let old_number = texted_number(&record, ctx)?;
    forget(&mut record);
    if ctx.policy.after_admin_reset == AfterReset::SetupRequired {
        record.setup_required = Some(ctx.now);
    }
    let _ = restamp(&mut record, ctx)?;
    let mut effects = vec![
        Effect::AdminEvent {
            kind: EventKind::AdminReset,
            admin: clean(admin),
            reason: reason.to_owned(),
        },
        Effect::Notice(Change::AdminReset),
    ];
    if let Some(to) = old_number {
        effects.push(Effect::NumberNotice {
            to,
            change: Change::AdminReset,
        });
    }
    Ok(Decision::saved(record, effects, ()))
}

/// Lifts a lockout without deleting anything: for a user locked out by
/// someone else's guesses. The day's failure count stays, so the daily
/// limit still holds.
fn unlock(mut record: Record, _ctx: &Ctx<'_>, admin: &str, reason: &str) -> Result<Decision<()>> {
    record.guard.unlock();
    Ok(Decision::saved(
        record,
        vec![
            Effect::AdminEvent {
                kind: EventKind::AdminUnlock,
                admin: clean(admin),
                reason: reason.to_owned(),
            },
            Effect::Notice(Change::Unlocked),
        ],
        (),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_required_and_bounded() {
        assert!(matches!(reason(""), Err(Error::InvalidReason)));
        assert!(matches!(reason(" \n\t "), Err(Error::InvalidReason)));
        assert!(matches!(
            reason(&"x".repeat(501)),
            Err(Error::InvalidReason)
        ));
        assert_eq!(reason(&"é".repeat(500)).unwrap().chars().count(), 500);
        assert_eq!(reason(" lost\nphone ").unwrap(), "lost phone");
    }
}
