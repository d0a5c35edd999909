//! The second step of a login.

use super::recovery::RecoveryHit;
use super::setup::active;
use super::{code, device, recovery, reject, Ctx, Decision, Effect};
use crate::error::{Error, Result};
use crate::event::EventKind;
use crate::message::{Change, Purpose};
use crate::methods::recovery as codes;
use crate::methods::seal::SecretKind;
use crate::record::{Factor, Record};
use crate::status::Method;
use crate::verdict::{LoginStep, Proof, Sent, Verdict, Verified};

/// What to ask for once the password was right. A remembered device skips
/// the code. For an emailed or texted primary, a code is sent unless one
/// sent earlier is still live. A pending setup asks for nothing: it changes
/// nothing until confirmed.
pub(crate) fn begin(
    mut record: Record,
    ctx: &Ctx<'_>,
    device_token: Option<&str>,
) -> Result<Decision<LoginStep>> {
    if active(&record).is_none() {
        return Ok(Decision::unchanged(LoginStep::NotRequired));
    }
    if let Some(until) = record.guard.locked(ctx.now) {
        return Ok(Decision::unchanged(LoginStep::LockedOut { until }));
    }
    // A remembered device needs nothing else: no number unsealed, no code.
    if let Some(i) = device_token.and_then(|t| device::trusted(&record, ctx, t)) {
        let step = record.devices.get_mut(i).map(|d| {
            d.last_used = Some(ctx.now);
            LoginStep::Trusted {
                device: d.id.clone(),
                until: d.expires,
            }
        });
        if let Some(step) = step {
            return Ok(Decision {
                save: Some(record),
                effects: vec![Effect::Event(EventKind::TrustedDevice, None)],
                reply: step,
            });
        }
    }
    let Some(e) = active(&record) else {
        return Ok(Decision::unchanged(LoginStep::NotRequired));
    };
    let method = e.primary;
    let alternatives: Vec<Method> = e.methods().into_iter().filter(|m| *m != method).collect();
    let to = match e.factor(method) {
        Some(f) => code::destination(f, ctx)?,
        None => None,
    };
    let Some(to) = to else {
        return Ok(Decision::unchanged(LoginStep::Challenge {
            method,
            sent: None,
            alternatives,
        }));
    };
    let live = code::live(&record, ctx, Purpose::Login, &to).filter(|s| s.method == method);
    if let Some(sent) = live {
        return Ok(Decision::unchanged(LoginStep::Challenge {
            method,
            sent: Some(sent),
            alternatives,
        }));
    }
    let (effects, sent) = code::issue(&mut record, ctx, Purpose::Login, method, &to)?;
    Ok(Decision {
        save: Some(record),
        effects,
        reply: LoginStep::Challenge {
            method,
            sent: Some(sent),
            alternatives,
        },
    })
}

/// Sends a login code by `method` ("Send SMS code"), replacing any code
/// sent before; under the send limits. Also while suspended, for
/// [`reenable`](super::disable::reenable).
pub(crate) fn send(mut record: Record, ctx: &Ctx<'_>, method: Method) -> Result<Decision<Sent>> {
    let e = record.enrolment.as_ref().ok_or(Error::NotEnabled)?;
    if let Some(until) = record.guard.locked(ctx.now) {
        return Err(Error::LockedOut { until });
    }
    let factor = e.factor(method).ok_or(Error::MethodNotEnrolled)?;
    let to = code::destination(factor, ctx)?.ok_or(Error::WrongMethod)?;
    let (effects, sent) = code::issue(&mut record, ctx, Purpose::Login, method, &to)?;
    Ok(Decision {
        save: Some(record),
        effects,
        reply: sent,
    })
}

/// Checks `typed` against the enrolled factors (kept ones too): the
/// authenticator app's code, if one is enrolled, and the live emailed or
/// texted login code, if there is one. Both are always computed. On a match
/// the use is recorded (the app's step, the sent code spent) and the method
/// returned; otherwise the sent code loses a try.
pub(crate) fn check_code(
    record: &mut Record,
    ctx: &Ctx<'_>,
    typed: &str,
) -> Result<Option<Method>> {
    let Some(e) = record.enrolment.as_ref() else {
        return Ok(None);
    };
    // The sent code, checked against where its method sends now.
    let sent = match record.code.as_ref().filter(|c| c.purpose == Purpose::Login) {
        Some(c) => match e.factor(c.method) {
            Some(f) => code::destination(f, ctx)?.map(|to| (c.method, to)),
            None => None,
        },
        None => None,
    };
    let code_hit = sent
        .as_ref()
        .is_some_and(|(m, to)| code::matches(record, ctx, Purpose::Login, *m, to, typed));
    let app_step = match e.factors.iter().find(|f| matches!(f, Factor::App(_))) {
        Some(Factor::App(app)) => {
            let secret = ctx
                .keys
                .open(ctx.account.id(), SecretKind::TotpSecret, &app.secret)?;
            app.totp().matching_step(
                &secret,
                typed,
                ctx.now.unix_seconds(),
                ctx.policy.totp.skew,
                app.last_step,
            )
        }
        _ => None,
    };
    let method = match (app_step, code_hit, sent) {
        (Some(step), _, _) => {
            if let Some(app) = record.enrolment.as_mut().and_then(|e| e.app_mut()) {
                app.last_step = Some(step);
            }
            Method::App
        }
        (None, true, Some((method, _))) => method,
        _ => {
            code::miss(record, Purpose::Login);
            return Ok(None);
        }
    };
    code::spend(record);
    Ok(Some(method))
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
    let proof = if codes::parse(typed).is_some() {
        recovery::spend(&mut record, hit).map(|left| {
            effects.push(Effect::Event(EventKind::RecoveryCodeUsed, None));
            effects.push(Effect::Notice(Change::RecoveryCodeUsed { left }));
            Proof::RecoveryCode { left }
        })
    } else {
        check_code(&mut record, ctx, typed)?.map(Proof::Code)
    };
    let Some(proof) = proof else {
        let method = record.code.as_ref().map(|c| c.method).or(Some(primary));
        return Ok(reject(record, ctx, EventKind::LoginRejected, method));
    };
    record.guard.succeed();
    let method = match proof {
        Proof::Code(m) => Some(m),
        _ => None,
    };
    effects.insert(0, Effect::Event(EventKind::LoginAccepted, method));
    let device = match remember {
        Some(label) => {
            effects.push(Effect::Event(EventKind::DeviceRemembered, None));
            effects.push(Effect::Notice(Change::DeviceRemembered));
            Some(device::remember(&mut record, ctx, label)?)
        }
        None => None,
    };
    Ok(Decision {
        save: Some(record),
        effects,
        reply: Verdict::Accepted(Verified { proof, device }),
    })
}

