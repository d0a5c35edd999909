//! Recovery codes: made when two-factor authentication is turned on or on
//! request, and spent one at a time in place of a code.

use secrecy::SecretString;

use super::ceremony::active;
use super::inputs::{Inputs, NewCodes, RecoverySlots};
use super::stepup::{authorize, Gate, Presented};
use super::{factors_changed, Ctx, Decision};
use crate::crypto::recovery_hash::{check, hash, make, CodeEntropy, Cost, Slot, COUNT};
use crate::error::{Error, Result};
use crate::model::event::EventKind;
use crate::model::message::Change;
use crate::model::setup::{RecoveryCodes, Regenerated};
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

/// The slow part of a new set of codes: ten codes from `random`, each
/// hashed with argon2id at `cost` for `user`. Pure; the service runs it
/// once, before the decision, where its offload says.
pub(crate) fn make_codes(
    cost: Cost,
    user: &str,
    random: &[CodeEntropy; COUNT],
) -> Result<NewCodes> {
    let mut shown = Vec::with_capacity(COUNT);
    let mut slots = Vec::with_capacity(COUNT);
    for (index, random) in random.iter().enumerate() {
        let code = make(index, random);
        slots.push(Some(hash(cost, user, &code, random)?));
        shown.push(SecretString::from(code.as_str()));
    }
    Ok(NewCodes { cost, shown, slots })
}

/// The slow part of checking a typed recovery code: one argon2id
/// computation against `set`. Pure, as [`make_codes`]. `None` unless it
/// matches.
pub(crate) fn find(set: &RecoverySlots, user: &str, typed: &str) -> Option<RecoveryHit> {
    let index = check(&set.slots, set.cost, user, typed)?;
    let slot = set.slots.get(index).cloned().flatten()?;
    Some(RecoveryHit { index, slot })
}

/// Replaces the set of codes with the new one in `inputs`; the codes to
/// show. `None` when it was not made yet: the caller's decision then asks
/// for it ([`Decision::wants_codes`]).
pub(crate) fn issue(record: &mut Record, ctx: &Ctx<'_>, inputs: &Inputs) -> Option<RecoveryCodes> {
    let new = inputs.new_codes.as_ref()?;
    record.recovery = Some(RecoverySet {
        created: ctx.now,
        cost: new.cost,
        slots: new.slots.clone(),
    });
    Some(RecoveryCodes(new.shown.clone()))
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
    inputs: &Inputs,
) -> Result<Decision<Verdict<Regenerated>>> {
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
    let Some(codes) = issue(&mut record, ctx, inputs) else {
        return Ok(Decision::wants_codes());
    };
    factors_changed(
        record,
        ctx,
        authorised,
        (
            EventKind::RecoveryCodesIssued,
            None,
            Change::RecoveryCodesRegenerated,
            None,
        ),
        None,
        |stamp| Regenerated { codes, stamp },
    )
}
