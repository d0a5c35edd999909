//! The state machine. Pure: every rule is a function of the record, the
//! command, the time, the random bytes and the policy, and returns the new
//! record and the effects to run after it is saved. No I/O, no clock, no
//! randomness of its own, no async.

pub(crate) mod admin;
pub(crate) mod authenticators;
pub(crate) mod ceremony;
pub(crate) mod device;
pub(crate) mod disable;
pub(crate) mod factor;
pub(crate) mod fallback;
pub(crate) mod guard;
pub(crate) mod import;
pub(crate) mod inputs;
pub(crate) mod key;
pub(crate) mod limits;
pub(crate) mod login;
pub(crate) mod recovery;
pub(crate) mod requirement;
pub(crate) mod rotation;
pub(crate) mod sending;
pub(crate) mod stepup;
pub(crate) mod view;

use std::time::Duration;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::crypto::keys::Keys;
use crate::crypto::seal::NONCE_LEN;
use crate::error::Error;
use crate::model::account::Account;
use crate::model::event::{EventKind, Named};
use crate::model::message::Change;
use crate::model::status::Method;
use crate::model::time::Timestamp;
use crate::model::verdict::{Rejection, Verdict};
use crate::policy::Policy;
use crate::record::Record;

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
    /// Destinations (by counter key) whose send the limits across accounts
    /// refused, with how long until one may be sent.
    pub(crate) refused: &'a [(String, Duration)],
    /// What the host requires of this account.
    pub(crate) requirement: crate::model::requirement::Requirement,
    /// The relying party for security keys, when configured.
    #[cfg(feature = "webauthn")]
    pub(crate) security_keys: Option<&'a crate::provided::security_keys::SecurityKeys>,
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
    pub(crate) recovery:
        [crate::crypto::recovery_hash::CodeEntropy; crate::crypto::recovery_hash::COUNT],
    pub(crate) device: crate::crypto::token::TokenEntropy,
    pub(crate) grant: crate::crypto::token::TokenEntropy,
    pub(crate) stamp: [u8; 16],
    /// Nonces to seal a record's secrets again under the current key.
    pub(crate) reseal: [[u8; NONCE_LEN]; rotation::RESEALS],
    /// The random part of a new authenticator's id.
    pub(crate) entry_id: [u8; 5],
}

impl Entropy {
    /// Entropy from `fill`, called once to write random bytes into one
    /// buffer (one system call), which is then split up.
    pub(crate) fn draw<E>(fill: impl FnOnce(&mut [u8]) -> Result<(), E>) -> Result<Self, E> {
        const LEN: usize = TOTP_SECRET_LEN
            + NONCE_LEN
            + 8
            + 32 * crate::crypto::recovery_hash::COUNT
            + 32
            + 32
            + 16
            + NONCE_LEN * rotation::RESEALS
            + 5;
        let mut buf = zeroize::Zeroizing::new([0u8; LEN]);
        fill(buf.as_mut_slice())?;
        let mut e = Entropy {
            totp_secret: [0; TOTP_SECRET_LEN],
            nonce: [0; NONCE_LEN],
            code: [0; 8],
            recovery: [[0; 32]; crate::crypto::recovery_hash::COUNT],
            device: [0; 32],
            grant: [0; 32],
            stamp: [0; 16],
            reseal: [[0; NONCE_LEN]; rotation::RESEALS],
            entry_id: [0; 5],
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
        take(&mut e.grant);
        take(&mut e.stamp);
        for n in &mut e.reseal {
            take(n);
        }
        take(&mut e.entry_id);
        Ok(e)
    }
}

/// A new security stamp: the factors changed. Answers the new stamp.
pub(crate) fn restamp(record: &mut Record, ctx: &Ctx<'_>) -> Result<String, Error> {
    let stamp = data_encoding::HEXLOWER.encode(&ctx.entropy()?.stamp);
    record.stamp = Some(stamp.clone());
    Ok(stamp)
}

/// Something to do once the new record is saved.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Effect {
    /// Report an audit event.
    Event(EventKind, Option<Method>),
    /// Report an audit event about one authenticator.
    Named(EventKind, Method, crate::model::event::Named),
    /// Email the account a security notice.
    Notice(Change),
    /// Text a security notice to a number that no longer receives codes.
    NumberNotice {
        /// The number, E.164.
        to: String,
        /// What changed.
        change: Change,
    },
    /// Deliver a one-time code.
    SendCode(Delivery),
    /// Report an administrator's act, with who and why.
    AdminEvent {
        kind: EventKind,
        admin: String,
        reason: String,
    },
}