#[cfg(test)]
mod tests {
    use super::super::setup::{begin as begin_setup, confirm};
    use super::super::testing::{app_code, enrolled, pending, sent_code, Fixture, PASS};
    use super::*;
    use crate::clock::Timestamp;
    use crate::record::Goal;
    use crate::setup::NewMethod;

    const T0: u64 = 1_700_000_010;

    fn code(at: u64) -> String {
        app_code(3, at)
    }

    fn step(record: &Record, f: &Fixture, at: u64) -> LoginStep {
        begin(record.clone(), &f.ctx_seeded(at, 7), None)
            .unwrap()
            .reply
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
            &NewMethod::Email,
            Goal::TurnOn,
            PASS,
        )
        .unwrap();
        let sent = sent_code(4);
        confirm(d.save.unwrap(), &f.ctx(T0), &sent)
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
            step(&enrolled(&f, T0, 3), &f, T0),
            LoginStep::Challenge {
                method: Method::App,
                sent: None,
                alternatives: vec![]
            }
        );
    }

    #[test]
    fn the_confirming_code_cannot_log_in() {
        let f = Fixture::new();
        let d = verify_code(enrolled(&f, T0, 3), &f.ctx(T0 + 1), &code(T0)).unwrap();
        assert_eq!(d.reply, Verdict::Rejected { attempts_left: 4 });
    }

    #[test]
    fn each_step_is_accepted_once() {
        let f = Fixture::new();
        let r = enrolled(&f, T0, 3);
        let at = T0 + 30;
        let d = verify_code(r, &f.ctx(at), &code(at)).unwrap();
        assert!(d.reply.is_accepted());
        let r = d.save.unwrap();
        let again = verify_code(r.clone(), &f.ctx(at + 1), &code(at)).unwrap();
        assert_eq!(again.reply, Verdict::Rejected { attempts_left: 4 });
        // an older code still inside the window is a replay too
        let older = verify_code(r.clone(), &f.ctx(at + 29), &code(T0)).unwrap();
        assert!(!older.reply.is_accepted());
        assert!(verify_code(r, &f.ctx(at + 30), &code(at + 30))
            .unwrap()
            .reply
            .is_accepted());
    }

    #[test]
    fn while_locked_nothing_is_evaluated() {
        let f = Fixture::new();
        let mut r = enrolled(&f, T0, 3);
        for _ in 0..5 {
            r = verify_code(r, &f.ctx(T0 + 60), "000000")
                .unwrap()
                .save
                .unwrap();
        }
        let right = code(T0 + 60);
        let d = verify_code(r.clone(), &f.ctx(T0 + 61), &right).unwrap();
        assert_eq!(
            d.reply,
            Verdict::LockedOut {
                until: Timestamp::from_unix_seconds(T0 + 120)
            }
        );
        assert!(d.save.is_none(), "a locked attempt changes nothing");
        assert!(d.effects.is_empty());
        assert!(matches!(
            send(r.clone(), &f.ctx(T0 + 61), Method::App),
            Err(Error::LockedOut { .. })
        ));
        assert!(verify_code(r, &f.ctx(T0 + 120), &code(T0 + 120))
            .unwrap()
            .reply
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
        let r = enrolled(&f, T0, 3);
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
        let LoginStep::Challenge {
            method,
            sent: Some(sent),
            ..
        } = &d.reply
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
            .reply
            .is_accepted());
        let d = verify_code(r, &f.ctx(T0 + 80), &login).unwrap();
        assert_eq!(
            d.reply.clone().accepted().and_then(|v| v.method()),
            Some(Method::Email)
        );
        let r = d.save.unwrap();
        assert!(!verify_code(r, &f.ctx(T0 + 81), &login)
            .unwrap()
            .reply
            .is_accepted());
    }

    #[test]
    fn the_app_cannot_be_sent_and_others_must_be_enrolled() {
        let f = Fixture::new();
        let r = enrolled(&f, T0, 3);
        assert!(matches!(
            send(r.clone(), &f.ctx(T0), Method::App),
            Err(Error::WrongMethod)
        ));
        assert!(matches!(
            send(r, &f.ctx(T0), Method::Sms),
            Err(Error::MethodNotEnrolled)
        ));
    }
}
