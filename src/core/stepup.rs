//! The step-up rule, in one place: while two-factor authentication is on
//! (or suspended with the settings kept), every change to the ways of
//! passing the second factor needs the password and a current second
//! factor, or a live step-up grant obtained with both. Also the grants
//! themselves: made by [`step_up`], spent by nobody (a grant authorises
//! every change within its window), revoked by [`revoke`] and by any change
//! of factors made another way.

use secrecy::SecretString;

use super::factor::{self, Checked};
use super::inputs::{recovery_check, Inputs, Needs, Prepared};
use super::recovery::RecoveryHit;
use super::{reject, Ctx, Decision, Effect};
use crate::crypto::recovery_hash::Cost;
use crate::crypto::token::{find, token, token_mac, TokenKind};
use crate::error::{Error, Result};
use crate::model::event::EventKind;
use crate::model::message::{Change, Purpose};
use crate::model::reauth::Given;
use crate::model::verdict::{Grant, Rejection, Verdict};
use crate::policy::FactorChange;
use crate::record::{GrantRecord, Record};

/// What a caller presented, with the slow parts already worked out: the
/// password's verdict (argon2), a recovery code's hit (argon2), a grant's
/// keyed hash.
#[derive(Clone, Copy)]
pub(crate) enum Presented<'a> {
    /// The password alone.
    Password { ok: bool },
    /// The password and a code (a one-time code or a recovery code).
    PasswordAndCode {
        ok: bool,
        code: &'a str,
        recovery: Option<&'a RecoveryHit>,
    },
    /// A step-up grant's token.
    Grant { token: &'a SecretString },
}

/// A change went through the rule: the grant that authorised it (kept when
/// the others are revoked), and what to report.
#[derive(Debug, Default)]
pub(crate) struct Authorised {
    pub(crate) grant: Option<Vec<u8>>,
    pub(crate) effects: Vec<Effect>,
}

/// The outcome of the rule: go on with the record (its factor's use
/// recorded), or stop with this answer (a lockout, or a counted rejection).
pub(crate) enum Gate<T> {
    Pass(Record, Authorised),
    Stop(Decision<Verdict<T>>),
}

/// Whether this record needs a second factor for `change`: it has a factor
/// (on, or suspended with the settings kept), and the policy did not allow
/// the change with the password alone.
fn needs_factor(record: &Record, ctx: &Ctx<'_>, change: FactorChange) -> bool {
    record.factors.is_some() && !ctx.policy.allows_password_only(change)
}

/// Whether there is a second factor to step up with.
pub(crate) fn check(record: &Record) -> Result<()> {
    record.factors.as_ref().map(|_| ()).ok_or(Error::NotEnabled)
}

/// What a call needs under the step-up rule.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rule {
    /// This change of the account's factors: a second factor as well as
    /// the password while one is set up (unless the policy allows the
    /// password alone for it).
    Change(FactorChange),
    /// Always the password and a second factor (or, where taken, a grant):
    /// a step-up itself, an administrator's own proof.
    Factor,
}

/// The first look at a call under the step-up rule, before anything is
/// evaluated: `state`'s error (the call does not fit the record), then
/// [`Error::StepUpRequired`] when the password alone was presented where a
/// second factor is needed, then a lockout; otherwise what to work out
/// (the password, a recovery code) before the decision.
pub(crate) fn prepare<T>(
    record: &Record,
    ctx: &Ctx<'_>,
    rule: Rule,
    given: &Given<'_>,
    state: Result<()>,
) -> Result<Prepared<Verdict<T>>> {
    state?;
    let password_only = matches!(given, Given::Password(_));
    let needed = match rule {
        Rule::Change(change) => needs_factor(record, ctx, change),
        Rule::Factor => true,
    };
    if password_only && needed {
        return Err(Error::StepUpRequired);
    }
    if let Some(until) = record.guard.locked(ctx.now) {
        return Ok(Prepared::Answer(Verdict::LockedOut { until }));
    }
    // The one change that makes new recovery codes.
    let new_codes = matches!(rule, Rule::Change(FactorChange::RegenerateRecoveryCodes))
        .then(|| Cost::from(&ctx.policy.recovery));
    Ok(Prepared::Go(match *given {
        Given::Grant(_) => Needs {
            new_codes,
            ..Needs::default()
        },
        Given::Password(_) => Needs {
            password: true,
            new_codes,
            ..Needs::default()
        },
        Given::PasswordAndCode(_, code) => Needs {
            password: true,
            recovery: recovery_check(record, ctx, code),
            new_codes,
        },
    }))
}