impl Effect {
    /// An audit event, naming the authenticator when there is one (and a
    /// method with it).
    pub(crate) fn event(kind: EventKind, method: Option<Method>, named: Option<Named>) -> Self {
        match (method, named) {
            (Some(method), Some(named)) => Effect::Named(kind, method, named),
            (method, _) => Effect::Event(kind, method),
        }
    }
}

/// A code to deliver: how, where, the message, and the key of the counter
/// of codes sent to that destination.
#[derive(Clone)]
pub(crate) struct Delivery {
    pub(crate) method: Method,
    pub(crate) to: String,
    pub(crate) counter: String,
    pub(crate) message: crate::model::message::Message,
}

impl PartialEq for Delivery {
    /// Same method and destination; the code is not compared.
    fn eq(&self, other: &Self) -> bool {
        self.method == other.method && self.to == other.to && self.counter == other.counter
    }
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
/// after, the answer (an error too can be decided, with effects to report
/// it), and whether a failed attempt was counted.
#[derive(Debug)]
pub(crate) struct Decision<R> {
    pub(crate) save: Option<Record>,
    pub(crate) effects: Vec<Effect>,
    pub(crate) reply: Result<R, Error>,
    pub(crate) failed: bool,
    /// Not decided yet: the change was authorised and needs new recovery
    /// codes, which were not worked out (too slow to make for a change
    /// that might be refused). Make them, then decide again on the same
    /// record.
    pub(crate) wants_codes: bool,
}

impl<R> Decision<R> {
    /// An answer that changes nothing.
    pub(crate) fn unchanged(reply: R) -> Self {
        Self {
            save: None,
            effects: Vec::new(),
            reply: Ok(reply),
            failed: false,
            wants_codes: false,
        }
    }

    /// A record to save, what to do after, and the answer.
    pub(crate) fn saved(record: Record, effects: Vec<Effect>, reply: R) -> Self {
        Self {
            save: Some(record),
            effects,
            reply: Ok(reply),
            failed: false,
            wants_codes: false,
        }
    }

    /// Nothing to save, only effects to report, and the answer (which may
    /// be an error).
    pub(crate) fn report(effects: Vec<Effect>, reply: Result<R, Error>) -> Self {
        Self {
            save: None,
            effects,
            reply,
            failed: false,
            wants_codes: false,
        }
    }

