//! Sending and checking emailed and texted codes: the send limits, the one
//! outstanding code, and its tries.

use std::time::Duration;

use secrecy::SecretString;

use super::{Ctx, Delivery, Effect};
use crate::crypto::code_mac::{code_from, code_mac, code_matches, Binding};
use crate::crypto::limit_key::{counter_key, destination as counted_destination, Counted};
use crate::crypto::seal::SecretKind;
use crate::error::{Error, Result};
use crate::model::event::EventKind;
use crate::model::message::{CodeMessage, Message, Purpose};
use crate::model::phone::{mask_email, PhoneNumber};
use crate::model::status::Method;
use crate::model::verdict::Sent;
use crate::record::{Factor, OutstandingCode, Record, SendLog};

const HOUR: Duration = Duration::from_secs(3600);

/// Where `factor`'s codes go: the account's address, or the unsealed number.
/// `None` for the app, whose codes are not sent.
pub(crate) fn destination(factor: &Factor, ctx: &Ctx<'_>) -> Result<Option<String>> {
    match factor {
        Factor::App(_) | Factor::Key(_) => Ok(None),
        Factor::Email(_) => Ok(Some(ctx.account.email().to_owned())),
        Factor::Sms(sms) => {
            let bytes = ctx
                .keys
                .open(ctx.account.id(), SecretKind::PhoneNumber, &sms.number)?;
            String::from_utf8(bytes.to_vec())
                .map(Some)
                .map_err(|_| Error::Unseal)
        }
    }
}

/// `destination` as a person may see it.
pub(crate) fn masked(method: Method, destination: &str) -> String {
    match method {
        Method::Sms => PhoneNumber::parse(destination)
            .map(|n| n.masked())
            .unwrap_or_else(|_| "•••".to_owned()),
        _ => mask_email(destination),
    }
}

/// Whether the host configured a sender for `method`; checked before
/// anything else so that a setup cannot begin that could never finish.
pub(crate) fn check_sender(method: Method, ctx: &Ctx<'_>) -> Result<()> {
    match method {
        Method::Email if !ctx.can_email => Err(Error::Config("no email sender is configured")),
        Method::Sms if !ctx.can_text => Err(Error::Config("no SMS sender is configured")),
        Method::Key if !super::key::configured(ctx) => Err(Error::Config(
            "no security keys are configured (the webauthn feature and TwoFactorBuilder::security_keys)",
        )),
        _ => Ok(()),
    }
}

/// How long until the account may be sent another code for `purpose`;
/// `None` if now. Codes for one purpose are spaced (a resend); every code
/// counts towards the hourly limit.
pub(crate) fn wait_before_send(
    record: &Record,
    ctx: &Ctx<'_>,
    purpose: Purpose,
) -> Option<Duration> {
    let p = &ctx.policy.codes;
    let recent: Vec<&SendLog> = record
        .sends
        .iter()
        .filter(|s| s.at.saturating_add(HOUR) > ctx.now)
        .collect();
    let spacing = recent
        .iter()
        .rev()
        .find(|s| s.purpose == purpose)
        .map(|last| last.at.saturating_add(p.resend_after).since(ctx.now))
        .filter(|d| !d.is_zero());
    let hourly = (recent.len() >= usize::from(p.sends_per_hour))
        .then(|| {
            recent
                .first()
                .map(|s| s.at.saturating_add(HOUR).since(ctx.now))
        })
        .flatten();
    spacing.max(hourly)
}

/// What became of a code to send.
pub(crate) enum Issued {
    /// Made, and to be delivered after the save.
    Sent(Vec<Effect>, Sent),
    /// A limit held it back: of the account, or (across accounts) of the
    /// destination or the request's source. Nothing was made.
    HeldBack {
        retry_after: Duration,
        effects: Vec<Effect>,
    },
}

/// The key of the counter of codes sent to `to` by `method`.
pub(crate) fn counter(ctx: &Ctx<'_>, method: Method, to: &str) -> String {
    counter_key(
        ctx.keys.current().code(),
        Counted::Destination,
        &counted_destination(method, to),
    )
}