/// What was presented, with what was worked out for it.
pub(crate) fn presented<'a>(given: &Given<'a>, inputs: &'a Inputs) -> Presented<'a> {
    let ok = inputs.password == Some(true);
    match *given {
        Given::Password(_) => Presented::Password { ok },
        Given::PasswordAndCode(_, code) => Presented::PasswordAndCode {
            ok,
            code,
            recovery: inputs.recovery.as_ref(),
        },
        Given::Grant(token) => Presented::Grant { token },
    }
}

/// The rule, for a change of the account's own factors.
pub(crate) fn authorize<T>(
    record: Record,
    ctx: &Ctx<'_>,
    change: FactorChange,
    presented: &Presented<'_>,
) -> Result<Gate<T>> {
    let needed = needs_factor(&record, ctx, change);
    gate(record, ctx, needed, presented)
}

/// The rule, for an administrator acting on another account: the
/// administrator's own record must have two-factor authentication on (not
/// suspended), and the password alone never serves.
pub(crate) fn authorize_admin<T>(
    record: Record,
    ctx: &Ctx<'_>,
    presented: &Presented<'_>,
) -> Result<Gate<T>> {
    if super::ceremony::active(&record).is_none() {
        return Err(Error::NotPermitted);
    }
    gate(record, ctx, true, presented)
}

fn gate<T>(
    mut record: Record,
    ctx: &Ctx<'_>,
    needs_factor: bool,
    presented: &Presented<'_>,
) -> Result<Gate<T>> {
    if let Some(until) = record.guard.locked(ctx.now) {
        return Ok(Gate::Stop(Decision::unchanged(Verdict::LockedOut {
            until,
        })));
    }
    match *presented {
        Presented::Grant { token } => {
            let live = live_grant(&record, ctx, token).ok_or(Error::StepUpRequired)?;
            Ok(Gate::Pass(
                record,
                Authorised {
                    grant: Some(live),
                    effects: vec![Effect::Event(EventKind::GrantUsed, None)],
                },
            ))
        }
        Presented::Password { .. } if needs_factor => Err(Error::StepUpRequired),
        Presented::Password { ok: false } | Presented::PasswordAndCode { ok: false, .. } => {
            Ok(Gate::Stop(reject(
                record,
                ctx,
                EventKind::PasswordRejected,
                None,
                Rejection::WrongPassword,
            )))
        }
        Presented::Password { ok: true } => Ok(Gate::Pass(record, Authorised::default())),
        Presented::PasswordAndCode { .. } if !needs_factor => {
            // Nothing to prove a factor against: the password is enough.
            Ok(Gate::Pass(record, Authorised::default()))
        }
        Presented::PasswordAndCode { code, recovery, .. } => {
            match factor::check(&mut record, ctx, Purpose::StepUp, code, recovery)? {
                Checked::Miss(reason) => {
                    let kind = super::rejected_kind(reason, EventKind::StepUpRejected);
                    Ok(Gate::Stop(reject(record, ctx, kind, None, reason)))
                }
                proved => {
                    record.guard.succeed();
                    Ok(Gate::Pass(record, proved_with(proved)))
                }
            }
        }
    }
}

/// What to report for a second factor proved: a recovery code used is told.
fn proved_with(checked: Checked) -> Authorised {
    let effects = match checked {
        Checked::Recovery { left } => vec![
            Effect::Event(EventKind::RecoveryCodeUsed, None),
            Effect::Notice(Change::RecoveryCodeUsed { left }),
        ],
        _ => Vec::new(),
    };
    Authorised {
        grant: None,
        effects,
    }
}

/// The position of the grant whose token is `token`, compared in constant
/// time under the key that made each.
fn grant_at(record: &Record, ctx: &Ctx<'_>, token: &SecretString) -> Option<usize> {
    let keyed = record.grants.iter().map(|g| (g.key, g.mac.as_slice()));
    find(ctx.keys, keyed, TokenKind::Grant, ctx.account.id(), token)
}

