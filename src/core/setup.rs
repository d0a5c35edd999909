//! Turning two-factor authentication on: begin (password → secret), then
//! confirm (a first code from the new factor).

use secrecy::SecretString;

use super::{reauthenticate, reject, Ctx, Decision, Effect, Entropy};
use crate::error::{Error, Result};
use crate::event::EventKind;
use crate::message::Change;
use crate::methods::qr;
use crate::methods::seal::Purpose;
use crate::methods::totp::{grouped_base32, key_uri, KeyUriError, Totp};
use crate::record::{AppFactor, Enrolment, Factor, PendingSetup, Record};
use crate::setup::{AppSetup, Enabled, Setup};
use crate::status::Method;
use crate::verdict::Verdict;

/// Whether a setup may begin at all; checked before the password is.
pub(crate) fn check_begin(record: &Record, ctx: &Ctx<'_>) -> Result<()> {
    if record.enrolment.is_some() {
        return Err(Error::AlreadyEnabled);
    }
    let label = ctx.account.label();
    if label.is_empty() || label.contains(':') {
        return Err(Error::InvalidAccount(
            "the account label must be non-empty and contain no ':'",
        ));
    }
    Ok(())
}

/// Begins a setup of `method`, replacing any setup already pending.
pub(crate) fn begin(
    mut record: Record,
    ctx: &Ctx<'_>,
    method: Method,
    password_ok: bool,
    entropy: &Entropy,
) -> Result<Decision<Verdict<Setup>>> {
    check_begin(&record, ctx)?;
    if let Some(end) = reauthenticate(&record, ctx, password_ok) {
        return Ok(end);
    }
    let setup = match method {
        Method::App => {
            let p = &ctx.policy.totp;
            let totp = Totp::new(p.algorithm, p.digits, p.period);
            let secret = &entropy.totp_secret;
            let uri =
                key_uri(ctx.issuer, ctx.account.label(), secret, &totp).map_err(|e| match e {
                    KeyUriError::Issuer => Error::Config("the issuer must contain no ':'"),
                    _ => Error::InvalidAccount("the account label cannot be put in a key URI"),
                })?;
            let sealed =
                ctx.keys
                    .seal(ctx.account.id(), Purpose::TotpSecret, entropy.nonce, secret)?;
            let expires = ctx.now.saturating_add(ctx.policy.setup_ttl);
            record.pending = Some(PendingSetup {
                factor: Factor::App(AppFactor {
                    secret: sealed,
                    algorithm: totp.algorithm(),
                    digits: totp.digits(),
                    period: totp.period(),
                    last_step: None,
                }),
                expires,
            });
            Setup::App(AppSetup {
                secret: SecretString::from(grouped_base32(secret)),
                qr_svg: SecretString::from(qr::svg(&uri)?),
                qr_png: SecretString::from(qr::png_data_uri(&uri)?),
                qr_text: SecretString::from(qr::text(&uri)?),
                uri: SecretString::from(uri),
                expires,
            })
        }
    };
    Ok(Decision {
        save: Some(record),
        effects: vec![Effect::Event(EventKind::SetupBegun, Some(method))],
        reply: Verdict::Accepted(setup),
    })
}

/// Confirms the pending setup with a first code from the new factor.
pub(crate) fn confirm(
    mut record: Record,
    ctx: &Ctx<'_>,
    code: &str,
) -> Result<Decision<Verdict<Enabled>>> {
    if record.enrolment.is_some() {
        return Err(Error::AlreadyEnabled);
    }
    let Some(pending) = record.pending.as_ref().filter(|p| p.expires > ctx.now) else {
        return Err(Error::NoPendingSetup);
    };
    if let Some(until) = record.guard.locked(ctx.now) {
        return Ok(Decision::unchanged(Verdict::LockedOut { until }));
    }
    let method = pending.factor.method();
    let matched = match &pending.factor {
        Factor::App(app) => {
            let secret = ctx
                .keys
                .open(ctx.account.id(), Purpose::TotpSecret, &app.secret)?;
            let skew = ctx.policy.totp.skew;
            app.totp()
                .matching_step(&secret, code, ctx.now.unix_seconds(), skew, None)
                .map(|step| {
                    let mut app = app.clone();
                    app.last_step = Some(step);
                    Factor::App(app)
                })
        }
    };
    let Some(factor) = matched else {
        return Ok(reject(
            record,
            ctx,
            EventKind::SetupCodeRejected,
            Some(method),
        ));
    };
    record.pending = None;
    record.enrolment = Some(Enrolment {
        primary: method,
        since: ctx.now,
        factors: vec![factor],
    });
    record.guard.succeed();
    Ok(Decision {
        save: Some(record),
        effects: vec![
            Effect::Event(EventKind::Enabled, Some(method)),
            Effect::Notice(Change::Enabled(method)),
        ],
        reply: Verdict::Accepted(Enabled {
            method,
            since: ctx.now,
        }),
    })
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::super::status::status;
    use super::super::testing::{app_code, entropy, Fixture};
    use super::*;
    use crate::status::Status;

    const T0: u64 = 1_700_000_000;

    fn begun(f: &Fixture) -> (Record, AppSetup) {
        let d = begin(
            Record::default(),
            &f.ctx(T0),
            Method::App,
            true,
            &entropy(1),
        )
        .unwrap();
        let Verdict::Accepted(Setup::App(app)) = d.reply else {
            panic!()
        };
        (d.save.unwrap(), app)
    }

    fn code(at: u64) -> String {
        app_code(1, at)
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
            status(&record, f.ctx(T0).now),
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
            Method::App,
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
            begin(on, &f.ctx(T0), Method::App, true, &entropy(2)),
            Err(Error::AlreadyEnabled)
        ));
    }

    #[test]
    fn a_second_begin_replaces_the_first() {
        let f = Fixture::new();
        let (first, _) = begun(&f);
        let d = begin(first, &f.ctx(T0 + 5), Method::App, true, &entropy(9)).unwrap();
        let record = d.save.unwrap();
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
                Method::App,
                false,
                &entropy(1)
            ),
            Err(Error::InvalidAccount(_))
        ));
    }
}