/// Makes a new code for `purpose`, sent by `method` to `to`: it replaces
/// any outstanding code, is recorded against the send limits, and is
/// delivered after the save. Held back when a limit forbids it.
pub(crate) fn issue(
    record: &mut Record,
    ctx: &Ctx<'_>,
    purpose: Purpose,
    method: Method,
    to: &str,
) -> Result<Issued> {
    check_sender(method, ctx)?;
    let counter = counter(ctx, method, to);
    let refused = ctx
        .refused
        .iter()
        .find(|(key, _)| *key == counter)
        .map(|(_, wait)| *wait);
    if let Some(retry_after) = wait_before_send(record, ctx, purpose).or(refused) {
        return Ok(Issued::HeldBack {
            retry_after,
            effects: vec![Effect::Event(EventKind::SendThrottled, Some(method))],
        });
    }
    let p = &ctx.policy.codes;
    let valid_for = if method == Method::Sms {
        p.sms_ttl
    } else {
        p.email_ttl
    };
    let code = code_from(ctx.entropy()?.code, p.digits);
    let binding = Binding {
        user: ctx.account.id(),
        purpose,
        method,
        destination: to,
    };
    let expires = ctx.now.saturating_add(valid_for);
    let keys = ctx.keys.current();
    record.code = Some(OutstandingCode {
        purpose,
        method,
        key: keys.id,
        mac: code_mac(keys.code(), &binding, &code).to_vec(),
        expires,
        tries_left: p.tries,
    });
    record.sends.retain(|s| s.at.saturating_add(HOUR) > ctx.now);
    record.sends.push(SendLog {
        at: ctx.now,
        purpose,
    });
    let message = Message::Code(CodeMessage {
        code: SecretString::from(code),
        purpose,
        method,
        valid_for,
        issuer: ctx.issuer.to_owned(),
    });
    let effects = vec![
        Effect::SendCode(Delivery {
            method,
            to: to.to_owned(),
            counter,
            message,
        }),
        Effect::Event(EventKind::CodeSent, Some(method)),
    ];
    let sent = Sent {
        method,
        to: masked(method, to),
        expires,
    };
    Ok(Issued::Sent(effects, sent))
}

/// The outstanding code, if it is live for `purpose`, as [`Sent`].
pub(crate) fn live(record: &Record, ctx: &Ctx<'_>, purpose: Purpose, to: &str) -> Option<Sent> {
    let code = record.code.as_ref()?;
    code.live_for(purpose, ctx.now).then(|| Sent {
        method: code.method,
        to: masked(code.method, to),
        expires: code.expires,
    })
}

/// What a typed code is, against the outstanding one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SentCheck {
    /// The live code.
    Match,
    /// The code, but no longer live (expired).
    Expired,
    /// Not the code (or there is none for this purpose).
    Miss,
}

/// Whether `typed` is the outstanding code for `purpose`, sent by `method`
/// to `to`. Does not change the record: see [`spend`] and [`miss`].
pub(crate) fn check(
    record: &Record,
    ctx: &Ctx<'_>,
    purpose: Purpose,
    method: Method,
    to: &str,
    typed: &str,
) -> SentCheck {
    let Some(code) = record.code.as_ref() else {
        return SentCheck::Miss;
    };
    if code.purpose != purpose || code.method != method || code.tries_left == 0 {
        return SentCheck::Miss;
    }
    let binding = Binding {
        user: ctx.account.id(),
        purpose,
        method,
        destination: to,
    };
    // Under the key that made it (every key in hand for a code made before
    // key ids were kept).
    let right = ctx.keys.for_id(code.key).fold(false, |right, keys| {
        right
            | code_matches(
                keys.code(),
                &binding,
                ctx.policy.codes.digits,
                typed,
                &code.mac,
            )
    });
    match (right, code.expires > ctx.now) {
        (true, true) => SentCheck::Match,
        (true, false) => SentCheck::Expired,
        (false, _) => SentCheck::Miss,
    }
}