/// The keyed hash of the live grant whose token is `token`.
fn live_grant(record: &Record, ctx: &Ctx<'_>, token: &SecretString) -> Option<Vec<u8>> {
    let i = grant_at(record, ctx, token)?;
    record
        .grants
        .get(i)
        .filter(|g| g.expires > ctx.now)
        .map(|g| g.mac.clone())
}

/// Revokes every grant but `kept` (the one that authorised a change), and
/// the expired ones: the factors changed.
pub(crate) fn keep_only(record: &mut Record, ctx: &Ctx<'_>, kept: Option<&[u8]>) {
    record
        .grants
        .retain(|g| Some(g.mac.as_slice()) == kept && g.expires > ctx.now);
}

/// A step-up: the password and a current second factor give a grant that
/// stands in for both on factor changes for `policy.step_up.grant_ttl`.
pub(crate) fn step_up(
    record: Record,
    ctx: &Ctx<'_>,
    presented: &Presented<'_>,
) -> Result<Decision<Verdict<Grant>>> {
    if record.factors.is_none() {
        return Err(Error::NotEnabled);
    }
    if matches!(presented, Presented::Grant { .. }) {
        // A grant does not make another: its window would never end.
        return Err(Error::StepUpRequired);
    }
    let (mut record, authorised) = match gate(record, ctx, true, presented)? {
        Gate::Pass(record, authorised) => (record, authorised),
        Gate::Stop(decision) => return Ok(decision),
    };
    let token = token(&ctx.entropy()?.grant);
    let keys = ctx.keys.current();
    let mac = token_mac(keys.code(), TokenKind::Grant, ctx.account.id(), &token);
    let policy = &ctx.policy.step_up;
    let expires = ctx.now.saturating_add(policy.grant_ttl);
    record.grants.retain(|g| g.expires > ctx.now);
    while record.grants.len() >= policy.max_grants {
        // the oldest goes first
        record.grants.remove(0);
    }
    record.grants.push(GrantRecord {
        key: keys.id,
        mac: mac.to_vec(),
        created: ctx.now,
        expires,
    });
    let mut effects = authorised.effects;
    effects.insert(0, Effect::Event(EventKind::StepUp, None));
    Ok(Decision::saved(
        record,
        effects,
        Verdict::Accepted(Grant { token, expires }),
    ))
}

