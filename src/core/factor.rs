//! Checking a typed second factor against everything the account has: the
//! authenticator app's code, the live code sent for this purpose, or a
//! recovery code. One check serves a login, a step-up and a re-enable.

use super::recovery::{self, RecoveryHit};
use super::sending::{self, SentCheck};
use super::Ctx;
use crate::crypto::recovery_hash as codes;
use crate::crypto::seal::SecretKind;
use crate::crypto::totp::parse_code;
use crate::error::{Error, Result};
use crate::model::event::Named;
use crate::model::message::Purpose;
use crate::model::status::Method;
use crate::model::verdict::Rejection;
use crate::record::{Factor, Factors, Record};

/// What a typed second factor turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Checked {
    /// A right code of this method, now used, from this authenticator.
    Code(Method, Named),
    /// A right recovery code, now used; how many are left.
    Recovery { left: usize },
    /// Not accepted, and why.
    Miss(Rejection),
}

/// Checks `typed` against the factors set up (kept ones too): a recovery
/// code when it has that form (its argon2id check, `hit`, was done
/// before); otherwise every authenticator app's code and the code last
/// sent for `purpose`, if any. Every app's window and the sent code are
/// always computed in full, whichever matches, so the time taken depends
/// on how many apps there are, not on which one (if any) the code is
/// from. A match is recorded (the step, the sent code spent, the recovery
/// slot used, the authenticator's last use); a miss costs the sent code a
/// try.
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
    if crate::model::key::is_key_answer(typed) {
        return super::key::check(record, ctx, purpose, typed);
    }
    if codes::parse(typed).is_some() {
        return Ok(match recovery::spend(record, hit) {
            Some(left) => Checked::Recovery { left },
            None => Checked::Miss(Rejection::WrongCode),
        });
    }
    // Not a code of any length in use: not evaluated further.
    let well_formed = parse_code(typed, ctx.policy.codes.digits).is_some()
        || e.apps().any(|a| parse_code(typed, a.digits).is_some());
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
    let app = check_apps(e, ctx, typed)?;
    let now = ctx.now;
    let (index, method) = match (app, sent_check, &sent) {
        (
            AppCheck::Fresh {
                index,
                step,
                period,
            },
            _,
            _,
        ) => {
            if let Some(e) = record.factors.as_mut() {
                spend_step(e, step, period);
            }
            (Some(index), Method::App)
        }
        (_, SentCheck::Match, Some((method, _))) => (None, *method),
        (app, expired, _) => {
            sending::miss(record, purpose);
            return Ok(Checked::Miss(match (app, expired) {
                (AppCheck::Replayed, _) => Rejection::Replayed,
                (_, SentCheck::Expired) => Rejection::Expired,
                _ => Rejection::WrongCode,
            }));
        }
    };
    sending::spend(record, purpose);
    let e = record.factors.as_mut().ok_or(Error::NotEnabled)?;
    let entry = match index {
        Some(i) => e.all.get_mut(i),
        None => e.all.iter_mut().find(|a| a.factor.method() == method),
    }
    .ok_or(Error::NotEnabled)?;
    entry.last_used = Some(now);
    Ok(Checked::Code(method, entry.named()))
}

/// What the apps made of a typed code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AppCheck {
    /// The app at `index` among the authenticators shows it for `step`
    /// (of `period` seconds), not used before.
    Fresh {
        index: usize,
        step: u64,
        period: u64,
    },
    /// An app shows it, for a step already used.
    Replayed,
    /// No app shows it.
    Miss,
}

/// Checks `typed` against every authenticator app, each window computed in
/// full: no app's answer stops the others being checked.
fn check_apps(e: &Factors, ctx: &Ctx<'_>, typed: &str) -> Result<AppCheck> {
    let mut found = AppCheck::Miss;
    for (index, _, app) in e.app_entries() {
        let secret = ctx
            .keys
            .open(ctx.account.id(), SecretKind::TotpSecret, &app.secret)?;
        let step =
            app.totp()
                .latest_step(&secret, typed, ctx.now.unix_seconds(), ctx.policy.totp.skew);
        found = match (found, step) {
            (AppCheck::Fresh { .. }, _) | (_, None) => found,
            (_, Some(step)) if app.last_step.is_none_or(|last| step > last) => AppCheck::Fresh {
                index,
                step,
                period: app.period,
            },
            (_, Some(_)) => AppCheck::Replayed,
        };
    }
    Ok(found)
}

/// Records that `step` of a `period`-second app was accepted: for every app
/// of the account, each step that ended by the end of that one is used, so
/// that a code accepted from one app is refused from every app.
pub(crate) fn spend_step(e: &mut Factors, step: u64, period: u64) {
    let end = step.saturating_add(1).saturating_mul(period);
    for entry in &mut e.all {
        if let Factor::App(app) = &mut entry.factor {
            let Some(last) = (end / app.period.max(1)).checked_sub(1) else {
                continue;
            };
            app.last_step = Some(app.last_step.map_or(last, |l| l.max(last)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{app_code, with_app, Fixture};
    use super::*;
    use crate::record::{Factor, Factors};

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
        assert!(matches!(
            check(&mut r, &code),
            Checked::Code(Method::App, _)
        ));
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

    /// A step of a 30-second app spends, in a 60-second app, the steps that
    /// ended by its end, and never a step still under way.
    #[test]
    fn an_accepted_step_is_spent_across_periods() {
        let f = Fixture::new();
        let r = with_app(&f, T0, 2);
        let mut e = r.factors.unwrap();
        let mut other = e.all[0].clone();
        if let Factor::App(app) = &mut other.factor {
            app.period = 60;
            app.last_step = None;
        }
        e.all.push(other);
        let steps = |e: &Factors| -> Vec<Option<u64>> { e.apps().map(|a| a.last_step).collect() };
        // 30-second step 101 ends at 3060 s: the 60-second step 50 (3000 to
        // 3060) is over and spent; step 51 is not
        spend_step(&mut e, 101, 30);
        assert_eq!(steps(&e), [Some(T0 / 30).max(Some(101)), Some(50)]);
        // step 102 ends at 3090 s, inside 60-second step 51: 50 stays
        spend_step(&mut e, 102, 30);
        assert_eq!(steps(&e)[1], Some(50));
        // nothing goes backwards
        spend_step(&mut e, 3, 30);
        assert_eq!(steps(&e)[1], Some(50));
    }
}