    /// Not decided yet: make new recovery codes, then decide again. Its
    /// answer, were it ever given, is [`Error::Offload`]: the slow work was
    /// not done.
    pub(crate) fn wants_codes() -> Self {
        Self {
            save: None,
            effects: Vec::new(),
            reply: Err(Error::Offload),
            failed: false,
            wants_codes: true,
        }
    }
}

#[cfg(test)]
impl<R> Decision<R> {
    /// The answer, which a test expects to be no error.
    pub(crate) fn ok(&self) -> &R {
        match &self.reply {
            Ok(reply) => reply,
            Err(e) => panic!("decided an error: {e:?}"),
        }
    }
}

/// Counts a failed attempt and answers it, saying why.
pub(crate) fn reject<T>(
    mut record: Record,
    ctx: &Ctx<'_>,
    kind: EventKind,
    method: Option<Method>,
    reason: Rejection,
) -> Decision<Verdict<T>> {
    let reply = record.guard.fail(ctx.now, &ctx.policy.lockout, reason);
    let mut effects = vec![Effect::Event(kind, method)];
    if matches!(reply, Verdict::LockedOut { .. }) {
        effects.push(Effect::Event(EventKind::LockedOut, method));
    }
    Decision {
        save: Some(record),
        effects,
        reply: Ok(reply),
        failed: true,
        wants_codes: false,
    }
}

/// The audit event a rejected code is reported as.
pub(crate) fn rejected_kind(reason: Rejection, otherwise: EventKind) -> EventKind {
    match reason {
        Rejection::Replayed => EventKind::CodeReplayed,
        Rejection::Expired => EventKind::CodeExpired,
        Rejection::Malformed => EventKind::MalformedCode,
        Rejection::WrongPassword => EventKind::PasswordRejected,
        Rejection::WrongCode => otherwise,
    }
}

/// The number codes are texted to, if SMS is set up (kept ones too).
pub(crate) fn texted_number(record: &Record, ctx: &Ctx<'_>) -> Result<Option<String>, Error> {
    match record.factors.as_ref().and_then(|e| e.factor(Method::Sms)) {
        Some(f) => sending::destination(f, ctx),
        None => Ok(None),
    }
}

/// A saved change to the factors: a new security stamp, every step-up grant
/// but the one that authorised it revoked, reported, and the user told: by
/// email, and by text at `old_number` when that number no longer receives
/// codes.
pub(crate) fn factors_changed<T>(
    mut record: Record,
    ctx: &Ctx<'_>,
    authorised: stepup::Authorised,
    (kind, method, change, named): (EventKind, Option<Method>, Change, Option<Named>),
    old_number: Option<String>,
    reply: impl FnOnce(String) -> T,
) -> Result<Decision<Verdict<T>>, Error> {
    let stamp = restamp(&mut record, ctx)?;
    stepup::keep_only(&mut record, ctx, authorised.grant.as_deref());
    let mut effects = authorised.effects;
    effects.push(Effect::event(kind, method, named));
    effects.push(Effect::Notice(change));
    let new_number = texted_number(&record, ctx)?;
    if let Some(old) = old_number.filter(|old| Some(old) != new_number.as_ref()) {
        effects.push(Effect::NumberNotice { to: old, change });
    }
    Ok(Decision::saved(
        record,
        effects,
        Verdict::Accepted(reply(stamp)),
    ))
}

#[cfg(test)]
pub(crate) mod testing {
    //! A context to decide in, for the core's own tests.
    use super::*;
    use crate::crypto::keys::MasterKey;

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
                keys: Keys::derive(&MasterKey::new([42; 32]), &[]).unwrap(),
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
                refused: &[],
                requirement: crate::model::requirement::Requirement::optional(),
                #[cfg(feature = "webauthn")]
                security_keys: None,
            }
        }
    }

    /// Entropy whose fields are filled with `seed`, `seed + 1`, … in
    /// order (the TOTP secret `seed`, the nonce `seed + 1`, the code
    /// `seed + 2`, the recovery codes `seed + 3` to `seed + 12`, the device
    /// `seed + 13`, the stamp `seed + 14`, the grant `seed + 15`, a new
    /// authenticator's id `seed + 16`).
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
        e.grant.fill(seed.wrapping_add(15));
        e.entry_id.fill(seed.wrapping_add(16));
        e
    }

    /// The code `entropy(seed)` sends.
    pub(crate) fn sent_code(seed: u8) -> String {
        crate::crypto::code_mac::code_from(entropy(seed).code, 6)
    }

    /// The code an app set up from `entropy(seed)` shows at `at`.
    pub(crate) fn app_code(seed: u8, at: u64) -> String {
        crate::crypto::totp::Totp::new(crate::Algorithm::Sha1, 6, 30)
            .code_at(&[seed; TOTP_SECRET_LEN], at)
            .to_string()
    }

    /// A record with an app setup begun at `at` from `entropy(seed)`.
    pub(crate) fn pending(f: &Fixture, at: u64, seed: u8) -> Record {
        let new = crate::model::setup::NewMethod::App;
        let goal = crate::record::Goal::TurnOn;
        let d = super::ceremony::begin(
            Record::default(),
            &f.ctx_seeded(at, seed),
            &new.into(),
            goal,
            &PASS,
        );
        d.unwrap().save.unwrap()
    }

    /// A password check that failed.
    pub(crate) const FAIL: super::stepup::Presented<'static> =
        super::stepup::Presented::Password { ok: false };

    /// A password check that passed, with no code.
    pub(crate) const PASS: super::stepup::Presented<'static> =
        super::stepup::Presented::Password { ok: true };

    /// A right password and `code`.
    pub(crate) fn with_code(code: &str) -> super::stepup::Presented<'_> {
        super::stepup::Presented::PasswordAndCode {
            ok: true,
            code,
            recovery: None,
        }
    }

    /// Inputs holding a new set of recovery codes, made from `entropy(1)`:
    /// for a confirmation that turns two-factor authentication on.
    pub(crate) fn codes(f: &Fixture) -> super::inputs::Inputs {
        let cost = crate::crypto::recovery_hash::Cost::from(&f.policy.recovery);
        let made = super::recovery::make_codes(cost, f.account.id(), &entropy(1).recovery);
        super::inputs::Inputs {
            new_codes: Some(made.unwrap()),
            ..Default::default()
        }
    }

    /// A wrong-code rejection with `attempts_left`.
    pub(crate) fn wrong<T>(attempts_left: u32) -> Verdict<T> {
        Verdict::Rejected {
            attempts_left,
            reason: crate::model::verdict::Rejection::WrongCode,
        }
    }

    /// A record with the app from `entropy(seed)` set up at `at`.
    pub(crate) fn with_app(f: &Fixture, at: u64, seed: u8) -> Record {
        let r = pending(f, at, seed);
        let d = super::ceremony::confirm(r, &f.ctx(at), &app_code(seed, at), &codes(f));
        d.unwrap().save.unwrap()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrecy::SecretString;

    use super::*;
    use crate::model::message::{CodeMessage, Message, Purpose};

    /// One draw fills every field, each from its own bytes, and asks for
    /// no byte more than it uses (the struct is all byte arrays, so its
    /// size is their sum).
    #[test]
    fn one_draw_is_exactly_the_fields() {
        let mut asked = 0;
        let e = Entropy::draw::<()>(|buf| {
            asked = buf.len();
            for (i, b) in buf.iter_mut().enumerate() {
                *b = (i % 251) as u8;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(asked, std::mem::size_of::<Entropy>());
        // the last field takes the last bytes
        let last: Vec<u8> = (asked - 5..asked).map(|i| (i % 251) as u8).collect();
        assert_eq!(e.entry_id.as_slice(), last.as_slice());
        assert_eq!(e.totp_secret[0], 0);
    }

    fn delivery(to: &str, code: &str) -> Delivery {
        Delivery {
            method: Method::Email,
            to: to.to_owned(),
            counter: format!("to:{to}"),
            message: Message::Code(CodeMessage {
                code: SecretString::from(code),
                purpose: Purpose::Login,
                method: Method::Email,
                valid_for: Duration::from_secs(600),
                issuer: "Acme".to_owned(),
            }),
        }
    }

    /// Every effect equals itself (the code inside a delivery, a secret,
    /// is not compared), and effects that differ are not equal.
    #[test]
    #[allow(clippy::eq_op)]
    fn effects_compare_reflexively() {
        let all = [
            Effect::Event(EventKind::CodeSent, Some(Method::Email)),
            Effect::Named(
                EventKind::LoginAccepted,
                Method::App,
                Named {
                    id: "app".to_owned(),
                    label: "Pixel 8".to_owned(),
                },
            ),
            Effect::Notice(Change::Disabled),
            Effect::NumberNotice {
                to: "+15550100".to_owned(),
                change: Change::Disabled,
            },
            Effect::SendCode(delivery("a@example.com", "123456")),
            Effect::AdminEvent {
                kind: EventKind::AdminReset,
                admin: "root".to_owned(),
                reason: "lost phone".to_owned(),
            },
        ];
        for (i, a) in all.iter().enumerate() {
            assert_eq!(a, a);
            assert_eq!(a, &a.clone());
            for (j, b) in all.iter().enumerate() {
                assert_eq!(a == b, i == j, "{a:?} against {b:?}");
            }
        }
        assert_eq!(
            Effect::SendCode(delivery("a@example.com", "123456")),
            Effect::SendCode(delivery("a@example.com", "654321"))
        );
        assert_ne!(
            Effect::SendCode(delivery("a@example.com", "123456")),
            Effect::SendCode(delivery("b@example.com", "123456"))
        );
        // each of method, destination and counter counts on its own
        let one = delivery("a@example.com", "123456");
        let mut other = one.clone();
        other.to = "b@example.com".to_owned();
        assert_ne!(one, other);
        let mut other = one.clone();
        other.counter = "to:b@example.com".to_owned();
        assert_ne!(one, other);
        let mut other = one.clone();
        other.method = Method::Sms;
        assert_ne!(one, other);
        // its Debug names the method and hides where and what
        let shown = format!("{one:?}");
        assert!(shown.contains("Email") && shown.contains("[REDACTED]"));
        assert!(!shown.contains("a@example.com") && !shown.contains("123456"));
    }
}
