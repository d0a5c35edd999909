//! The second step of a login.

use super::{reject, Ctx, Decision, Effect};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::event::EventKind;
use crate::methods::seal::Purpose;
use crate::record::Record;
use crate::verdict::{LoginStep, Verdict, Verified};

/// What to ask for once the password was right. A pending setup asks for
/// nothing: it changes nothing until confirmed.
pub(crate) fn begin(record: &Record, now: Timestamp) -> LoginStep {
    match &record.enrolment {
        None => LoginStep::NotRequired,
        Some(e) => match record.guard.locked(now) {
            Some(until) => LoginStep::LockedOut { until },
            None => LoginStep::Challenge { method: e.primary },
        },
    }
}

/// Checks a login code.
pub(crate) fn verify(
    mut record: Record,
    ctx: &Ctx<'_>,
    code: &str,
) -> Result<Decision<Verdict<Verified>>> {
    if record.enrolment.is_none() {
        return Err(Error::NotEnabled);
    }
    if let Some(until) = record.guard.locked(ctx.now) {
        return Ok(Decision::unchanged(Verdict::LockedOut { until }));
    }
    let Some(app) = record.enrolment.as_mut().and_then(|e| e.app_mut()) else {
        return Err(Error::NotEnabled);
    };
    let method = crate::status::Method::App;
    let secret = ctx
        .keys
        .open(ctx.account.id(), Purpose::TotpSecret, &app.secret)?;
    let step = app.totp().matching_step(
        &secret,
        code,
        ctx.now.unix_seconds(),
        ctx.policy.totp.skew,
        app.last_step,
    );
    let Some(step) = step else {
        return Ok(reject(record, ctx, EventKind::LoginRejected, Some(method)));
    };
    app.last_step = Some(step);
    record.guard.succeed();
    Ok(Decision {
        save: Some(record),
        effects: vec![Effect::Event(EventKind::LoginAccepted, Some(method))],
        reply: Verdict::Accepted(Verified { method }),
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{app_code, enrolled, pending, Fixture};
    use super::*;
    use crate::status::Method;

    const T0: u64 = 1_700_000_010;

    fn code(at: u64) -> String {
        app_code(3, at)
    }

    #[test]
    fn begin_asks_only_when_on() {
        let f = Fixture::new();
        let now = Timestamp::from_unix_seconds(T0);
        assert_eq!(begin(&Record::default(), now), LoginStep::NotRequired);
        let pending = pending(&f, T0, 3);
        assert_eq!(begin(&pending, now), LoginStep::NotRequired);
        assert_eq!(
            begin(&enrolled(&f, T0, 3), now),
            LoginStep::Challenge {
                method: Method::App
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
}
