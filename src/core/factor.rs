//! Checking a typed second factor against everything the account has: the
//! authenticator app's code, the live code sent for this purpose, or a
//! recovery code. One check serves a login, a step-up and a re-enable.

use super::recovery::{self, RecoveryHit};
use super::sending::{self, SentCheck};
use super::Ctx;
use crate::crypto::recovery_hash as codes;
use crate::crypto::seal::SecretKind;
use crate::crypto::totp::parse_code;
use crate::error::Result;
use crate::model::message::Purpose;
use crate::model::status::Method;
use crate::model::verdict::Rejection;
use crate::record::Record;

/// What a typed second factor turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checked {
    /// A right code of this method, now used.
    Code(Method),
    /// A right recovery code, now used; how many are left.
    Recovery { left: usize },
    /// Not accepted, and why.
    Miss(Rejection),
}

/// Checks `typed` against the factors set up (kept ones too): a recovery
/// code when it has that form (its argon2id check, `hit`, was done
/// before); otherwise the authenticator app's code, if one is set up,
/// and the code last sent for `purpose`, if any. Both codes are always
/// computed. A match is recorded (the app's step, the sent code spent, the
/// recovery slot used); a miss costs the sent code a try.
pub(crate) fn check(
    record: &mut Record,
    ctx: &Ctx<'_>,
    purpose: Purpose,
    typed: &str,
    hit: Option<&RecoveryHit>,
) -> Result<Checked> {
    let Some(e) = record.factors.as_ref() else {
        return Ok(Checked::Miss(Rejection::WrongCode));
    };
    if codes::parse(typed).is_some() {
        return Ok(match recovery::spend(record, hit) {
            Some(left) => Checked::Recovery { left },
            None => Checked::Miss(Rejection::WrongCode),
        });
    }
    let app = e.app();
    // Not a code of any length in use: not evaluated further.
    let app_digits = app.map(|a| a.digits);
    let well_formed = parse_code(typed, ctx.policy.codes.digits).is_some()
        || app_digits.is_some_and(|d| parse_code(typed, d).is_some());
    if !well_formed {
        sending::miss(record, purpose);
        return Ok(Checked::Miss(Rejection::Malformed));
    }
    // The sent code, checked against where its method sends now.
    let sent = match record.code.as_ref().filter(|c| c.purpose == purpose) {
        Some(c) => match e.factor(c.method) {
            Some(f) => sending::destination(f, ctx)?.map(|to| (c.method, to)),
            None => None,
        },
        None => None,
    };
    let sent_check = sent.as_ref().map_or(SentCheck::Miss, |(m, to)| {
        sending::check(record, ctx, purpose, *m, to, typed)
    });
    let app_step = match app {
        Some(app) => {
            let secret = ctx
                .keys
                .open(ctx.account.id(), SecretKind::TotpSecret, &app.secret)?;
            app.totp()
                .latest_step(&secret, typed, ctx.now.unix_seconds(), ctx.policy.totp.skew)
                .map(|step| (step, app.last_step.is_none_or(|last| step > last)))
        }
        None => None,
    };
    let method = match (app_step, sent_check, &sent) {
        (Some((step, true)), _, _) => {
            if let Some(app) = record.factors.as_mut().and_then(|e| e.app_mut()) {
                app.last_step = Some(step);
            }
            Method::App
        }
        (_, SentCheck::Match, Some((method, _))) => *method,
        (replay, expired, _) => {
            sending::miss(record, purpose);
            return Ok(Checked::Miss(match (replay, expired) {
                (Some((_, false)), _) => Rejection::Replayed,
                (_, SentCheck::Expired) => Rejection::Expired,
                _ => Rejection::WrongCode,
            }));
        }
    };
    sending::spend(record, purpose);
    Ok(Checked::Code(method))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{app_code, with_app, Fixture};
    use super::*;

    const T0: u64 = 1_700_000_040;

    #[test]
    fn tells_replayed_malformed_and_wrong_apart() {
        let f = Fixture::new();
        let mut r = with_app(&f, T0, 2);
        let at = T0 + 30;
        let code = app_code(2, at);
        let check = |r: &mut Record, typed: &str| {
            check(r, &f.ctx(at), Purpose::Login, typed, None).unwrap()
        };
        assert_eq!(check(&mut r, &code), Checked::Code(Method::App));
        assert_eq!(check(&mut r, &code), Checked::Miss(Rejection::Replayed));
        // the setup's confirming code, an earlier step, is a replay too
        assert_eq!(
            check(&mut r, &app_code(2, T0)),
            Checked::Miss(Rejection::Replayed)
        );
        for junk in ["", "12345", "1234567", "12345a", "١٢٣٤٥٦", "123 456"] {
            assert_eq!(check(&mut r, junk), Checked::Miss(Rejection::Malformed));
        }
        let wrong = if code == "000000" { "000001" } else { "000000" };
        assert_eq!(check(&mut r, wrong), Checked::Miss(Rejection::WrongCode));
    }
}
