//! What a decision needs worked out before it is made, and the answers.
//!
//! Some of what a decision needs is slow (an argon2id computation: the
//! password presented, a recovery code typed, a new set of recovery codes)
//! and must neither run again when a save loses a race nor run on the async
//! executor. So the core first looks at the record and either answers at
//! once, evaluating nothing ([`Prepared::Answer`]: a lockout), or says what
//! it needs ([`Prepared::Go`] with [`Needs`]). The service works that out
//! once, where its [`Offload`](crate::Offload) says, into [`Inputs`], which
//! the decision then takes; new recovery codes only when the decision,
//! having authorised the change, asks for them. A retry's fresh record that
//! needs something else (its recovery codes were replaced meanwhile) has
//! that worked out then; what was already worked out is not computed
//! again.

use secrecy::SecretString;

use super::recovery::RecoveryHit;
use super::Ctx;
use crate::crypto::recovery_hash::{self as codes, Cost, Slot};
use crate::record::Record;

/// The core's first look at a record: an answer now, or what to work out
/// before deciding.
#[derive(Debug)]
pub(crate) enum Prepared<R> {
    /// Answered before anything was evaluated.
    Answer(R),
    /// Work these out, then decide.
    Go(Needs),
}

impl<R> Prepared<R> {
    /// Nothing to work out: decide.
    pub(crate) fn go() -> Self {
        Prepared::Go(Needs::default())
    }
}

/// What to work out before deciding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    /// Check the password presented (the host's password check).
    pub(crate) password: bool,
    /// Check the code typed, which has a recovery code's form, against
    /// these slots: one argon2id computation.
    pub(crate) recovery: Option<RecoverySlots>,
    /// The decision may want a new set of recovery codes, hashed at this
    /// cost (one argon2id computation per code). They are made only when it
    /// asks ([`Decision::wants_codes`](super::Decision::wants_codes)): once
    /// the change is authorised, so that a wrong password or code never
    /// costs ten hashes. The record is kept to decide on again.
    pub(crate) new_codes: Option<Cost>,
}

/// A set of recovery-code slots to check a typed code against, and the
/// cost they were hashed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecoverySlots {
    pub(crate) cost: Cost,
    pub(crate) slots: Vec<Option<Slot>>,
}

/// What was worked out, for the decision.
#[derive(Debug, Default)]
pub(crate) struct Inputs {
    /// Whether the password presented is the account's.
    pub(crate) password: Option<bool>,
    /// The recovery slot the code typed matched.
    pub(crate) recovery: Option<RecoveryHit>,
    /// A new set of recovery codes, hashed.
    pub(crate) new_codes: Option<NewCodes>,
}

/// A new set of recovery codes: what to show once, and what to store.
pub(crate) struct NewCodes {
    pub(crate) cost: Cost,
    pub(crate) shown: Vec<SecretString>,
    pub(crate) slots: Vec<Option<Slot>>,
}

impl std::fmt::Debug for NewCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCodes")
            .field("cost", &self.cost)
            .field("shown", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

/// What checking `typed` as a recovery code needs: nothing unless it has a
/// recovery code's form; then a check against the record's set, or, when
/// there is none, one as slow against nothing, so that the time taken does
/// not tell whether the account has codes.
pub(crate) fn recovery_check(record: &Record, ctx: &Ctx<'_>, typed: &str) -> Option<RecoverySlots> {
    codes::parse(typed)?;
    Some(match &record.recovery {
        Some(set) => RecoverySlots {
            cost: set.cost,
            slots: set.slots.clone(),
        },
        None => RecoverySlots {
            cost: Cost::from(&ctx.policy.recovery),
            slots: Vec::new(),
        },
    })
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::super::testing::{codes, Fixture};

    #[test]
    fn new_codes_debug_as_redacted() {
        let inputs = codes(&Fixture::new());
        let shown = inputs.new_codes.as_ref().map(|n| n.shown.clone());
        let text = format!("{inputs:?}");
        assert!(
            text.contains("NewCodes") && text.contains("[REDACTED]"),
            "{text}"
        );
        for code in shown.unwrap_or_default() {
            assert!(!text.contains(code.expose_secret()), "{text}");
        }
    }
}
