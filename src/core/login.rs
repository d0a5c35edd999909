//! The second step of a login.

use super::ceremony::active;
use super::factor::{self, Checked};
use super::inputs::{recovery_check, Needs, Prepared};
use super::recovery::RecoveryHit;
use super::sending::{self, Issued};
use super::{device, reject, Ctx, Decision, Effect};
use crate::error::{Error, Result};
use crate::model::event::EventKind;
use crate::model::message::{Change, Purpose};
use crate::model::status::Method;
use crate::model::verdict::{LoginStep, Proof, Sent, Verdict, Verified};
use crate::record::Record;

/// What to ask for once the password was right. A remembered device skips
/// the code. For an emailed or texted primary, a code is sent unless one
/// sent earlier is still live (or a send limit holds it back: the challenge
/// says for how long). A pending setup asks for nothing: it changes nothing
/// until confirmed.
pub(crate) fn begin(
    mut record: Record,
    ctx: &Ctx<'_>,
    device_token: Option<&str>,
) -> Result<Decision<LoginStep>> {
    if active(&record).is_none() {
        return Ok(Decision::unchanged(
            super::requirement::login_step(&record, ctx).unwrap_or(LoginStep::NotRequired),
        ));
    }
    if let Some(until) = record.guard.locked(ctx.now) {
        return Ok(Decision::unchanged(LoginStep::LockedOut { until }));
    }
    // A remembered device needs nothing else: no number unsealed, no code.
    if let Some(i) = device_token.and_then(|t| device::trusted(&record, ctx, t)) {
        let setup_due = super::requirement::due_after_login(&record, ctx);
        let step = record.devices.get_mut(i).map(|d| {
            d.last_used = Some(ctx.now);
            LoginStep::Trusted {
                device: d.id.clone(),
                until: d.expires,
                setup_due,
            }
        });
        if let Some(step) = step {
            return Ok(Decision::saved(
                record,
                vec![Effect::Event(EventKind::TrustedDevice, None)],
                step,
            ));
        }
    }
    let Some(e) = active(&record) else {
        return Ok(Decision::unchanged(LoginStep::NotRequired));
    };
    let method = e.primary;
    let alternatives: Vec<Method> = e.methods().into_iter().filter(|m| *m != method).collect();
    let to = match e.factor(method) {
        Some(f) => sending::destination(f, ctx)?,
        None => None,
    };
    // A new single-use challenge for the account's keys, if it has any:
    // the record is saved with it.
    let key = super::key::challenge(&mut record, ctx, Purpose::Login)?;
    let challenge = |sent, retry_after| LoginStep::Challenge {
        method,
        sent,
        alternatives: alternatives.clone(),
        retry_after,
        key: key.clone(),
    };
    // Saved only when it holds a new key challenge.
    let keep = |record: Record, effects: Vec<Effect>, step: LoginStep| match key.is_some() {
        true => Decision::saved(record, effects, step),
        false => Decision::report(effects, Ok(step)),
    };
    let Some(to) = to else {
        return Ok(keep(record, Vec::new(), challenge(None, None)));
    };
    let live = sending::live(&record, ctx, Purpose::Login, &to).filter(|s| s.method == method);
    if let Some(sent) = live {
        return Ok(keep(record, Vec::new(), challenge(Some(sent), None)));
    }
    Ok(
        match sending::issue(&mut record, ctx, Purpose::Login, method, &to)? {
            Issued::Sent(effects, sent) => {
                Decision::saved(record, effects, challenge(Some(sent), None))
            }
            // Held back: the challenge stands, without a code yet (and the
            // key's challenge is kept).
            Issued::HeldBack {
                retry_after,
                effects,
            } => keep(record, effects, challenge(None, Some(retry_after))),
        },
    )
}

