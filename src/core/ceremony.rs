//! Setting a method up: begin (step-up rule → secret, or a code sent), then
//! confirm (a first code from the new factor). The same ceremony turns
//! two-factor authentication on, switches the primary method without a gap,
//! adds a fallback, or replaces the number.

use secrecy::{ExposeSecret, SecretString};

use super::authenticators::{checked_label, new_entry};
use super::inputs::{Inputs, Needs, Prepared};
use super::sending::{self, Issued, SentCheck};
use super::stepup::{authorize, Authorised, Gate, Presented};
use super::{factors_changed, recovery, reject, texted_number, Ctx, Decision, Effect};
use crate::crypto::key_uri::{grouped_base32, key_uri, KeyUriError};
use crate::crypto::qr;
use crate::crypto::recovery_hash::Cost;
use crate::crypto::seal::SecretKind;
use crate::crypto::totp::{parse_code, Totp};
use crate::error::{Error, Result};
use crate::model::event::EventKind;
use crate::model::message::{Change, Purpose};
use crate::model::setup::{AppSetup, CodeSetup, Enabled, NewAuthenticator, NewMethod, Setup};
use crate::model::status::Method;
use crate::model::verdict::{Rejection, Sent, Verdict};
use crate::policy::FactorChange;
use crate::record::{
    AppFactor, EmailFactor, Entry, Factor, Factors, Goal, Mac, PendingSetup, Record, SmsFactor,
};

/// The factors, when two-factor authentication is on (not suspended).
pub(crate) fn active(record: &Record) -> Option<&Factors> {
    record.factors.as_ref().filter(|e| e.suspended.is_none())
}

/// What a setup asked for does on this record: turning on while on is a
/// switch of method.
pub(crate) fn resolve(record: &Record, goal: Goal) -> Goal {
    match (goal, active(record)) {
        (Goal::TurnOn, Some(_)) => Goal::Switch,
        (goal, _) => goal,
    }
}

/// The factor change a setup of `goal` is, for the step-up rule. Turning on
/// while settings are kept replaces them: a switch too.
pub(crate) fn change_of(goal: Goal) -> FactorChange {
    match goal {
        Goal::TurnOn | Goal::Switch => FactorChange::Switch,
        Goal::AddFallback => FactorChange::AddMethod,
        Goal::ReplaceNumber => FactorChange::ChangePhone,
    }
}

