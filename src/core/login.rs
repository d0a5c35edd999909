//! The second step of a login.

use super::{code, reject, Ctx, Decision, Effect, Entropy};
use crate::error::{Error, Result};
use crate::event::EventKind;
use crate::message::Purpose;
use crate::methods::seal::SecretKind;
use crate::record::{Factor, Record};
use crate::status::Method;
use crate::verdict::{LoginStep, Sent, Verdict, Verified};

/// What to ask for once the password was right. For an emailed or texted
/// primary, a code is sent unless one sent earlier is still live. A pending
/// setup asks for nothing: it changes nothing until confirmed.
pub(crate) fn begin(
    mut record: Record,
    ctx: &Ctx<'_>,
    entropy: &Entropy,
) -> Result<Decision<LoginStep>> {
    let Some(e) = &record.enrolment else {
        return Ok(Decision::unchanged(LoginStep::NotRequired));
    };
    if let Some(until) = record.guard.locked(ctx.now) {
        return Ok(Decision::unchanged(LoginStep::LockedOut { until }));
    }
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
    let (effects, sent) = code::issue(&mut record, ctx, Purpose::Login, method, &to, entropy)?;
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
/// sent before; under the send limits.
pub(crate) fn send(
    mut record: Record,
    ctx: &Ctx<'_>,
    method: Method,
    entropy: &Entropy,
) -> Result<Decision<Sent>> {
    let e = record.enrolment.as_ref().ok_or(Error::NotEnabled)?;
    if let Some(until) = record.guard.locked(ctx.now) {
        return Err(Error::LockedOut { until });
    }
    let factor = e.factor(method).ok_or(Error::MethodNotEnrolled)?;
    let to = code::destination(factor, ctx)?.ok_or(Error::WrongMethod)?;
    let (effects, sent) = code::issue(&mut record, ctx, Purpose::Login, method, &to, entropy)?;
    Ok(Decision {
        save: Some(record),
        effects,
        reply: sent,
    })
}

/// Checks a login code: the authenticator app's, if one is enrolled, and
/// the live emailed or texted login code, if there is one. Both are always
/// computed; a wrong answer is one failure.
pub(crate) fn verify(
    mut record: Record,
    ctx: &Ctx<'_>,
    typed: &str,
) -> Result<Decision<Verdict<Verified>>> {
    let Some(e) = record.enrolment.as_ref() else {
        return Err(Error::NotEnabled);
    };
    if let Some(until) = record.guard.locked(ctx.now) {
        return Ok(Decision::unchanged(Verdict::LockedOut { until }));
    }
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
        .filter(|(method, to)| code::matches(&record, ctx, Purpose::Login, *method, to, typed));
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
    let method = match (app_step, code_hit) {
        (Some(step), _) => {
            if let Some(app) = record.enrolment.as_mut().and_then(|e| e.app_mut()) {
                app.last_step = Some(step);
            }
            Method::App
        }
        (None, Some((method, _))) => *method,
        (None, None) => {
            let method = sent.map(|(m, _)| m).or(Some(e.primary));
            code::miss(&mut record, Purpose::Login);
            return Ok(reject(record, ctx, EventKind::LoginRejected, method));
        }
    };
    code::spend(&mut record);
    record.guard.succeed();
    Ok(Decision {
        save: Some(record),
        effects: vec![Effect::Event(EventKind::LoginAccepted, Some(method))],
        reply: Verdict::Accepted(Verified { method }),
    })
}

#[cfg(test)]
mod tests {
    use super::super::setup::{begin as begin_setup, confirm};
    use super::super::testing::{app_code, enrolled, entropy, pending, Fixture};
    use super::*;
    use crate::clock::Timestamp;
    use crate::methods::code::code_from;
    use crate::record::Goal;
    use crate::setup::NewMethod;

    const T0: u64 = 1_700_000_010;

    fn code(at: u64) -> String {
        app_code(3, at)
    }

    fn step(record: &Record, f: &Fixture, at: u64) -> LoginStep {
        begin(record.clone(), &f.ctx(at), &entropy(7))
            .unwrap()
            .reply
    }

    /// An account with email as its primary method.
    fn email_primary(f: &Fixture) -> Record {
        let d = begin_setup(
            Record::default(),
            &f.ctx(T0),
            &NewMethod::Email,
            Goal::TurnOn,
            true,
            &entropy(4),
        )
        .unwrap();
        let sent = code_from(entropy(4).code, 6);
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
        let d = verify(enrolled(&f, T0, 3), &f.ctx(T0 + 1), &code(T0)).unwrap();
        assert_eq!(d.reply, Verdict::Rejected { attempts_left: 4 });
    }

    #[test]
    fn each_step_is_accepted_once() {
        let f = Fixture::new();
        let r = enrolled(&f, T0, 3);
        let at = T0 + 30;
        let d = verify(r, &f.ctx(at), &code(at)).unwrap();
        assert!(d.reply.is_accepted());
        let r = d.save.unwrap();
        let again = verify(r.clone(), &f.ctx(at + 1), &code(at)).unwrap();
        assert_eq!(again.reply, Verdict::Rejected { attempts_left: 4 });
        // an older code still inside the window is a replay too
        let older = verify(r.clone(), &f.ctx(at + 29), &code(T0)).unwrap();
        assert!(!older.reply.is_accepted());
        assert!(verify(r, &f.ctx(at + 30), &code(at + 30))
            .unwrap()
            .reply
            .is_accepted());
    }

    #[test]
    fn while_locked_nothing_is_evaluated() {
        let f = Fixture::new();
        let mut r = enrolled(&f, T0, 3);
        for _ in 0..5 {
            r = verify(r, &f.ctx(T0 + 60), "000000").unwrap().save.unwrap();
        }
        let right = code(T0 + 60);
        let d = verify(r.clone(), &f.ctx(T0 + 61), &right).unwrap();
        assert_eq!(
            d.reply,
            Verdict::LockedOut {
                until: Timestamp::from_unix_seconds(T0 + 120)
            }
        );
        assert!(d.save.is_none(), "a locked attempt changes nothing");
        assert!(d.effects.is_empty());
        assert!(matches!(
            send(r.clone(), &f.ctx(T0 + 61), Method::App, &entropy(1)),
            Err(Error::LockedOut { .. })
        ));
        assert!(verify(r, &f.ctx(T0 + 120), &code(T0 + 120))
            .unwrap()
            .reply
            .is_accepted());
    }

    #[test]
    fn not_enabled_is_an_error() {
        let f = Fixture::new();
        assert!(matches!(
            verify(Record::default(), &f.ctx(T0), "123456"),
            Err(Error::NotEnabled)
        ));
    }

    #[test]
    fn a_record_moved_to_another_account_does_not_open() {
        let mut f = Fixture::new();
        let r = enrolled(&f, T0, 3);
        f.account = crate::Account::new("user-2", "mallory@example.com");
        assert!(matches!(
            verify(r, &f.ctx(T0 + 30), &code(T0 + 30)),
            Err(Error::Unseal)
        ));
    }

    #[test]
    fn an_emailed_primary_gets_a_code_at_login_once() {
        let f = Fixture::new();
        let r = email_primary(&f);
        let d = begin(r, &f.ctx(T0 + 60), &entropy(7)).unwrap();
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
        let again = begin(r.clone(), &f.ctx(T0 + 70), &entropy(8)).unwrap();
        assert!(again.save.is_none() && again.effects.is_empty());
        let login = code_from(entropy(7).code, 6);
        // a setup code is useless at login
        let setup = code_from(entropy(4).code, 6);
        assert!(!verify(r.clone(), &f.ctx(T0 + 80), &setup)
            .unwrap()
            .reply
            .is_accepted());
        let d = verify(r, &f.ctx(T0 + 80), &login).unwrap();
        assert_eq!(
            d.reply.clone().accepted().map(|v| v.method),
            Some(Method::Email)
        );
        let r = d.save.unwrap();
        assert!(!verify(r, &f.ctx(T0 + 81), &login)
            .unwrap()
            .reply
            .is_accepted());
    }

    #[test]
    fn the_app_cannot_be_sent_and_others_must_be_enrolled() {
        let f = Fixture::new();
        let r = enrolled(&f, T0, 3);
        assert!(matches!(
            send(r.clone(), &f.ctx(T0), Method::App, &entropy(1)),
            Err(Error::WrongMethod)
        ));
        assert!(matches!(
            send(r, &f.ctx(T0), Method::Sms, &entropy(1)),
            Err(Error::MethodNotEnrolled)
        ));
    }
}