/// Sends a code for `purpose` (a login, or a step-up) by `method`, replacing
/// any code sent before; under the send limits. Also while suspended, for a
/// step-up before [`reenable`](super::disable::reenable).
pub(crate) fn send(
    mut record: Record,
    ctx: &Ctx<'_>,
    method: Method,
    purpose: Purpose,
) -> Result<Decision<Sent>> {
    // A login code only while on; a step-up code also while suspended,
    // to prove a kept method when turning it back on.
    let e = match purpose {
        Purpose::Login => active(&record),
        _ => record.factors.as_ref(),
    }
    .ok_or(Error::NotEnabled)?;
    if let Some(until) = record.guard.locked(ctx.now) {
        return Err(Error::RateLimited {
            retry_after: until.since(ctx.now),
        });
    }
    let factor = e.factor(method).ok_or(Error::MethodNotSetUp)?;
    let to = sending::destination(factor, ctx)?.ok_or(Error::WrongMethod)?;
    Ok(
        match sending::issue(&mut record, ctx, purpose, method, &to)? {
            Issued::Sent(effects, sent) => Decision::saved(record, effects, sent),
            Issued::HeldBack {
                retry_after,
                effects,
            } => Decision::report(effects, Err(Error::RateLimited { retry_after })),
        },
    )
}

/// The first look at a login's second factor, before anything is
/// evaluated: nothing to verify when two-factor authentication is not on,
/// nothing evaluated while locked out; otherwise a typed recovery code's
/// argon2id check to work out before the decision.
pub(crate) fn prepare_verify(
    record: &Record,
    ctx: &Ctx<'_>,
    typed: &str,
) -> Result<Prepared<Verdict<Verified>>> {
    if active(record).is_none() {
        return Err(Error::NotEnabled);
    }
    if let Some(until) = record.guard.locked(ctx.now) {
        return Ok(Prepared::Answer(Verdict::LockedOut { until }));
    }
    Ok(Prepared::Go(Needs {
        recovery: recovery_check(record, ctx, typed),
        ..Needs::default()
    }))
}

