//! The state machine. Pure: every rule is a function of the record, the
//! command, the time, the random bytes and the policy, and returns the new
//! record and the effects to run after it is saved. No I/O, no clock, no
//! randomness of its own, no async.

pub(crate) mod code;
pub(crate) mod disable;
pub(crate) mod fallback;
pub(crate) mod guard;
pub(crate) mod login;
pub(crate) mod setup;
pub(crate) mod status;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::account::Account;
use crate::clock::Timestamp;
use crate::event::EventKind;
use crate::message::Change;
use crate::methods::seal::{Keys, NONCE_LEN};
use crate::policy::Policy;
use crate::record::Record;
use crate::status::Method;
use crate::verdict::Verdict;

/// Bytes in a new authenticator secret (160 bits, as RFC 4226 recommends).
pub(crate) const TOTP_SECRET_LEN: usize = 20;

/// What every decision may read.
pub(crate) struct Ctx<'a> {
    pub(crate) now: Timestamp,
    pub(crate) policy: &'a Policy,
    pub(crate) keys: &'a Keys,
    pub(crate) account: &'a Account,
    pub(crate) issuer: &'a str,
    /// Which senders the host configured.
    pub(crate) can_email: bool,
    pub(crate) can_text: bool,
}

/// Random bytes a decision may need, drawn by the caller.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct Entropy {
    pub(crate) totp_secret: [u8; TOTP_SECRET_LEN],
    pub(crate) nonce: [u8; NONCE_LEN],
    pub(crate) code: [u8; 8],
}

/// Something to do once the new record is saved.
#[derive(Debug, Clone)]
pub(crate) enum Effect {
    /// Report an audit event.
    Event(EventKind, Option<Method>),
    /// Email the account a security notice.
    Notice(Change),
    /// Deliver a one-time code.
    SendCode(Delivery),
}

impl PartialEq for Effect {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Effect::Event(a, b), Effect::Event(c, d)) => a == c && b == d,
            (Effect::Notice(a), Effect::Notice(b)) => a == b,
            _ => false,
        }
    }
}

/// A code to deliver: how, where, and the message.
#[derive(Clone)]
pub(crate) struct Delivery {
    pub(crate) method: Method,
    pub(crate) to: String,
    pub(crate) message: crate::message::Message,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("method", &self.method)
            .field("to", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

/// A decision: the record to save (none when nothing changed), what to do
/// after, and the answer.
#[derive(Debug)]
pub(crate) struct Decision<R> {
    pub(crate) save: Option<Record>,
    pub(crate) effects: Vec<Effect>,
    pub(crate) reply: R,
}

impl<R> Decision<R> {
    /// An answer that changes nothing.
    pub(crate) fn unchanged(reply: R) -> Self {
        Self {
            save: None,
            effects: Vec::new(),
            reply,
        }
    }
}

/// Counts a failed attempt and answers it.
pub(crate) fn reject<T>(
    mut record: Record,
    ctx: &Ctx<'_>,
    kind: EventKind,
    method: Option<Method>,
) -> Decision<Verdict<T>> {
    let reply = record.guard.fail(ctx.now, &ctx.policy.lockout);
    let mut effects = vec![Effect::Event(kind, method)];
    if matches!(reply, Verdict::LockedOut { .. }) {
        effects.push(Effect::Event(EventKind::LockedOut, method));
    }
    Decision {
        save: Some(record),
        effects,
        reply,
    }
}

/// A saved change to the settings: reported, and the user told.
pub(crate) fn settings_changed(
    record: Record,
    kind: EventKind,
    method: Option<Method>,
    change: Change,
) -> Decision<Verdict<()>> {
    Decision {
        save: Some(record),
        effects: vec![Effect::Event(kind, method), Effect::Notice(change)],
        reply: Verdict::Accepted(()),
    }
}

/// The lockout, then the password, for the flows that ask for it. `Some`
/// ends the flow with that decision; `None` lets it go on.
pub(crate) fn reauthenticate<T>(
    record: &Record,
    ctx: &Ctx<'_>,
    password_ok: bool,
) -> Option<Decision<Verdict<T>>> {
    if let Some(until) = record.guard.locked(ctx.now) {
        return Some(Decision::unchanged(Verdict::LockedOut { until }));
    }
    (!password_ok).then(|| reject(record.clone(), ctx, EventKind::PasswordRejected, None))
}

#[cfg(test)]
pub(crate) mod testing {
    //! A context to decide in, for the core's own tests.
    use super::*;
    use crate::methods::seal::MasterKey;

    pub(crate) struct Fixture {
        pub(crate) policy: Policy,
        pub(crate) keys: Keys,
        pub(crate) account: Account,
    }

    impl Fixture {
        pub(crate) fn new() -> Self {
            Self {
                policy: Policy::default(),
                keys: Keys::derive(&MasterKey::new([42; 32])).unwrap(),
                account: Account::new("user-1", "alice@example.com"),
            }
        }

        pub(crate) fn ctx(&self, now: u64) -> Ctx<'_> {
            Ctx {
                now: Timestamp::from_unix_seconds(now),
                policy: &self.policy,
                keys: &self.keys,
                account: &self.account,
                issuer: "Acme",
                can_email: true,
                can_text: true,
            }
        }
    }

    pub(crate) fn entropy(seed: u8) -> Entropy {
        Entropy {
            totp_secret: [seed; TOTP_SECRET_LEN],
            nonce: [seed.wrapping_add(1); NONCE_LEN],
            code: [seed.wrapping_add(2); 8],
        }
    }

    /// The code an app set up from `entropy(seed)` shows at `at`.
    pub(crate) fn app_code(seed: u8, at: u64) -> String {
        crate::methods::totp::Totp::new(crate::Algorithm::Sha1, 6, 30)
            .code_at(&[seed; TOTP_SECRET_LEN], at)
            .to_string()
    }

    /// A record with an app setup begun at `at` from `entropy(seed)`.
    pub(crate) fn pending(f: &Fixture, at: u64, seed: u8) -> Record {
        let new = crate::setup::NewMethod::App;
        let goal = crate::record::Goal::TurnOn;
        let d = super::setup::begin(
            Record::default(),
            &f.ctx(at),
            &new,
            goal,
            true,
            &entropy(seed),
        );
        d.unwrap().save.unwrap()
    }

    /// A record with the app from `entropy(seed)` enrolled at `at`.
    pub(crate) fn enrolled(f: &Fixture, at: u64, seed: u8) -> Record {
        let r = pending(f, at, seed);
        let d = super::setup::confirm(r, &f.ctx(at), &app_code(seed, at));
        d.unwrap().save.unwrap()
    }
}
