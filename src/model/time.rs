//! Time as the library sees it: whole seconds since the Unix epoch, read
//! through a [`Clock`](crate::Clock) so that tests and demos can move it by
//! hand.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A point in time, in whole seconds since 1970-01-01T00:00:00Z.
///
/// Every rule of the library (code expiry, lockout, TOTP time steps) works in
/// whole seconds, so this is all the precision it keeps.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub(crate) u64);

impl Timestamp {
    /// The moment `secs` seconds after the Unix epoch.
    pub const fn from_unix_seconds(secs: u64) -> Self {
        Self(secs)
    }

    /// Seconds since the Unix epoch.
    pub const fn unix_seconds(self) -> u64 {
        self.0
    }

    /// This moment plus `d`, saturating at the end of time rather than wrapping.
    pub fn saturating_add(self, d: Duration) -> Self {
        Self(self.0.saturating_add(d.as_secs()))
    }

    /// How long from `earlier` to `self`; zero when `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_secs(self.0.saturating_sub(earlier.0))
    }

    /// The same moment as a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.0)
    }

    /// Seconds from `now` to this moment: negative once it has passed. For
    /// a page that says "in 4 minutes" or "2 minutes ago".
    pub fn seconds_from(self, now: Timestamp) -> i64 {
        let signed = |t: u64| i64::try_from(t).unwrap_or(i64::MAX);
        signed(self.0).saturating_sub(signed(now.0))
    }
}

impl From<Timestamp> for SystemTime {
    fn from(t: Timestamp) -> Self {
        t.to_system_time()
    }
}

impl From<SystemTime> for Timestamp {
    /// Times before 1970 become the epoch itself.
    fn from(t: SystemTime) -> Self {
        Self(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC, e.g. `2026-11-23T17:58:00Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0 / 86_400;
        let rem = self.0 % 86_400;
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )
    }
}

/// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_rfc3339() {
        for (secs, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_111_111_109, "2005-03-18T01:58:29Z"),
            (2_000_000_000, "2033-05-18T03:33:20Z"),
        ] {
            assert_eq!(Timestamp::from_unix_seconds(secs).to_string(), text);
        }
    }

    #[test]
    fn seconds_from_now_either_way() {
        let now = Timestamp::from_unix_seconds(1000);
        assert_eq!(Timestamp::from_unix_seconds(1240).seconds_from(now), 240);
        assert_eq!(Timestamp::from_unix_seconds(880).seconds_from(now), -120);
        let far = Timestamp::from_unix_seconds(u64::MAX);
        assert_eq!(far.seconds_from(now), i64::MAX - 1000);
        let t = Timestamp::from_unix_seconds(60);
        assert_eq!(SystemTime::from(t), UNIX_EPOCH + Duration::from_secs(60));
    }

    #[test]
    fn pre_epoch_system_time_is_epoch() {
        let t = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(Timestamp::from(t).unix_seconds(), 0);
    }
}