/// Checks a login's second factor: a code, or a recovery code (whose
/// argon2id check, `hit`, was done before). On success, remembers the
/// device when `remember` names it.
pub(crate) fn verify(
    mut record: Record,
    ctx: &Ctx<'_>,
    typed: &str,
    hit: Option<&RecoveryHit>,
    remember: Option<&str>,
) -> Result<Decision<Verdict<Verified>>> {
    let Some(e) = active(&record) else {
        return Err(Error::NotEnabled);
    };
    let primary = e.primary;
    if let Some(until) = record.guard.locked(ctx.now) {
        return Ok(Decision::unchanged(Verdict::LockedOut { until }));
    }
    let mut effects = Vec::new();
    let mut named = None;
    let proof = match factor::check(&mut record, ctx, Purpose::Login, typed, hit)? {
        Checked::Code(method, by) => {
            named = Some(by);
            Proof::Code(method)
        }
        Checked::Recovery { left } => {
            effects.push(Effect::Event(EventKind::RecoveryCodeUsed, None));
            effects.push(Effect::Notice(Change::RecoveryCodeUsed { left }));
            Proof::RecoveryCode { left }
        }
        Checked::Miss(reason) => {
            let method = record.code.as_ref().map(|c| c.method).or(Some(primary));
            let kind = super::rejected_kind(reason, EventKind::LoginRejected);
            return Ok(reject(record, ctx, kind, method, reason));
        }
    };
    record.guard.succeed();
    let method = match proof {
        Proof::Code(m) => Some(m),
        _ => None,
    };
    effects.insert(0, Effect::event(EventKind::LoginAccepted, method, named));
    let device = match remember {
        Some(label) => {
            effects.push(Effect::Event(EventKind::DeviceRemembered, None));
            effects.push(Effect::Notice(Change::DeviceRemembered));
            Some(device::remember(&mut record, ctx, label)?)
        }
        None => None,
    };
    let setup_due = super::requirement::due_after_login(&record, ctx);
    Ok(Decision::saved(
        record,
        effects,
        Verdict::Accepted(Verified {
            proof,
            device,
            setup_due,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::ceremony::{begin as begin_setup, confirm};
    use super::super::testing::{app_code, codes, pending, sent_code, with_app, Fixture, PASS};
    use super::*;
    use crate::model::setup::NewMethod;
    use crate::model::time::Timestamp;
    use crate::model::verdict::Rejection;
    use crate::record::Goal;

    const T0: u64 = 1_700_000_010;

    fn code(at: u64) -> String {
        app_code(3, at)
    }

    fn step(record: &Record, f: &Fixture, at: u64) -> LoginStep {
        begin(record.clone(), &f.ctx_seeded(at, 7), None)
            .unwrap()
            .ok()
            .clone()
    }

    /// `verify` of a typed code, with no recovery check and no device.
    fn verify_code(r: Record, ctx: &Ctx<'_>, typed: &str) -> Result<Decision<Verdict<Verified>>> {
        verify(r, ctx, typed, None, None)
    }

    /// An account with email as its primary method.
    fn email_primary(f: &Fixture) -> Record {
        let d = begin_setup(
            Record::default(),
            &f.ctx_seeded(T0, 4),
            &NewMethod::Email.into(),
            Goal::TurnOn,
            &PASS,
        )
        .unwrap();
        let sent = sent_code(4);
        confirm(d.save.unwrap(), &f.ctx(T0), &sent, &codes(f))
            .unwrap()
            .save
            .unwrap()
    }

    #[test]
    fn begin_asks_only_when_on() {
        let f = Fixture::new();
        assert_eq!(step(&Record::default(), &f, T0), LoginStep::NotRequired);
        assert_eq!(step(&pending(&f, T0, 3), &f, T0), LoginStep::NotRequired);
        assert_eq!(
            step(&with_app(&f, T0, 3), &f, T0),
            LoginStep::Challenge {
                method: Method::App,
                sent: None,
                alternatives: vec![],
                retry_after: None,
                key: None,
            }
        );
        let mut required = Record::default();
        required.setup_required = Some(Timestamp::from_unix_seconds(T0));
        assert_eq!(
            step(&required, &f, T0),
            LoginStep::SetupRequired {
                strength: crate::model::requirement::Strength::Any,
                grace_until: None
            }
        );
    }

    #[test]
    fn the_confirming_code_cannot_log_in() {
        let f = Fixture::new();
        let d = verify_code(with_app(&f, T0, 3), &f.ctx(T0 + 1), &code(T0)).unwrap();
        assert_eq!(
            *d.ok(),
            Verdict::Rejected {
                attempts_left: 4,
                reason: Rejection::Replayed
            }
        );
        assert_eq!(
            d.effects[0],
            Effect::Event(EventKind::CodeReplayed, Some(Method::App))
        );
    }

    #[test]
    fn each_step_is_accepted_once() {
        let f = Fixture::new();
        let r = with_app(&f, T0, 3);
        let at = T0 + 30;
        let d = verify_code(r, &f.ctx(at), &code(at)).unwrap();
        assert!(d.ok().is_accepted());
        let r = d.save.unwrap();
        let again = verify_code(r.clone(), &f.ctx(at + 1), &code(at)).unwrap();
        assert_eq!(
            *again.ok(),
            Verdict::Rejected {
                attempts_left: 4,
                reason: Rejection::Replayed
            }
        );
        // an older code still inside the window is a replay too
        let older = verify_code(r.clone(), &f.ctx(at + 29), &code(T0)).unwrap();
        assert!(!older.ok().is_accepted());
        assert!(verify_code(r, &f.ctx(at + 30), &code(at + 30))
            .unwrap()
            .ok()
            .is_accepted());
    }

    #[test]
    fn while_locked_nothing_is_evaluated() {
        let f = Fixture::new();
        let mut r = with_app(&f, T0, 3);
        for _ in 0..5 {
            r = verify_code(r, &f.ctx(T0 + 60), "000000")
                .unwrap()
                .save
                .unwrap();
        }
        let right = code(T0 + 60);
        let d = verify_code(r.clone(), &f.ctx(T0 + 61), &right).unwrap();
        assert_eq!(
            *d.ok(),
            Verdict::LockedOut {
                until: Timestamp::from_unix_seconds(T0 + 120)
            }
        );
        assert!(d.save.is_none(), "a locked attempt changes nothing");
        assert!(d.effects.is_empty());
        assert!(matches!(
            send(r.clone(), &f.ctx(T0 + 61), Method::App, Purpose::Login),
            Err(Error::RateLimited { .. })
        ));
        assert!(verify_code(r, &f.ctx(T0 + 120), &code(T0 + 120))
            .unwrap()
            .ok()
            .is_accepted());
    }

    #[test]
    fn not_enabled_is_an_error() {
        let f = Fixture::new();
        assert!(matches!(
            verify_code(Record::default(), &f.ctx(T0), "123456"),
            Err(Error::NotEnabled)
        ));
    }

    #[test]
    fn a_record_moved_to_another_account_does_not_open() {
        let mut f = Fixture::new();
        let r = with_app(&f, T0, 3);
        f.account = crate::Account::new("user-2", "mallory@example.com");
        assert!(matches!(
            verify_code(r, &f.ctx(T0 + 30), &code(T0 + 30)),
            Err(Error::Unseal)
        ));
    }

    #[test]
    fn an_emailed_primary_gets_a_code_at_login_once() {
        let f = Fixture::new();
        let r = email_primary(&f);
        let d = begin(r, &f.ctx_seeded(T0 + 60, 7), None).unwrap();
        let Ok(LoginStep::Challenge {
            method,
            sent: Some(sent),
            ..
        }) = &d.reply
        else {
            panic!()
        };
        assert_eq!(*method, Method::Email);
        assert_eq!(sent.to, "a•••@example.com");
        let r = d.save.unwrap();
        // asked again while the code lives: no second code
        let again = begin(r.clone(), &f.ctx_seeded(T0 + 70, 8), None).unwrap();
        assert!(again.save.is_none() && again.effects.is_empty());
        let login = sent_code(7);
        // a setup code is useless at login
        let setup = sent_code(4);
        assert!(!verify_code(r.clone(), &f.ctx(T0 + 80), &setup)
            .unwrap()
            .ok()
            .is_accepted());
        let d = verify_code(r, &f.ctx(T0 + 80), &login).unwrap();
        assert_eq!(
            d.ok().clone().accepted().and_then(|v| v.method()),
            Some(Method::Email)
        );
        let r = d.save.unwrap();
        assert!(!verify_code(r, &f.ctx(T0 + 81), &login)
            .unwrap()
            .ok()
            .is_accepted());
    }

    #[test]
    fn an_expired_login_code_says_so_and_a_step_up_code_does_not_log_in() {
        let f = Fixture::new();
        let r = email_primary(&f);
        let d = begin(r, &f.ctx_seeded(T0 + 60, 7), None).unwrap();
        let r = d.save.unwrap();
        let login = sent_code(7);
        let late = verify_code(r.clone(), &f.ctx(T0 + 60 + 600), &login).unwrap();
        assert!(matches!(
            late.ok(),
            Verdict::Rejected {
                reason: Rejection::Expired,
                ..
            }
        ));
        let d = send(r, &f.ctx_seeded(T0 + 61, 9), Method::Email, Purpose::StepUp).unwrap();
        let r = d.save.unwrap();
        let step_up = sent_code(9);
        assert!(!verify_code(r, &f.ctx(T0 + 62), &step_up)
            .unwrap()
            .ok()
            .is_accepted());
    }

    #[test]
    fn the_app_cannot_be_sent_and_others_must_be_set_up() {
        let f = Fixture::new();
        let r = with_app(&f, T0, 3);
        assert!(matches!(
            send(r.clone(), &f.ctx(T0), Method::App, Purpose::Login),
            Err(Error::WrongMethod)
        ));
        assert!(matches!(
            send(r, &f.ctx(T0), Method::Sms, Purpose::Login),
            Err(Error::MethodNotSetUp)
        ));
    }
}
