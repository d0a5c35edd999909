//! The state machine. Pure: every rule is a function of the record, the
//! command, the time, the random bytes and the policy, and returns the new
//! record and the effects to run after it is saved. No I/O, no clock, no
//! randomness of its own, no async.

pub(crate) mod admin;
pub(crate) mod code;
pub(crate) mod device;
pub(crate) mod disable;
pub(crate) mod fallback;
pub(crate) mod guard;
pub(crate) mod login;
pub(crate) mod recovery;
pub(crate) mod setup;
pub(crate) mod status;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::account::Account;
use crate::clock::Timestamp;
use crate::error::Error;
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
    /// Random bytes, drawn by the caller for a decision that may need
    /// them; `None` for one that needs none (a login without "remember").
    pub(crate) entropy: Option<&'a Entropy>,
}

impl Ctx<'_> {
    /// The random bytes; an error if the caller drew none, which is a bug
    /// in the caller, never a reason to use zeros.
    pub(crate) fn entropy(&self) -> Result<&Entropy, Error> {
        self.entropy.ok_or(Error::Random)
    }
}

/// Random bytes a decision may need, drawn by the caller.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct Entropy {
    pub(crate) totp_secret: [u8; TOTP_SECRET_LEN],
    pub(crate) nonce: [u8; NONCE_LEN],
    pub(crate) code: [u8; 8],
    pub(crate) recovery: [crate::methods::recovery::CodeEntropy; crate::methods::recovery::COUNT],
    pub(crate) device: crate::methods::device::TokenEntropy,
    pub(crate) stamp: [u8; 16],
}

impl Entropy {
    /// Entropy from `fill`, called once to write random bytes into one
    /// buffer (one system call), which is then split up.
    pub(crate) fn draw<E>(fill: impl FnOnce(&mut [u8]) -> Result<(), E>) -> Result<Self, E> {
        const LEN: usize =
            TOTP_SECRET_LEN + NONCE_LEN + 8 + 32 * crate::methods::recovery::COUNT + 32 + 16;
        let mut buf = zeroize::Zeroizing::new([0u8; LEN]);
        fill(buf.as_mut_slice())?;
        let mut e = Entropy {
            totp_secret: [0; TOTP_SECRET_LEN],
            nonce: [0; NONCE_LEN],
            code: [0; 8],
            recovery: [[0; 32]; crate::methods::recovery::COUNT],
            device: [0; 32],
            stamp: [0; 16],
        };
        let mut rest = buf.as_slice();
        let mut take = |out: &mut [u8]| {
            let (head, tail) = rest.split_at(out.len().min(rest.len()));
            if let Some(o) = out.get_mut(..head.len()) {
                o.copy_from_slice(head);
            }
            rest = tail;
        };
        take(&mut e.totp_secret);
        take(&mut e.nonce);
        take(&mut e.code);
        for r in &mut e.recovery {
            take(r);
        }
        take(&mut e.device);
        take(&mut e.stamp);
        Ok(e)
    }
}

/// A new security stamp: the factors changed.
pub(crate) fn restamp(record: &mut Record, ctx: &Ctx<'_>) -> Result<(), Error> {
    record.stamp = Some(data_encoding::HEXLOWER.encode(&ctx.entropy()?.stamp));
    Ok(())
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
    /// Report an administrator's act, with who and why.
    AdminEvent {
        kind: EventKind,
        admin: String,
        reason: String,
    },
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

/// A saved change to the factors: a new security stamp, reported, and the
/// user told.
pub(crate) fn settings_changed(
    mut record: Record,
    ctx: &Ctx<'_>,
    kind: EventKind,
    method: Option<Method>,
    change: Change,
) -> Result<Decision<Verdict<()>>, Error> {
    restamp(&mut record, ctx)?;
    Ok(Decision {
        save: Some(record),
        effects: vec![Effect::Event(kind, method), Effect::Notice(change)],
        reply: Verdict::Accepted(()),
    })
}

/// What a security change was re-authenticated with: whether the password
/// was right, and the code given with it, if any.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Proofs<'a> {
    pub(crate) password_ok: bool,
    pub(crate) code: Option<&'a str>,
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
        /// Entropy for each seed a test uses, made once.
        seeds: Vec<Entropy>,
    }

    impl Fixture {
        pub(crate) fn new() -> Self {
            let mut policy = Policy::default();
            // cheap hashing: these tests are about the rules, not the cost
            policy.recovery.memory_kib = 64;
            policy.recovery.passes = 1;
            Self {
                policy,
                keys: Keys::derive(&MasterKey::new([42; 32])).unwrap(),
                account: Account::new("user-1", "alice@example.com"),
                seeds: (0..=255).map(entropy).collect(),
            }
        }

        /// A context at `now` whose entropy is `entropy(1)`.
        pub(crate) fn ctx(&self, now: u64) -> Ctx<'_> {
            self.ctx_seeded(now, 1)
        }

        /// A context at `now` whose entropy is `entropy(seed)`.
        pub(crate) fn ctx_seeded(&self, now: u64, seed: u8) -> Ctx<'_> {
            Ctx {
                now: Timestamp::from_unix_seconds(now),
                policy: &self.policy,
                keys: &self.keys,
                account: &self.account,
                issuer: "Acme",
                can_email: true,
                can_text: true,
                entropy: Some(&self.seeds[usize::from(seed)]),
            }
        }
    }

    /// Entropy whose fields are filled with `seed`, `seed + 1`, … in
    /// order (the TOTP secret `seed`, the nonce `seed + 1`, the code
    /// `seed + 2`, the recovery codes `seed + 3` to `seed + 12`, the device
    /// `seed + 13`, the stamp `seed + 14`).
    pub(crate) fn entropy(seed: u8) -> Entropy {
        let mut e = Entropy::draw::<()>(|buf| {
            buf.fill(0);
            Ok(())
        })
        .unwrap();
        e.totp_secret.fill(seed);
        e.nonce.fill(seed.wrapping_add(1));
        e.code.fill(seed.wrapping_add(2));
        for (i, r) in e.recovery.iter_mut().enumerate() {
            r.fill(seed.wrapping_add(3 + i as u8));
        }
        e.device.fill(seed.wrapping_add(13));
        e.stamp.fill(seed.wrapping_add(14));
        e
    }

    /// The code `entropy(seed)` sends.
    pub(crate) fn sent_code(seed: u8) -> String {
        crate::methods::code::code_from(entropy(seed).code, 6)
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
        let d = super::setup::begin(Record::default(), &f.ctx_seeded(at, seed), &new, goal, PASS);
        d.unwrap().save.unwrap()
    }

    /// A password check that failed.
    pub(crate) const FAIL: super::Proofs<'static> = super::Proofs {
        password_ok: false,
        code: None,
    };

    /// A password check that passed, with no code.
    pub(crate) const PASS: super::Proofs<'static> = super::Proofs {
        password_ok: true,
        code: None,
    };

    /// A record with the app from `entropy(seed)` enrolled at `at`.
    pub(crate) fn enrolled(f: &Fixture, at: u64, seed: u8) -> Record {
        let r = pending(f, at, seed);
        let d = super::setup::confirm(r, &f.ctx(at), &app_code(seed, at));
        d.unwrap().save.unwrap()
    }
}
