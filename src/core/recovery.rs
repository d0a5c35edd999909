//! Recovery codes: made when two-factor authentication is turned on or on
//! request, and spent one at a time in place of a code.

use secrecy::SecretString;

use super::ceremony::active;
use super::stepup::{authorize, Gate, Presented};
use super::{factors_changed, Ctx, Decision};
use crate::crypto::recovery_hash::{hash, make, Cost, Slot, COUNT};
use crate::error::{Error, Result};
use crate::model::event::EventKind;
use crate::model::message::Change;
use crate::model::setup::RecoveryCodes;
use crate::model::verdict::Verdict;
use crate::policy::FactorChange;
use crate::record::{Record, RecoverySet};

/// A recovery code that matched its slot's hash, found before the decision
/// (the argon2id computation is too slow to repeat on a lost race).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecoveryHit {
    pub(crate) index: usize,
    pub(crate) slot: Slot,
}

/// Makes a new set of codes, replacing the old one; the codes to show.
pub(crate) fn issue(record: &mut Record, ctx: &Ctx<'_>) -> Result<RecoveryCodes> {
    let mut shown = Vec::with_capacity(COUNT);
    let mut slots = Vec::with_capacity(COUNT);
    let cost = Cost::from(&ctx.policy.recovery);
    for (index, random) in ctx.entropy()?.recovery.iter().enumerate() {
        let code = make(index, random);
        slots.push(Some(hash(cost, ctx.account.id(), &code, random)?));
        shown.push(SecretString::from(code.as_str()));
    }
    record.recovery = Some(RecoverySet {
        created: ctx.now,
        cost,
        slots,
    });
    Ok(RecoveryCodes(shown))
}

/// Spends the code `hit` found, if its slot still holds that hash (no
/// other request spent it meanwhile); the codes left.
pub(crate) fn spend(record: &mut Record, hit: Option<&RecoveryHit>) -> Option<usize> {
    let hit = hit?;
    let set = record.recovery.as_mut()?;
    let slot = set.slots.get_mut(hit.index)?;
    if slot.as_ref() != Some(&hit.slot) {
        return None;
    }
    *slot = None;
    Some(set.left())
}

/// Whether there is anything to make new codes for; checked before
/// anything is evaluated.
pub(crate) fn check_regenerate(record: &Record) -> Result<()> {
    active(record).map(|_| ()).ok_or(Error::NotEnabled)
}

/// A new set of codes under the step-up rule; the old set is void.
pub(crate) fn regenerate(
    record: Record,
    ctx: &Ctx<'_>,
    presented: &Presented<'_>,
) -> Result<Decision<Verdict<RecoveryCodes>>> {
    check_regenerate(&record)?;
    let (mut record, authorised) = match authorize(
        record,
        ctx,
        FactorChange::RegenerateRecoveryCodes,
        presented,
    )? {
        Gate::Pass(record, authorised) => (record, authorised),
        Gate::Stop(decision) => return Ok(decision),
    };
    let codes = issue(&mut record, ctx)?;
    factors_changed(
        record,
        ctx,
        authorised,
        (
            EventKind::RecoveryCodesIssued,
            None,
            Change::RecoveryCodesRegenerated,
        ),
        None,
        codes,
    )
}
