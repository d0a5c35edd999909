//! Setting a method up: begin (password → secret, or a code sent), then
//! confirm (a first code from the new factor). The same ceremony turns
//! two-factor authentication on, adds a fallback, or replaces the number.

use secrecy::SecretString;

use super::{code, reauthenticate, reject, Ctx, Decision, Effect, Entropy};
use crate::error::{Error, Result};
use crate::event::EventKind;
use crate::message::{Change, Purpose};
use crate::methods::qr;
use crate::methods::seal::SecretKind;
use crate::methods::totp::{grouped_base32, key_uri, KeyUriError, Totp};
use crate::record::{
    AppFactor, EmailFactor, Enrolment, Factor, Goal, PendingSetup, Record, SmsFactor,
};
use crate::setup::{AppSetup, CodeSetup, Enabled, NewMethod, Setup};
use crate::status::Method;
use crate::verdict::Verdict;

/// Whether this setup may begin at all; checked before the password is.
pub(crate) fn check_begin(
    record: &Record,
    ctx: &Ctx<'_>,
    new: &NewMethod,
    goal: Goal,
) -> Result<()> {
    let method = new.method();
    match (goal, &record.enrolment) {
        (Goal::TurnOn, Some(_)) => return Err(Error::AlreadyEnabled),
        (Goal::AddFallback | Goal::ReplaceNumber, None) => return Err(Error::NotEnabled),
        (Goal::AddFallback, Some(e)) if e.has(method) => return Err(Error::MethodAlreadyEnrolled),
        (Goal::ReplaceNumber, Some(e)) if !e.has(Method::Sms) => {
            return Err(Error::MethodNotEnrolled)
        }
        _ => {}
    }
    code::check_sender(method, ctx)?;
    if method == Method::App {
        let label = ctx.account.label();
        if label.is_empty() || label.contains(':') {
            return Err(Error::InvalidAccount(
                "the account label must be non-empty and contain no ':'",
            ));
        }
    }
    Ok(())
}

/// Begins setting `new` up for `goal`, replacing any setup already pending.
pub(crate) fn begin(
    mut record: Record,
    ctx: &Ctx<'_>,
    new: &NewMethod,
    goal: Goal,
    password_ok: bool,
    entropy: &Entropy,
) -> Result<Decision<Verdict<Setup>>> {
    check_begin(&record, ctx, new, goal)?;
    if let Some(end) = reauthenticate(&record, ctx, password_ok) {
        return Ok(end);
    }
    let method = new.method();
    let expires = ctx.now.saturating_add(ctx.policy.setup_ttl);
    let mut effects = vec![Effect::Event(EventKind::SetupBegun, Some(method))];
    let (factor, setup) = match new {
        NewMethod::App => begin_app(ctx, entropy, expires)?,
        NewMethod::Email => {
            let to = ctx.account.email().to_owned();
            let (sends, sent) =
                code::issue(&mut record, ctx, Purpose::Setup, method, &to, entropy)?;
            effects.extend(sends);
            let setup = Setup::Code(CodeSetup { sent, expires });
            (Factor::Email(EmailFactor {}), setup)
        }
        NewMethod::Sms(number) => {
            let to = number.as_str();
            let sealed = ctx.keys.seal(
                ctx.account.id(),
                SecretKind::PhoneNumber,
                entropy.nonce,
                to.as_bytes(),
            )?;
            let (sends, sent) = code::issue(&mut record, ctx, Purpose::Setup, method, to, entropy)?;
            effects.extend(sends);
            let setup = Setup::Code(CodeSetup { sent, expires });
            (Factor::Sms(SmsFactor { number: sealed }), setup)
        }
    };
    record.pending = Some(PendingSetup {
        factor,
        expires,
        goal,
    });
    Ok(Decision {
        save: Some(record),
        effects,
        reply: Verdict::Accepted(setup),
    })
}

fn begin_app(
    ctx: &Ctx<'_>,
    entropy: &Entropy,
    expires: crate::clock::Timestamp,
) -> Result<(Factor, Setup)> {
    let p = &ctx.policy.totp;
    let totp = Totp::new(p.algorithm, p.digits, p.period);
    let secret = &entropy.totp_secret;
    let uri = key_uri(ctx.issuer, ctx.account.label(), secret, &totp).map_err(|e| match e {
        KeyUriError::Issuer => Error::Config("the issuer must contain no ':'"),
        _ => Error::InvalidAccount("the account label cannot be put in a key URI"),
    })?;
    let sealed = ctx.keys.seal(
        ctx.account.id(),
        SecretKind::TotpSecret,
        entropy.nonce,
        secret,
    )?;
    let factor = Factor::App(AppFactor {
        secret: sealed,
        algorithm: totp.algorithm(),
        digits: totp.digits(),
        period: totp.period(),
        last_step: None,
    });
    let setup = Setup::App(AppSetup {
        secret: SecretString::from(grouped_base32(secret)),
        qr_svg: SecretString::from(qr::svg(&uri)?),
        qr_png: SecretString::from(qr::png_data_uri(&uri)?),
        qr_text: SecretString::from(qr::text(&uri)?),
        uri: SecretString::from(uri),
        expires,
    });
    Ok((factor, setup))
}

