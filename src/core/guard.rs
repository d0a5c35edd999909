//! Lockout: failures counted, consecutive and per day.

use std::time::Duration;

use crate::model::time::Timestamp;
use crate::model::verdict::{Rejection, Verdict};
use crate::policy::LockoutPolicy;
use crate::record::Guard;

const DAY: Duration = Duration::from_secs(86_400);

impl Guard {
    /// Until when nothing is evaluated, if that is still to come.
    pub(crate) fn locked(&self, now: Timestamp) -> Option<Timestamp> {
        self.locked_until.filter(|until| *until > now)
    }

    /// Counts a failure at `now`; the answer to give for it, with `reason`.
    pub(crate) fn fail<T>(
        &mut self,
        now: Timestamp,
        policy: &LockoutPolicy,
        reason: Rejection,
    ) -> Verdict<T> {
        let day_start = match self.day_start {
            Some(start) if now < start.saturating_add(DAY) => start,
            _ => {
                self.day_failures = 0;
                self.lockouts = 0;
                now
            }
        };
        self.day_start = Some(day_start);
        self.day_failures = self.day_failures.saturating_add(1);
        self.failures = self.failures.saturating_add(1);

        let mut until = None;
        if self.failures >= policy.threshold {
            let doubling = 1u32.checked_shl(self.lockouts).unwrap_or(u32::MAX);
            let length = policy.first.saturating_mul(doubling).min(policy.longest);
            self.lockouts = self.lockouts.saturating_add(1);
            self.failures = 0;
            until = Some(now.saturating_add(length));
        }
        if self.day_failures >= policy.daily_limit {
            until = until.max(Some(day_start.saturating_add(DAY)));
        }
        if let Some(until) = until {
            self.locked_until = Some(until);
            return Verdict::LockedOut { until };
        }
        Verdict::Rejected {
            attempts_left: policy
                .threshold
                .saturating_sub(self.failures)
                .min(policy.daily_limit.saturating_sub(self.day_failures)),
            reason,
        }
    }

    /// An administrator lifted the lockout: consecutive failures and the
    /// doubling start over. The day's count stays, so the daily limit
    /// still holds.
    pub(crate) fn unlock(&mut self) {
        self.succeed();
    }

    /// A second factor was right: consecutive failures and the doubling
    /// start over. The day's count stays, so that at most
    /// `daily_limit` guesses fit in a day.
    pub(crate) fn succeed(&mut self) {
        self.failures = 0;
        self.lockouts = 0;
        self.locked_until = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64) -> Timestamp {
        Timestamp::from_unix_seconds(secs)
    }

    fn fail(g: &mut Guard, now: u64) -> Verdict<()> {
        g.fail(t(now), &LockoutPolicy::default(), Rejection::WrongCode)
    }

    fn rejected(attempts_left: u32) -> Verdict<()> {
        Verdict::Rejected {
            attempts_left,
            reason: Rejection::WrongCode,
        }
    }

    #[test]
    fn five_failures_lock_for_a_minute() {
        let mut g = Guard::default();
        for left in [4, 3, 2, 1] {
            assert_eq!(fail(&mut g, 1000), rejected(left));
        }
        assert_eq!(fail(&mut g, 1000), Verdict::LockedOut { until: t(1060) });
        assert_eq!(g.locked(t(1059)), Some(t(1060)));
        assert_eq!(g.locked(t(1060)), None);
    }

    #[test]
    fn lockouts_double_up_to_an_hour() {
        let mut g = Guard::default();
        let mut now = 0;
        let mut lengths = Vec::new();
        for _ in 0..9 {
            let mut last = fail(&mut g, now);
            for _ in 1..5 {
                last = fail(&mut g, now);
            }
            let Verdict::LockedOut { until } = last else {
                panic!("{last:?}")
            };
            lengths.push(until.unix_seconds() - now);
            now = until.unix_seconds();
        }
        assert_eq!(lengths, [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
    }

    #[test]
    fn success_resets_the_run_and_the_doubling() {
        let mut g = Guard::default();
        for _ in 0..5 {
            let _ = fail(&mut g, 0);
        }
        g.succeed();
        assert_eq!(g.locked(t(1)), None);
        for _ in 0..4 {
            let _ = fail(&mut g, 100);
        }
        assert_eq!(fail(&mut g, 100), Verdict::LockedOut { until: t(160) });
    }

    #[test]
    fn at_most_a_hundred_failures_a_day() {
        let mut g = Guard::default();
        let policy = LockoutPolicy {
            threshold: 1000,
            ..LockoutPolicy::default()
        };
        let mut answers = Vec::new();
        for i in 0..100 {
            g.succeed(); // a success between failures does not reset the day
            answers.push(g.fail::<()>(t(i), &policy, Rejection::WrongCode));
        }
        assert_eq!(answers[98], rejected(1));
        assert_eq!(answers[99], Verdict::LockedOut { until: t(86_400) });
        // the next day starts afresh
        assert_eq!(
            g.fail::<()>(t(86_400), &policy, Rejection::WrongCode),
            rejected(99)
        );
    }

    #[test]
    fn attempts_left_is_the_nearer_limit() {
        let mut g = Guard {
            day_start: Some(t(0)),
            day_failures: 97,
            ..Guard::default()
        };
        assert_eq!(fail(&mut g, 10), rejected(2));
    }
}
