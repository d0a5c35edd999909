//! What an administrator may do to an account. Who may act on whom is the
//! host's [`AdminPolicy`](crate::AdminPolicy); the administrator's own
//! step-up is [`authorize_admin`](super::stepup::authorize_admin); what is
//! done to the account is here, and what the page shows in `view`.

use super::device::clean;
use super::disable::forget;
use super::{restamp, texted_number, Ctx, Decision, Effect};
use crate::error::{Error, Result};
use crate::model::event::EventKind;
use crate::model::message::Change;
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

/// Whether there is a setup to delete; checked before anything is
/// evaluated.
pub(crate) fn check_reset(record: &Record) -> Result<()> {
    match (&record.factors, &record.pending) {
        (None, None) => Err(Error::NotEnabled),
        _ => Ok(()),
    }
}

/// Deletes the account's setup, as the user's own delete does, for a user
/// who lost the phone. By policy, the next login then asks the user to set
/// a method up again, or lets the password alone in.
pub(crate) fn reset(
    mut record: Record,
    ctx: &Ctx<'_>,
    admin: &str,
    reason: &str,
) -> Result<Decision<()>> {
    check_reset(&record)?;
    let old_number = texted_number(&record, ctx)?;
    forget(&mut record);
    if ctx.policy.after_admin_reset == AfterReset::SetupRequired {
        record.setup_required = Some(ctx.now);
    }
    restamp(&mut record, ctx)?;
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
pub(crate) fn unlock(
    mut record: Record,
    _ctx: &Ctx<'_>,
    admin: &str,
    reason: &str,
) -> Result<Decision<()>> {
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