/// The pending setup, if it is still live at `ctx.now`.
pub(crate) fn live_pending<'r>(record: &'r Record, ctx: &Ctx<'_>) -> Option<&'r PendingSetup> {
    record.pending.as_ref().filter(|p| p.expires > ctx.now)
}

/// Sends a new code for the pending email or SMS setup; the old one is void.
pub(crate) fn resend(
    mut record: Record,
    ctx: &Ctx<'_>,
    entropy: &Entropy,
) -> Result<Decision<crate::verdict::Sent>> {
    if let Some(until) = record.guard.locked(ctx.now) {
        return Err(Error::LockedOut { until });
    }
    let pending = live_pending(&record, ctx).ok_or(Error::NoPendingSetup)?;
    let method = pending.factor.method();
    let to = code::destination(&pending.factor, ctx)?.ok_or(Error::WrongMethod)?;
    let (effects, sent) = code::issue(&mut record, ctx, Purpose::Setup, method, &to, entropy)?;
    Ok(Decision {
        save: Some(record),
        effects,
        reply: sent,
    })
}

/// Confirms the pending setup with a first code from the new factor.
pub(crate) fn confirm(
    mut record: Record,
    ctx: &Ctx<'_>,
    typed: &str,
) -> Result<Decision<Verdict<Enabled>>> {
    let Some(pending) = live_pending(&record, ctx).cloned() else {
        return Err(match (&record.enrolment, &record.pending) {
            (Some(_), None) => Error::AlreadyEnabled,
            _ => Error::NoPendingSetup,
        });
    };
    match (pending.goal, &record.enrolment) {
        (Goal::TurnOn, Some(_)) => return Err(Error::AlreadyEnabled),
        (Goal::AddFallback | Goal::ReplaceNumber, None) => return Err(Error::NoPendingSetup),
        _ => {}
    }
    if let Some(until) = record.guard.locked(ctx.now) {
        return Ok(Decision::unchanged(Verdict::LockedOut { until }));
    }
    let method = pending.factor.method();
    let confirmed = match &pending.factor {
        Factor::App(app) => {
            let secret = ctx
                .keys
                .open(ctx.account.id(), SecretKind::TotpSecret, &app.secret)?;
            let skew = ctx.policy.totp.skew;
            app.totp()
                .matching_step(&secret, typed, ctx.now.unix_seconds(), skew, None)
                .map(|step| {
                    let mut app = app.clone();
                    app.last_step = Some(step);
                    Factor::App(app)
                })
        }
        Factor::Email(_) | Factor::Sms(_) => {
            let to = code::destination(&pending.factor, ctx)?.unwrap_or_default();
            if code::matches(&record, ctx, Purpose::Setup, method, &to, typed) {
                code::spend(&mut record);
                Some(pending.factor.clone())
            } else {
                code::miss(&mut record, Purpose::Setup);
                None
            }
        }
    };
    let Some(factor) = confirmed else {
        return Ok(reject(
            record,
            ctx,
            EventKind::SetupCodeRejected,
            Some(method),
        ));
    };
    record.pending = None;
    record.guard.succeed();
    let (kind, change) = match (pending.goal, record.enrolment.as_mut()) {
        (Goal::AddFallback, Some(e)) => {
            e.factors.push(factor);
            (EventKind::FallbackAdded, Change::FallbackAdded(method))
        }
        (Goal::ReplaceNumber, Some(e)) => {
            e.factors.retain(|f| f.method() != Method::Sms);
            e.factors.push(factor);
            (EventKind::PhoneChanged, Change::PhoneChanged)
        }
        _ => {
            record.enrolment = Some(Enrolment {
                primary: method,
                since: ctx.now,
                factors: vec![factor],
            });
            (EventKind::Enabled, Change::Enabled(method))
        }
    };
    let since = record.enrolment.as_ref().map_or(ctx.now, |e| e.since);
    Ok(Decision {
        save: Some(record),
        effects: vec![Effect::Event(kind, Some(method)), Effect::Notice(change)],
        reply: Verdict::Accepted(Enabled { method, since }),
    })
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::super::status::status;
    use super::super::testing::{app_code, enrolled, entropy, Fixture};
    use super::*;
    use crate::methods::code::code_from;
    use crate::methods::phone::PhoneNumber;
    use crate::status::Status;

    const T0: u64 = 1_700_000_000;

    fn begin_new(
        record: Record,
        f: &Fixture,
        at: u64,
        new: NewMethod,
        goal: Goal,
        seed: u8,
    ) -> Result<Decision<Verdict<Setup>>> {
        begin(record, &f.ctx(at), &new, goal, true, &entropy(seed))
    }

    fn begun(f: &Fixture) -> (Record, AppSetup) {
        let d = begin_new(Record::default(), f, T0, NewMethod::App, Goal::TurnOn, 1).unwrap();
        let Verdict::Accepted(Setup::App(app)) = d.reply else {
            panic!()
        };
        (d.save.unwrap(), app)
    }

    fn code(at: u64) -> String {
        app_code(1, at)
    }

    /// The code `entropy(seed)` sends.
    fn sent(seed: u8) -> String {
        code_from(entropy(seed).code, 6)
    }

    #[test]
    fn begin_gives_every_form_of_the_secret_and_stores_it_sealed() {
        let f = Fixture::new();
        let (record, app) = begun(&f);
        assert_eq!(app.secret.expose_secret(), grouped_base32(&[1; 20]));
        let uri = app.uri.expose_secret();
        assert!(uri.starts_with("otpauth://totp/Acme:alice@example.com?secret="));
        assert!(app.qr_svg.expose_secret().starts_with("<?xml"));
        assert!(app
            .qr_png
            .expose_secret()
            .starts_with("data:image/png;base64,"));
        assert_eq!(app.expires.unix_seconds(), T0 + 900);
        let doc = String::from_utf8(record.encode().unwrap()).unwrap();
        assert!(!doc.contains(&data_encoding::BASE32_NOPAD.encode(&[1; 20])));
        assert_eq!(
            status(&record, &f.ctx(T0)).unwrap(),
            Status::Pending {
                method: Method::App,
                expires: app.expires
            }
        );
    }

    #[test]
    fn wrong_password_is_counted_and_nothing_begins() {
        let f = Fixture::new();
        let d = begin(
            Record::default(),
            &f.ctx(T0),
            &NewMethod::App,
            Goal::TurnOn,
            false,
            &entropy(1),
        )
        .unwrap();
        assert_eq!(d.reply.accepted().map(|_| ()), None);
        let saved = d.save.unwrap();
        assert_eq!(saved.guard.failures, 1);
        assert!(saved.pending.is_none());
        assert_eq!(
            d.effects,
            [Effect::Event(EventKind::PasswordRejected, None)]
        );
    }

    #[test]
    fn confirm_turns_on_and_remembers_the_step() {
        let f = Fixture::new();
        let (record, _) = begun(&f);
        let d = confirm(record, &f.ctx(T0 + 40), &code(T0 + 40)).unwrap();
        assert!(d.reply.is_accepted());
        let saved = d.save.unwrap();
        assert!(saved.pending.is_none());
        let mut e = saved.enrolment.clone().unwrap();
        assert_eq!(e.app_mut().unwrap().last_step, Some((T0 + 40) / 30));
        assert!(d
            .effects
            .contains(&Effect::Notice(Change::Enabled(Method::App))));
    }

    #[test]
    fn confirm_refuses_wrong_expired_and_misplaced() {
        let f = Fixture::new();
        let (record, _) = begun(&f);
        let d = confirm(record.clone(), &f.ctx(T0), "000000").unwrap();
        assert_eq!(d.reply, Verdict::Rejected { attempts_left: 4 });
        assert!(
            d.save.unwrap().pending.is_some(),
            "a wrong code keeps the setup"
        );
        assert!(matches!(
            confirm(record.clone(), &f.ctx(T0 + 900), &code(T0 + 900)),
            Err(Error::NoPendingSetup)
        ));
        assert!(matches!(
            confirm(Record::default(), &f.ctx(T0), "123456"),
            Err(Error::NoPendingSetup)
        ));
        let on = confirm(record, &f.ctx(T0), &code(T0))
            .unwrap()
            .save
            .unwrap();
        assert!(matches!(
            confirm(on.clone(), &f.ctx(T0), &code(T0)),
            Err(Error::AlreadyEnabled)
        ));
        assert!(matches!(
            begin_new(on, &f, T0, NewMethod::App, Goal::TurnOn, 2),
            Err(Error::AlreadyEnabled)
        ));
    }

    #[test]
    fn a_second_begin_replaces_the_first() {
        let f = Fixture::new();
        let (first, _) = begun(&f);
        let record = begin_new(first, &f, T0 + 5, NewMethod::App, Goal::TurnOn, 9)
            .unwrap()
            .save
            .unwrap();
        let old = confirm(record.clone(), &f.ctx(T0 + 5), &code(T0 + 5)).unwrap();
        assert!(
            !old.reply.is_accepted(),
            "the first secret no longer confirms"
        );
        let new = app_code(9, T0 + 5);
        assert!(confirm(record, &f.ctx(T0 + 5), &new)
            .unwrap()
            .reply
            .is_accepted());
    }

    #[test]
    fn labels_with_colons_are_refused_before_the_password() {
        let mut f = Fixture::new();
        f.account = f.account.clone().with_label("a:b");
        assert!(matches!(
            begin(
                Record::default(),
                &f.ctx(T0),
                &NewMethod::App,
                Goal::TurnOn,
                false,
                &entropy(1)
            ),
            Err(Error::InvalidAccount(_))
        ));
    }

    #[test]
    fn email_setup_sends_a_setup_code_that_confirms() {
        let f = Fixture::new();
        let d = begin_new(Record::default(), &f, T0, NewMethod::Email, Goal::TurnOn, 4).unwrap();
        let Verdict::Accepted(Setup::Code(setup)) = &d.reply else {
            panic!()
        };
        assert_eq!(setup.sent.to, "a•••@example.com");
        assert!(matches!(d.effects.get(1), Some(Effect::SendCode(_))));
        let r = d.save.unwrap();
        let d = confirm(r, &f.ctx(T0 + 5), &sent(4)).unwrap();
        assert!(d.reply.is_accepted());
        let r = d.save.unwrap();
        assert_eq!(r.enrolment.unwrap().primary, Method::Email);
        assert!(r.code.is_none(), "the code is spent");
    }

    #[test]
    fn sms_setup_seals_the_number() {
        let f = Fixture::new();
        let n = PhoneNumber::parse("+60123451688").unwrap();
        let d = begin_new(
            Record::default(),
            &f,
            T0,
            NewMethod::Sms(n),
            Goal::TurnOn,
            4,
        )
        .unwrap();
        let r = d.save.unwrap();
        let doc = String::from_utf8(r.encode().unwrap()).unwrap();
        assert!(!doc.contains("60123451688"), "{doc}");
        assert!(!doc.contains("1688"), "{doc}");
        assert!(confirm(r, &f.ctx(T0 + 5), &sent(4))
            .unwrap()
            .reply
            .is_accepted());
    }

    #[test]
    fn fallbacks_and_number_changes_need_an_enrolment() {
        let f = Fixture::new();
        let n = || NewMethod::Sms(PhoneNumber::parse("+60123451688").unwrap());
        assert!(matches!(
            begin_new(Record::default(), &f, T0, n(), Goal::AddFallback, 1),
            Err(Error::NotEnabled)
        ));
        let on = enrolled(&f, T0, 1);
        assert!(matches!(
            begin_new(on.clone(), &f, T0, NewMethod::App, Goal::AddFallback, 1),
            Err(Error::MethodAlreadyEnrolled)
        ));
        assert!(matches!(
            begin_new(on.clone(), &f, T0, n(), Goal::ReplaceNumber, 1),
            Err(Error::MethodNotEnrolled)
        ));
        let d = begin_new(on, &f, T0, n(), Goal::AddFallback, 6).unwrap();
        let r = confirm(d.save.unwrap(), &f.ctx(T0 + 1), &sent(6))
            .unwrap()
            .save
            .unwrap();
        let e = r.enrolment.unwrap();
        assert_eq!(e.primary, Method::App);
        assert_eq!(e.methods(), [Method::App, Method::Sms]);
    }

    #[test]
    fn a_setup_code_with_no_tries_left_is_void() {
        let f = Fixture::new();
        let mut r = begin_new(Record::default(), &f, T0, NewMethod::Email, Goal::TurnOn, 4)
            .unwrap()
            .save
            .unwrap();
        let mut policy_tries = f.policy.codes.tries;
        while policy_tries > 0 {
            r = confirm(r, &f.ctx(T0 + 1), "000000").unwrap().save.unwrap();
            r.guard.succeed(); // keep the account lockout out of this test
            policy_tries -= 1;
        }
        assert!(r.code.is_none());
        assert!(!confirm(r, &f.ctx(T0 + 1), &sent(4))
            .unwrap()
            .reply
            .is_accepted());
    }
}