/// Revokes the grant whose token is `token` (a sign-out); whether there was
/// one.
pub(crate) fn revoke(mut record: Record, ctx: &Ctx<'_>, token: &SecretString) -> Decision<bool> {
    let before = record.grants.len();
    let found = grant_at(&record, ctx, token);
    if let Some(i) = found {
        record.grants.remove(i);
    }
    record.grants.retain(|g| g.expires > ctx.now);
    if record.grants.len() == before {
        return Decision::unchanged(false);
    }
    let effects = found
        .map(|_| Effect::Event(EventKind::GrantRevoked, None))
        .into_iter()
        .collect();
    Decision::saved(record, effects, found.is_some())
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::super::testing::{app_code, with_app, with_code, Fixture, PASS};
    use super::*;

    const T0: u64 = 1_700_000_100;

    fn granted(f: &Fixture, r: Record, at: u64) -> (Record, Grant) {
        let code = app_code(1, at);
        let seed = (at % 200) as u8;
        let d = step_up(r, &f.ctx_seeded(at, seed), &with_code(&code)).unwrap();
        let grant = d.reply.unwrap().accepted().unwrap();
        (d.save.unwrap(), grant)
    }

    #[test]
    fn a_grant_stands_in_until_it_expires_and_only_for_its_account() {
        let mut f = Fixture::new();
        let r = with_app(&f, T0, 1);
        let (r, grant) = granted(&f, r, T0 + 30);
        assert_eq!(grant.expires.unix_seconds(), T0 + 30 + 600);
        assert_eq!(grant.token.expose_secret().len(), 43);
        let doc = r.encode().unwrap();
        assert!(!crate::__internal::holds(&doc, grant.token.expose_secret()));
        let given = Presented::Grant {
            token: &grant.token,
        };
        let pass = authorize::<()>(r.clone(), &f.ctx(T0 + 629), FactorChange::Disable, &given);
        assert!(matches!(
            pass,
            Ok(Gate::Pass(_, Authorised { grant: Some(_), .. }))
        ));
        let late = authorize::<()>(r.clone(), &f.ctx(T0 + 630), FactorChange::Disable, &given);
        assert!(matches!(late, Err(Error::StepUpRequired)));
        f.account = crate::Account::new("user-2", "b@example.com");
        let theirs = authorize::<()>(r, &f.ctx(T0 + 31), FactorChange::Disable, &given);
        assert!(matches!(theirs, Err(Error::StepUpRequired)));
    }

    #[test]
    fn the_password_alone_is_refused_while_on_before_it_is_looked_at() {
        let f = Fixture::new();
        let r = with_app(&f, T0, 1);
        let pw = SecretString::from("pw");
        let alone = Given::Password(&pw);
        let first =
            |r: &Record, change| prepare::<()>(r, &f.ctx(T0), Rule::Change(change), &alone, Ok(()));
        assert!(matches!(
            first(&r, FactorChange::Disable),
            Err(Error::StepUpRequired)
        ));
        // nothing is worked out for it: not even the password
        assert!(matches!(
            first(&Record::default(), FactorChange::Switch),
            Ok(Prepared::Go(Needs { password: true, .. }))
        ));
        let both = Given::PasswordAndCode(&pw, "123456");
        let go = prepare::<()>(&r, &f.ctx(T0), Rule::Factor, &both, Ok(()));
        assert!(matches!(
            go,
            Ok(Prepared::Go(Needs {
                password: true,
                recovery: None,
                ..
            }))
        ));
        let grant = Given::Grant(&pw);
        let go = prepare::<()>(&r, &f.ctx(T0), Rule::Factor, &grant, Ok(()));
        assert!(matches!(go, Ok(Prepared::Go(n)) if n == Needs::default()));
        // a state error comes first
        let state = prepare::<()>(&r, &f.ctx(T0), Rule::Factor, &alone, Err(Error::NotEnabled));
        assert!(matches!(state, Err(Error::NotEnabled)));
        let gate = authorize::<()>(r.clone(), &f.ctx(T0), FactorChange::Disable, &PASS);
        assert!(matches!(gate, Err(Error::StepUpRequired)));
        let mut relaxed = Fixture::new();
        relaxed.policy = relaxed
            .policy
            .clone()
            .dangerous_password_only(FactorChange::Disable);
        let gate = authorize::<()>(r, &relaxed.ctx(T0), FactorChange::Disable, &PASS);
        assert!(matches!(gate, Ok(Gate::Pass(..))));
    }

    #[test]
    fn a_wrong_code_counts_and_a_used_one_is_a_replay() {
        let f = Fixture::new();
        let r = with_app(&f, T0, 1);
        let Gate::Stop(d) = authorize::<()>(
            r.clone(),
            &f.ctx(T0 + 30),
            FactorChange::Disable,
            &with_code("000000"),
        )
        .unwrap() else {
            panic!("passed")
        };
        assert!(d.failed);
        assert!(matches!(
            d.reply,
            Ok(Verdict::Rejected {
                attempts_left: 4,
                reason: Rejection::WrongCode
            })
        ));
        // the code that turned it on cannot be used again
        let setup = app_code(1, T0);
        let Gate::Stop(d) =
            authorize::<()>(r, &f.ctx(T0 + 1), FactorChange::Disable, &with_code(&setup)).unwrap()
        else {
            panic!("passed")
        };
        assert_eq!(d.effects[0], Effect::Event(EventKind::CodeReplayed, None));
    }

    #[test]
    fn grants_are_capped_revoked_and_kept_only_by_their_own_change() {
        let mut f = Fixture::new();
        f.policy.step_up.max_grants = 2;
        let mut r = with_app(&f, T0, 1);
        let mut grants = Vec::new();
        for i in 1..=3u64 {
            let (next, g) = granted(&f, r, T0 + 30 * i);
            r = next;
            grants.push(g);
        }
        assert_eq!(r.grants.len(), 2, "the oldest was dropped");
        let at = f.ctx(T0 + 100);
        assert!(live_grant(&r, &at, &grants[0].token).is_none());
        let kept = live_grant(&r, &at, &grants[2].token);
        let mut changed = r.clone();
        keep_only(&mut changed, &at, kept.as_deref());
        assert_eq!(changed.grants.len(), 1);
        let d = revoke(r, &at, &grants[1].token);
        assert!(d.reply.unwrap());
        assert_eq!(d.save.unwrap().grants.len(), 1);
    }
}