/// Whether this setup may begin at all; checked before anything is
/// evaluated.
pub(crate) fn check_begin(
    record: &Record,
    ctx: &Ctx<'_>,
    new: &NewAuthenticator,
    goal: Goal,
) -> Result<()> {
    let method = new.method.method();
    if let Some(label) = &new.label {
        checked_label(label)?;
    }
    match (resolve(record, goal), active(record)) {
        (Goal::AddFallback | Goal::ReplaceNumber, None) => return Err(Error::NotEnabled),
        (Goal::AddFallback, Some(e)) => check_room(e, ctx, method)?,
        (Goal::ReplaceNumber, Some(e)) if !e.has(Method::Sms) => return Err(Error::MethodNotSetUp),
        _ => {}
    }
    sending::check_sender(method, ctx)?;
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

/// Whether one more authenticator of `method` may be added beside those of
/// `e`: one email and one number at most, apps and keys up to the policy's caps.
fn check_room(e: &Factors, ctx: &Ctx<'_>, method: Method) -> Result<()> {
    let max = match method {
        Method::App => Some(ctx.policy.authenticators.max_apps),
        Method::Key => Some(ctx.policy.authenticators.max_keys),
        Method::Email | Method::Sms => None,
    };
    match max {
        Some(max) if e.count(method) >= max => Err(Error::TooManyAuthenticators { max }),
        Some(_) => Ok(()),
        _ if e.has(method) => Err(Error::MethodAlreadySetUp),
        _ => Ok(()),
    }
}

/// Begins setting `new` up for `goal`, replacing any setup already pending,
/// once the step-up rule is met.
pub(crate) fn begin(
    record: Record,
    ctx: &Ctx<'_>,
    new: &NewAuthenticator,
    goal: Goal,
    presented: &Presented<'_>,
) -> Result<Decision<Verdict<Setup>>> {
    check_begin(&record, ctx, new, goal)?;
    let goal = resolve(&record, goal);
    let (mut record, authorised) = match authorize(record, ctx, change_of(goal), presented)? {
        Gate::Pass(record, authorised) => (record, authorised),
        Gate::Stop(decision) => return Ok(decision),
    };
    let method = new.method.method();
    let expires = ctx.now.saturating_add(ctx.policy.setup_ttl);
    let mut effects = authorised.effects;
    effects.push(Effect::Event(EventKind::SetupBegun, Some(method)));
    let (factor, setup) = match &new.method {
        NewMethod::App => begin_app(ctx, expires)?,
        NewMethod::Key => super::key::begin(&record, ctx, expires)?,
        NewMethod::Email => {
            let to = ctx.account.email().to_owned();
            match sending::issue(&mut record, ctx, Purpose::Setup, method, &to)? {
                Issued::Sent(sends, sent) => {
                    effects.extend(sends);
                    let setup = Setup::Code(CodeSetup { sent, expires });
                    (Factor::Email(EmailFactor {}), setup)
                }
                Issued::HeldBack {
                    retry_after,
                    effects,
                } => return Ok(held_back(retry_after, effects)),
            }
        }
        NewMethod::Sms(number) => {
            let to = number.as_str();
            let sealed = ctx.keys.seal(
                ctx.account.id(),
                SecretKind::PhoneNumber,
                ctx.entropy()?.nonce,
                to.as_bytes(),
            )?;
            match sending::issue(&mut record, ctx, Purpose::Setup, method, to)? {
                Issued::Sent(sends, sent) => {
                    effects.extend(sends);
                    let setup = Setup::Code(CodeSetup { sent, expires });
                    (Factor::Sms(SmsFactor { number: sealed }), setup)
                }
                Issued::HeldBack {
                    retry_after,
                    effects,
                } => return Ok(held_back(retry_after, effects)),
            }
        }
    };
    record.pending = Some(PendingSetup {
        factor,
        label: new.label.clone(),
        expires,
        goal,
        grant: authorised.grant.map(Mac),
    });
    Ok(Decision::saved(record, effects, Verdict::Accepted(setup)))
}

/// A send limit held the setup's code back: nothing is saved (the proof
/// presented may be given again), the refusal is reported.
fn held_back<T>(retry_after: std::time::Duration, effects: Vec<Effect>) -> Decision<T> {
    Decision::report(effects, Err(Error::RateLimited { retry_after }))
}

fn begin_app(ctx: &Ctx<'_>, expires: crate::model::time::Timestamp) -> Result<(Factor, Setup)> {
    let p = &ctx.policy.totp;
    let totp = Totp::new(p.algorithm, p.digits, p.period);
    let secret = &ctx.entropy()?.totp_secret;
    let setup = app_setup(ctx, secret, &totp, expires)?;
    let sealed = ctx.keys.seal(
        ctx.account.id(),
        SecretKind::TotpSecret,
        ctx.entropy()?.nonce,
        secret,
    )?;
    let factor = Factor::App(AppFactor {
        secret: sealed,
        algorithm: totp.algorithm(),
        digits: totp.digits(),
        period: totp.period(),
        last_step: None,
    });
    Ok((factor, Setup::App(setup)))
}

/// Every form of `secret` an app setup page shows.
fn app_setup(
    ctx: &Ctx<'_>,
    secret: &[u8],
    totp: &Totp,
    expires: crate::model::time::Timestamp,
) -> Result<AppSetup> {
    let uri = account_key_uri(ctx, secret, totp)?;
    let text = uri.expose_secret();
    Ok(AppSetup {
        secret: grouped_base32(secret),
        qr_svg: SecretString::from(qr::svg(text)?),
        qr_png: SecretString::from(qr::png_data_uri(text)?),
        qr_text: SecretString::from(qr::text(text)?),
        uri,
        expires,
    })
}

/// The key URI of `secret` for this account, under the service's issuer.
pub(crate) fn account_key_uri(ctx: &Ctx<'_>, secret: &[u8], totp: &Totp) -> Result<SecretString> {
    key_uri(ctx.issuer, ctx.account.label(), secret, totp).map_err(|e| match e {
        KeyUriError::Issuer => Error::Config("the issuer must contain no ':'"),
        _ => Error::InvalidAccount("the account label cannot be put in a key URI"),
    })
}

/// Whether there is a live setup to show again; checked before anything is
/// evaluated.
pub(crate) fn check_show(record: &Record, ctx: &Ctx<'_>) -> Result<()> {
    live_pending(record, ctx)
        .map(|_| ())
        .ok_or(Error::NoPendingSetup)
}

/// The pending setup as [`begin`] showed it: an app's same secret, key URI
/// and QR code; where an email or SMS setup's code went. While a factor is
/// set up, under the step-up rule (whoever sees a new app's secret can
/// make its codes once it is confirmed). Changes nothing but what the
/// proof itself changes (a counted rejection, a spent code).
pub(crate) fn show(
    record: Record,
    ctx: &Ctx<'_>,
    presented: &Presented<'_>,
) -> Result<Decision<Verdict<Setup>>> {
    check_show(&record, ctx)?;
    let (record, authorised) =
        match authorize(record, ctx, FactorChange::ShowPendingSetup, presented)? {
            Gate::Pass(record, authorised) => (record, authorised),
            Gate::Stop(decision) => return Ok(decision),
        };
    let pending = live_pending(&record, ctx).ok_or(Error::NoPendingSetup)?;
    let setup = match &pending.factor {
        Factor::App(app) => {
            let secret = ctx
                .keys
                .open(ctx.account.id(), SecretKind::TotpSecret, &app.secret)?;
            let totp = Totp::new(app.algorithm, app.digits, app.period);
            Setup::App(app_setup(ctx, &secret, &totp, pending.expires)?)
        }
        factor => {
            let method = factor.method();
            let to = sending::destination(factor, ctx)?.ok_or(Error::WrongMethod)?;
            // The code sent last, live or not (then its time has passed:
            // ask for another with resend_setup_code).
            let sent = sending::live(&record, ctx, Purpose::Setup, &to).unwrap_or(Sent {
                method,
                to: sending::masked(method, &to),
                expires: record
                    .code
                    .as_ref()
                    .filter(|c| c.method == method)
                    .map_or(ctx.now, |c| c.expires.min(ctx.now)),
            });
            Setup::Code(CodeSetup {
                sent,
                expires: pending.expires,
            })
        }
    };
    Ok(Decision::saved(
        record,
        authorised.effects,
        Verdict::Accepted(setup),
    ))
}

/// The pending setup, if it is still live at `ctx.now`.
pub(crate) fn live_pending<'r>(record: &'r Record, ctx: &Ctx<'_>) -> Option<&'r PendingSetup> {
    record.pending.as_ref().filter(|p| p.expires > ctx.now)
}

/// Sends a new code for the pending email or SMS setup; the old one is void.
pub(crate) fn resend(mut record: Record, ctx: &Ctx<'_>) -> Result<Decision<Sent>> {
    if let Some(until) = record.guard.locked(ctx.now) {
        return Err(Error::RateLimited {
            retry_after: until.since(ctx.now),
        });
    }
    let pending = live_pending(&record, ctx).ok_or(Error::NoPendingSetup)?;
    let method = pending.factor.method();
    let to = sending::destination(&pending.factor, ctx)?.ok_or(Error::WrongMethod)?;
    Ok(
        match sending::issue(&mut record, ctx, Purpose::Setup, method, &to)? {
            Issued::Sent(effects, sent) => Decision::saved(record, effects, sent),
            Issued::HeldBack {
                retry_after,
                effects,
            } => held_back(retry_after, effects),
        },
    )
}

/// Whether there is a setup to cancel; checked before anything is
/// evaluated.
pub(crate) fn check_cancel(record: &Record) -> Result<()> {
    record
        .pending
        .as_ref()
        .map(|_| ())
        .ok_or(Error::NoPendingSetup)
}

/// Drops the pending setup: everything stays as it was before it began.
/// While a factor is on (a switch, a new method or number pending), under
/// the step-up rule, so that a stolen session cannot stop a user's change.
pub(crate) fn cancel(
    record: Record,
    ctx: &Ctx<'_>,
    presented: &Presented<'_>,
) -> Result<Decision<Verdict<()>>> {
    check_cancel(&record)?;
    let (mut record, authorised) =
        match authorize(record, ctx, FactorChange::CancelSetup, presented)? {
            Gate::Pass(record, authorised) => (record, authorised),
            Gate::Stop(decision) => return Ok(decision),
        };
    let pending = record.pending.take().ok_or(Error::NoPendingSetup)?;
    sending::spend(&mut record, Purpose::Setup);
    let mut effects = authorised.effects;
    effects.push(Effect::Event(
        EventKind::SetupCancelled,
        Some(pending.factor.method()),
    ));
    Ok(Decision::saved(record, effects, Verdict::Accepted(())))
}

/// The authenticators of `e` whose kind passes `keep`.
fn kept_but(e: &Factors, keep: impl Fn(Method) -> bool) -> Vec<Entry> {
    e.all
        .iter()
        .filter(|a| keep(a.factor.method()))
        .cloned()
        .collect()
}

/// The setup a confirmation would confirm: a live one whose goal still fits
/// the record.
fn to_confirm<'r>(record: &'r Record, ctx: &Ctx<'_>) -> Result<&'r PendingSetup> {
    let Some(pending) = live_pending(record, ctx) else {
        return Err(match (active(record), &record.pending) {
            (Some(_), None) => Error::AlreadyEnabled,
            _ => Error::NoPendingSetup,
        });
    };
    match (pending.goal, active(record)) {
        (Goal::TurnOn, Some(_)) => Err(Error::AlreadyEnabled),
        (Goal::AddFallback | Goal::ReplaceNumber | Goal::Switch, None) => {
            Err(Error::NoPendingSetup)
        }
        // Another was added meanwhile (an import, say): the cap holds.
        (Goal::AddFallback, Some(e)) => {
            check_room(e, ctx, pending.factor.method()).map(|_| pending)
        }
        _ => Ok(pending),
    }
}

/// The first look at a confirmation, before the code is evaluated: the
/// state errors, a lockout; and, when it would turn two-factor
/// authentication on, a new set of recovery codes to make first.
pub(crate) fn prepare_confirm(
    record: &Record,
    ctx: &Ctx<'_>,
) -> Result<Prepared<Verdict<Enabled>>> {
    let pending = to_confirm(record, ctx)?;
    if let Some(until) = record.guard.locked(ctx.now) {
        return Ok(Prepared::Answer(Verdict::LockedOut { until }));
    }
    Ok(Prepared::Go(Needs {
        new_codes: (pending.goal == Goal::TurnOn).then(|| Cost::from(&ctx.policy.recovery)),
        ..Needs::default()
    }))
}

/// Confirms the pending setup with a first code from the new factor; a
/// confirmation that turns two-factor authentication on issues the
/// recovery codes in `inputs`.
pub(crate) fn confirm(
    mut record: Record,
    ctx: &Ctx<'_>,
    typed: &str,
    inputs: &Inputs,
) -> Result<Decision<Verdict<Enabled>>> {
    let pending = to_confirm(&record, ctx)?.clone();
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
            match app
                .totp()
                .latest_step(&secret, typed, ctx.now.unix_seconds(), skew)
            {
                Some(step) => {
                    let mut app = app.clone();
                    app.last_step = Some(step);
                    Ok(Factor::App(app))
                }
                None if parse_code(typed, app.digits).is_none() => Err(Rejection::Malformed),
                None => Err(Rejection::WrongCode),
            }
        }
        Factor::Key(key) => super::key::confirm(&record, ctx, key, typed)?,
        Factor::Email(_) | Factor::Sms(_) => {
            let to = sending::destination(&pending.factor, ctx)?.unwrap_or_default();
            match sending::check(&record, ctx, Purpose::Setup, method, &to, typed) {
                SentCheck::Match => {
                    sending::spend(&mut record, Purpose::Setup);
                    Ok(pending.factor.clone())
                }
                miss => {
                    sending::miss(&mut record, Purpose::Setup);
                    Err(match miss {
                        SentCheck::Expired => Rejection::Expired,
                        _ if parse_code(typed, ctx.policy.codes.digits).is_none() => {
                            Rejection::Malformed
                        }
                        _ => Rejection::WrongCode,
                    })
                }
            }
        }
    };
    let factor = match confirmed {
        Ok(factor) => factor,
        Err(reason) => {
            let kind = super::rejected_kind(reason, EventKind::SetupCodeRejected);
            return Ok(reject(record, ctx, kind, Some(method), reason));
        }
    };
    let old_number = texted_number(&record, ctx)?;
    record.pending = None;
    record.guard.succeed();
    let mut recovery_codes = None;
    let mut authorised = Authorised {
        grant: pending.grant.map(|m| m.0),
        effects: Vec::new(),
    };
    // What stays beside the new authenticator, for its name and id.
    let kept: Vec<Entry> = match (pending.goal, record.factors.as_ref()) {
        (Goal::AddFallback, Some(e)) => e.all.clone(),
        (Goal::ReplaceNumber, Some(e)) => kept_but(e, |m| m != Method::Sms),
        (Goal::Switch, Some(e)) => kept_but(e, |m| m != e.primary && m != method),
        _ => Vec::new(),
    };
    let entry = new_entry(&kept, factor, pending.label.as_deref(), ctx)?;
    let named = entry.named();
    let (kind, change) = match (pending.goal, record.factors.as_mut()) {
        (Goal::AddFallback, Some(e)) => {
            e.all.push(entry);
            (EventKind::FallbackAdded, Change::FallbackAdded(method))
        }
        (Goal::ReplaceNumber, Some(e)) => {
            e.all = kept;
            e.all.push(entry);
            // Devices were remembered under the old number: they ask again.
            record.devices.clear();
            (EventKind::PhoneChanged, Change::PhoneChanged)
        }
        (Goal::Switch, Some(e)) => {
            e.all = kept;
            e.all.push(entry);
            e.primary = method;
            record.devices.clear();
            (EventKind::MethodSwitched, Change::PrimaryChanged(method))
        }
        _ => {
            // On, from off or from settings kept: everything new.
            record.factors = Some(Factors {
                primary: method,
                since: ctx.now,
                all: vec![entry],
                suspended: None,
            });
            record.devices.clear();
            record.setup_required = None;
            let Some(codes) = recovery::issue(&mut record, ctx, inputs) else {
                return Ok(Decision::wants_codes());
            };
            recovery_codes = Some(codes);
            authorised
                .effects
                .push(Effect::Event(EventKind::RecoveryCodesIssued, None));
            (EventKind::Enabled, Change::Enabled(method))
        }
    };
    let since = record.factors.as_ref().map_or(ctx.now, |e| e.since);
    let mut d = factors_changed(
        record,
        ctx,
        authorised,
        (kind, Some(method), change, Some(named)),
        old_number,
        |stamp| Enabled {
            method,
            since,
            recovery_codes,
            stamp,
        },
    )?;
    // The change's own event first, then what came with it.
    if let Some(i) = d
        .effects
        .iter()
        .position(|e| matches!(e, Effect::Named(k, ..) if *k == kind))
    {
        let event = d.effects.remove(i);
        d.effects.insert(0, event);
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::super::testing::{
        app_code, codes, sent_code, with_app, with_code, wrong, Fixture, FAIL, PASS,
    };
    use super::super::view::status;
    use super::*;
    use crate::model::phone::PhoneNumber;
    use crate::model::status::Status;

    const T0: u64 = 1_700_000_000;

    fn begin_new(
        record: Record,
        f: &Fixture,
        at: u64,
        new: NewMethod,
        goal: Goal,
        seed: u8,
    ) -> Result<Decision<Verdict<Setup>>> {
        begin(
            record,
            &f.ctx_seeded(at, seed),
            &new.clone().into(),
            goal,
            &PASS,
        )
    }

    fn begun(f: &Fixture) -> (Record, AppSetup) {
        let d = begin_new(Record::default(), f, T0, NewMethod::App, Goal::TurnOn, 1).unwrap();
        let Ok(Verdict::Accepted(Setup::App(app))) = d.reply else {
            panic!()
        };
        (d.save.unwrap(), app)
    }

    fn code(at: u64) -> String {
        app_code(1, at)
    }

    /// The code `entropy(seed)` sends.
    fn sent(seed: u8) -> String {
        sent_code(seed)
    }

    #[test]
    fn begin_gives_every_form_of_the_secret_and_stores_it_sealed() {
        let f = Fixture::new();
        let (record, app) = begun(&f);
        assert_eq!(
            app.secret.expose_secret(),
            grouped_base32(&[1; 20]).expose_secret()
        );
        let uri = app.uri.expose_secret();
        assert!(uri.starts_with("otpauth://totp/Acme:alice@example.com?secret="));
        assert!(app.qr_svg.expose_secret().starts_with("<?xml"));
        assert!(app
            .qr_png
            .expose_secret()
            .starts_with("data:image/png;base64,"));
        assert_eq!(app.expires.unix_seconds(), T0 + 900);
        let doc = record.encode().unwrap();
        let base32 = data_encoding::BASE32_NOPAD.encode(&[1; 20]);
        assert!(!crate::__internal::holds(&doc, base32.as_bytes()));
        assert!(!crate::__internal::holds(&doc, [1; 8]), "the raw secret");
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
            &NewMethod::App.into(),
            Goal::TurnOn,
            &FAIL,
        )
        .unwrap();
        assert!(!d.ok().is_accepted());
        let saved = d.save.unwrap();
        assert_eq!(saved.guard.failures, 1);
        assert!(saved.pending.is_none());
        assert_eq!(
            d.effects,
            [Effect::Event(EventKind::PasswordRejected, None)]
        );
        assert!(matches!(
            d.reply,
            Ok(Verdict::Rejected {
                reason: Rejection::WrongPassword,
                ..
            })
        ));
    }

    #[test]
    fn confirm_turns_on_and_remembers_the_step() {
        let f = Fixture::new();
        let (record, _) = begun(&f);
        let d = confirm(record, &f.ctx(T0 + 40), &code(T0 + 40), &codes(&f)).unwrap();
        assert!(d.ok().is_accepted());
        let saved = d.save.unwrap();
        assert!(saved.pending.is_none());
        let e = saved.factors.clone().unwrap();
        assert_eq!(e.apps().next().unwrap().last_step, Some((T0 + 40) / 30));
        assert!(d
            .effects
            .contains(&Effect::Notice(Change::Enabled(Method::App))));
    }

    #[test]
    fn new_recovery_codes_are_asked_for_only_once_the_code_is_right() {
        let f = Fixture::new();
        let (record, _) = begun(&f);
        let none = Inputs::default();
        let first = prepare_confirm(&record, &f.ctx(T0));
        assert!(matches!(
            first,
            Ok(Prepared::Go(Needs {
                new_codes: Some(_),
                ..
            }))
        ));
        let wrong_code = confirm(record.clone(), &f.ctx(T0), "000000", &none).unwrap();
        assert!(!wrong_code.wants_codes);
        assert_eq!(*wrong_code.ok(), wrong(4));
        let right = confirm(record.clone(), &f.ctx(T0), &code(T0), &none).unwrap();
        assert!(right.wants_codes && right.save.is_none() && right.effects.is_empty());
        let on = confirm(record, &f.ctx(T0), &code(T0), &codes(&f)).unwrap();
        assert!(!on.wants_codes);
        let shown = on.ok().clone().accepted().unwrap().recovery_codes.unwrap();
        let made = codes(&f).new_codes.unwrap().shown;
        assert_eq!(shown, crate::model::setup::RecoveryCodes(made));
    }

    #[test]
    fn confirm_refuses_wrong_expired_and_misplaced() {
        let f = Fixture::new();
        let (record, _) = begun(&f);
        let d = confirm(record.clone(), &f.ctx(T0), "000000", &codes(&f)).unwrap();
        assert_eq!(*d.ok(), wrong(4));
        let d2 = confirm(record.clone(), &f.ctx(T0), "00000", &codes(&f)).unwrap();
        assert!(matches!(
            d2.ok(),
            Verdict::Rejected {
                reason: Rejection::Malformed,
                ..
            }
        ));
        assert!(
            d.save.unwrap().pending.is_some(),
            "a wrong code keeps the setup"
        );
        assert!(matches!(
            confirm(
                record.clone(),
                &f.ctx(T0 + 900),
                &code(T0 + 900),
                &codes(&f)
            ),
            Err(Error::NoPendingSetup)
        ));
        assert!(matches!(
            confirm(Record::default(), &f.ctx(T0), "123456", &codes(&f)),
            Err(Error::NoPendingSetup)
        ));
        let on = confirm(record, &f.ctx(T0), &code(T0), &codes(&f))
            .unwrap()
            .save
            .unwrap();
        assert!(matches!(
            confirm(on.clone(), &f.ctx(T0), &code(T0), &codes(&f)),
            Err(Error::AlreadyEnabled)
        ));
        // turning on while on is a switch, which needs a current code
        assert!(matches!(
            begin_new(on, &f, T0, NewMethod::App, Goal::TurnOn, 2),
            Err(Error::StepUpRequired)
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
        let old = confirm(record.clone(), &f.ctx(T0 + 5), &code(T0 + 5), &codes(&f)).unwrap();
        assert!(
            !old.ok().is_accepted(),
            "the first secret no longer confirms"
        );
        let new = app_code(9, T0 + 5);
        assert!(confirm(record, &f.ctx(T0 + 5), &new, &codes(&f))
            .unwrap()
            .ok()
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
                &NewMethod::App.into(),
                Goal::TurnOn,
                &FAIL,
            ),
            Err(Error::InvalidAccount(_))
        ));
    }

    #[test]
    fn email_setup_sends_a_setup_code_that_confirms() {
        let f = Fixture::new();
        let d = begin_new(Record::default(), &f, T0, NewMethod::Email, Goal::TurnOn, 4).unwrap();
        let Ok(Verdict::Accepted(Setup::Code(setup))) = &d.reply else {
            panic!()
        };
        assert_eq!(setup.sent.to, "a•••@example.com");
        assert!(matches!(d.effects.get(1), Some(Effect::SendCode(_))));
        let r = d.save.unwrap();
        let d = confirm(r, &f.ctx(T0 + 5), &sent(4), &codes(&f)).unwrap();
        assert!(d.ok().is_accepted());
        let r = d.save.unwrap();
        assert_eq!(r.factors.unwrap().primary, Method::Email);
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
        let doc = r.encode().unwrap();
        assert!(!crate::__internal::holds(&doc, b"60123451688"));
        assert!(!crate::__internal::holds(&doc, b"1688"));
        assert!(confirm(r, &f.ctx(T0 + 5), &sent(4), &codes(&f))
            .unwrap()
            .ok()
            .is_accepted());
    }

    #[test]
    fn fallbacks_and_number_changes_need_a_factor_on() {
        let mut f = Fixture::new();
        let n = || NewMethod::Sms(PhoneNumber::parse("+60123451688").unwrap());
        assert!(matches!(
            begin_new(Record::default(), &f, T0, n(), Goal::AddFallback, 1),
            Err(Error::NotEnabled)
        ));
        let on = with_app(&f, T0, 1);
        // a second app fits under the cap, not over it
        let app = NewMethod::App.into();
        assert!(check_begin(&on, &f.ctx(T0), &app, Goal::AddFallback).is_ok());
        f.policy.authenticators.max_apps = 1;
        assert!(matches!(
            begin_new(on.clone(), &f, T0, NewMethod::App, Goal::AddFallback, 1),
            Err(Error::TooManyAuthenticators { max: 1 })
        ));
        assert!(matches!(
            begin_new(on.clone(), &f, T0, n(), Goal::ReplaceNumber, 1),
            Err(Error::MethodNotSetUp)
        ));
        assert!(matches!(
            begin_new(on.clone(), &f, T0, n(), Goal::AddFallback, 6),
            Err(Error::StepUpRequired)
        ));
        let code = app_code(1, T0 + 30);
        let d = begin(
            on,
            &f.ctx_seeded(T0 + 30, 6),
            &n().into(),
            Goal::AddFallback,
            &with_code(&code),
        )
        .unwrap();
        let r = confirm(d.save.unwrap(), &f.ctx(T0 + 31), &sent(6), &codes(&f))
            .unwrap()
            .save
            .unwrap();
        let e = r.factors.unwrap();
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
            r = confirm(r, &f.ctx(T0 + 1), "000000", &codes(&f))
                .unwrap()
                .save
                .unwrap();
            r.guard.succeed(); // keep the account lockout out of this test
            policy_tries -= 1;
        }
        assert!(r.code.is_none());
        assert!(!confirm(r, &f.ctx(T0 + 1), &sent(4), &codes(&f))
            .unwrap()
            .ok()
            .is_accepted());
    }

    #[test]
    fn a_switch_keeps_the_old_method_until_the_new_one_is_confirmed() {
        let f = Fixture::new();
        let on = with_app(&f, T0, 1);
        let old_code = app_code(1, T0 + 30);
        let n = NewMethod::Sms(PhoneNumber::parse(NUMBER).unwrap());
        let d = begin(
            on.clone(),
            &f.ctx_seeded(T0 + 30, 6),
            &n.clone().into(),
            Goal::TurnOn,
            &with_code(&old_code),
        )
        .unwrap();
        assert!(d.ok().is_accepted());
        let switching = d.save.unwrap();
        assert_eq!(switching.pending.as_ref().unwrap().goal, Goal::Switch);
        // the app still protects logins meanwhile
        assert_eq!(switching.factors.as_ref().unwrap().primary, Method::App);
        // cancelling (a step-up of its own) leaves it as it was, bar the
        // used codes
        let again = app_code(1, T0 + 60);
        let back = cancel(switching.clone(), &f.ctx(T0 + 60), &with_code(&again))
            .unwrap()
            .save
            .unwrap();
        let methods = |r: &Record| r.factors.as_ref().map(|e| (e.primary, e.methods()));
        assert_eq!(methods(&back), methods(&switching));
        assert!(back.pending.is_none());
        assert!(matches!(
            cancel(switching.clone(), &f.ctx(T0 + 60), &PASS),
            Err(Error::StepUpRequired)
        ));
        // confirming replaces the app with SMS, atomically
        let r = confirm(switching, &f.ctx_seeded(T0 + 31, 9), &sent(6), &codes(&f))
            .unwrap()
            .save
            .unwrap();
        let e = r.factors.unwrap();
        assert_eq!((e.primary, e.methods()), (Method::Sms, vec![Method::Sms]));
        assert_ne!(r.stamp, on.stamp, "a new security stamp");
    }

    #[test]
    fn a_switch_with_a_wrong_old_code_is_a_counted_rejection() {
        let f = Fixture::new();
        let on = with_app(&f, T0, 1);
        let d = begin(
            on,
            &f.ctx(T0 + 30),
            &NewMethod::App.into(),
            Goal::TurnOn,
            &with_code("000000"),
        )
        .unwrap();
        assert_eq!(d.reply.unwrap().map(|_| ()), wrong(4));
        let r = d.save.unwrap();
        assert_eq!(r.guard.failures, 1);
        assert!(r.pending.is_none());
    }

    const NUMBER: &str = "+60123451688";
}