/// Whether `typed` is the live outstanding code for `purpose`.
#[cfg(test)]
pub(crate) fn matches(
    record: &Record,
    ctx: &Ctx<'_>,
    purpose: Purpose,
    method: Method,
    to: &str,
    typed: &str,
) -> bool {
    check(record, ctx, purpose, method, to, typed) == SentCheck::Match
}

/// A code for `purpose` was used: it is outstanding no more. A code for
/// another purpose (a pending setup's) stays.
pub(crate) fn spend(record: &mut Record, purpose: Purpose) {
    if record.code.as_ref().is_some_and(|c| c.purpose == purpose) {
        record.code = None;
    }
}

/// A wrong try at the outstanding code for `purpose`: one try fewer, and
/// void when none are left.
pub(crate) fn miss(record: &mut Record, purpose: Purpose) {
    if let Some(code) = record.code.as_mut().filter(|c| c.purpose == purpose) {
        code.tries_left = code.tries_left.saturating_sub(1);
        if code.tries_left == 0 {
            record.code = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{sent_code as sent, Fixture};
    use super::*;
    use crate::model::time::Timestamp;

    const T0: u64 = 1_700_000_000;
    const TO: &str = "alice@example.com";

    /// The code the fixture's default entropy makes.
    fn sent_code() -> String {
        sent(1)
    }

    #[test]
    fn sends_are_spaced_and_capped_per_hour() {
        let f = Fixture::new();
        let mut r = Record::default();
        let send = |r: &mut Record, at: u64, purpose: Purpose| match issue(
            r,
            &f.ctx(at),
            purpose,
            Method::Email,
            TO,
        )
        .unwrap()
        {
            Issued::Sent(..) => None,
            Issued::HeldBack { retry_after, .. } => Some(retry_after.as_secs()),
        };
        assert_eq!(send(&mut r, T0, Purpose::Login), None);
        assert_eq!(send(&mut r, T0 + 10, Purpose::Login), Some(20));
        // another purpose is not a resend: a step-up code, then a setup code
        assert_eq!(send(&mut r, T0 + 10, Purpose::StepUp), None);
        assert_eq!(send(&mut r, T0 + 11, Purpose::Setup), None);
        assert_eq!(send(&mut r, T0 + 30, Purpose::Login), None);
        assert_eq!(send(&mut r, T0 + 60, Purpose::Login), None);
        // five sent within the hour: the sixth waits for the first to age out
        assert_eq!(send(&mut r, T0 + 600, Purpose::Setup), Some(3000));
        assert_eq!(send(&mut r, T0 + 3600, Purpose::Login), None);
        assert_eq!(r.sends.len(), 5, "only the last hour is kept");
    }

    #[test]
    fn a_destination_refused_across_accounts_is_held_back() {
        let f = Fixture::new();
        let mut r = Record::default();
        let key = counter(&f.ctx(T0), Method::Email, "ALICE@example.com ");
        let refused = [(key, Duration::from_secs(99))];
        let mut ctx = f.ctx(T0);
        ctx.refused = &refused;
        let Issued::HeldBack {
            retry_after,
            effects,
        } = issue(&mut r, &ctx, Purpose::Login, Method::Email, TO).unwrap()
        else {
            panic!("sent")
        };
        assert_eq!(retry_after, Duration::from_secs(99));
        assert_eq!(
            effects,
            [Effect::Event(EventKind::SendThrottled, Some(Method::Email))]
        );
        assert_eq!(r, Record::default(), "nothing was made");
    }

    #[test]
    fn a_code_is_bound_and_spent_once() {
        let f = Fixture::new();
        let mut r = Record::default();
        let ctx = f.ctx(T0);
        let Issued::Sent(effects, sent) =
            issue(&mut r, &ctx, Purpose::Login, Method::Email, TO).unwrap()
        else {
            panic!("held back")
        };
        assert_eq!(sent.to, "a•••@example.com");
        assert_eq!(sent.expires, Timestamp::from_unix_seconds(T0 + 600));
        let Some(Effect::SendCode(d)) = effects.first() else {
            panic!()
        };
        assert_eq!(d.to, TO);
        assert!(!format!("{d:?}").contains(TO));
        let code = sent_code();
        assert!(matches(&r, &ctx, Purpose::Login, Method::Email, TO, &code));
        assert!(!matches(&r, &ctx, Purpose::Setup, Method::Email, TO, &code));
        assert!(!matches(&r, &ctx, Purpose::Login, Method::Sms, TO, &code));
        assert!(!matches(
            &r,
            &ctx,
            Purpose::Login,
            Method::Email,
            "b@example.com",
            &code
        ));
        assert_eq!(
            check(
                &r,
                &f.ctx(T0 + 600),
                Purpose::Login,
                Method::Email,
                TO,
                &code
            ),
            SentCheck::Expired
        );
        assert_eq!(
            check(
                &r,
                &f.ctx(T0 + 600),
                Purpose::Login,
                Method::Email,
                TO,
                "000000"
            ),
            SentCheck::Miss
        );
        spend(&mut r, Purpose::Setup);
        assert!(r.code.is_some(), "a code for another purpose stays");
        spend(&mut r, Purpose::Login);
        assert!(!matches(&r, &ctx, Purpose::Login, Method::Email, TO, &code));
    }

    /// What the record says of a code decides before its MAC does: a
    /// record whose code is for another purpose or method, or has no
    /// tries left, answers no code, even the one sent.
    #[test]
    fn a_stored_code_answers_only_for_its_purpose_and_method_while_it_has_tries() {
        let f = Fixture::new();
        let ctx = f.ctx(T0);
        let mut sent = Record::default();
        issue(&mut sent, &ctx, Purpose::Login, Method::Email, TO).unwrap();
        let code = sent_code();
        assert!(matches(
            &sent,
            &ctx,
            Purpose::Login,
            Method::Email,
            TO,
            &code
        ));
        let altered = |change: fn(&mut crate::record::OutstandingCode)| {
            let mut r = sent.clone();
            if let Some(c) = r.code.as_mut() {
                change(c);
            }
            matches(&r, &ctx, Purpose::Login, Method::Email, TO, &code)
        };
        assert!(!altered(|c| c.method = Method::Sms));
        assert!(!altered(|c| c.purpose = Purpose::Setup));
        assert!(!altered(|c| c.tries_left = 0));
        assert!(altered(|c| c.tries_left = 1));
    }

    #[test]
    fn five_misses_void_the_code() {
        let f = Fixture::new();
        let mut r = Record::default();
        let ctx = f.ctx(T0);
        issue(&mut r, &ctx, Purpose::Login, Method::Sms, "+60123451688").unwrap();
        let code = sent_code();
        for _ in 0..4 {
            miss(&mut r, Purpose::Login);
        }
        assert!(matches(
            &r,
            &ctx,
            Purpose::Login,
            Method::Sms,
            "+60123451688",
            &code
        ));
        miss(&mut r, Purpose::Setup);
        assert!(
            r.code.is_some(),
            "a miss for another purpose does not count"
        );
        miss(&mut r, Purpose::Login);
        assert!(r.code.is_none());
        assert!(!matches(
            &r,
            &ctx,
            Purpose::Login,
            Method::Sms,
            "+60123451688",
            &code
        ));
    }

    #[test]
    fn sms_codes_live_five_minutes() {
        let f = Fixture::new();
        let mut r = Record::default();
        let Issued::Sent(_, sent) = issue(
            &mut r,
            &f.ctx(T0),
            Purpose::Login,
            Method::Sms,
            "+14155550100",
        )
        .unwrap() else {
            panic!("held back")
        };
        assert_eq!(sent.expires.unix_seconds(), T0 + 300);
        assert_eq!(sent.to, "+1 ••• ••• 0100");
    }

    #[test]
    fn no_sender_no_code() {
        let f = Fixture::new();
        let mut ctx = f.ctx(T0);
        ctx.can_text = false;
        let mut r = Record::default();
        assert!(matches!(
            issue(&mut r, &ctx, Purpose::Login, Method::Sms, "+14155550100"),
            Err(Error::Config(_))
        ));
        assert_eq!(r, Record::default());
    }
}
