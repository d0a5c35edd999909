//! The limits that hold across accounts, as pure functions of a counter
//! document: codes sent to one destination, codes sent and failed attempts
//! from one source. Each counter is a small fixed-size document (two
//! windows), so it stays bounded however hot its key; it is saved with the
//! store's compare-and-swap like a record, and is no longer needed once
//! both windows have passed.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::crypto::limit_key::Counted;
use crate::error::{Error, Result};
use crate::model::time::Timestamp;
use crate::policy::LimitPolicy;

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

/// The counter document's schema version.
const SCHEMA: u32 = 1;

/// Events in the current hour and the current day, each window starting
/// with its first event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Counter {
    schema: u32,
    hour: Window,
    day: Window,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Window {
    start: Timestamp,
    count: u32,
}

impl Default for Window {
    fn default() -> Self {
        Self {
            start: Timestamp::from_unix_seconds(0),
            count: 0,
        }
    }
}

impl Window {
    /// The window as it stands at `now`: a new one, starting now, when it
    /// is empty or `length` passed.
    fn at(self, now: Timestamp, length: Duration) -> Self {
        if self.count == 0 || now >= self.start.saturating_add(length) {
            Window {
                start: now,
                count: 0,
            }
        } else {
            self
        }
    }
}

impl Default for Counter {
    fn default() -> Self {
        Self {
            schema: SCHEMA,
            hour: Window::default(),
            day: Window::default(),
        }
    }
}

/// The hourly and daily limits for what `counted` counts.
pub(crate) fn limits(counted: Counted, policy: &LimitPolicy) -> (u32, u32) {
    match counted {
        Counted::Destination => (policy.destination_per_hour, policy.destination_per_day),
        Counted::SourceSends => (policy.source_sends_per_hour, policy.source_sends_per_day),
        Counted::SourceFailures => (
            policy.source_failures_per_hour,
            policy.source_failures_per_day,
        ),
    }
}

impl Counter {
    /// A stored counter; an unreadable one is a typed error.
    pub(crate) fn decode(document: &[u8]) -> Result<Self> {
        match postcard::take_from_bytes::<Counter>(document) {
            Ok((counter, [])) if counter.schema == SCHEMA => Ok(counter),
            Ok((counter, [])) => Err(Error::UnsupportedSchema(counter.schema)),
            Ok(_) => Err(Error::CorruptRecord("bytes after the counter".into())),
            Err(e) => Err(Error::CorruptRecord(Box::new(e))),
        }
    }

    /// The counter as a stored document.
    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
        postcard::to_allocvec(self).map_err(|e| Error::CorruptRecord(Box::new(e)))
    }

    /// Until when the limits refuse another event at `now`, if they do.
    pub(crate) fn full_until(
        &self,
        now: Timestamp,
        (hourly, daily): (u32, u32),
    ) -> Option<Timestamp> {
        let hour = self.hour.at(now, HOUR);
        let day = self.day.at(now, DAY);
        let by_hour = (hour.count >= hourly).then(|| hour.start.saturating_add(HOUR));
        let by_day = (day.count >= daily).then(|| day.start.saturating_add(DAY));
        by_hour.max(by_day)
    }

    /// Counts one event at `now`, unless the limits refuse it: then until
    /// when, and nothing changes.
    pub(crate) fn take(&mut self, now: Timestamp, limits: (u32, u32)) -> Result<(), Timestamp> {
        if let Some(until) = self.full_until(now, limits) {
            return Err(until);
        }
        self.hour = self.hour.at(now, HOUR);
        self.day = self.day.at(now, DAY);
        self.hour.count = self.hour.count.saturating_add(1);
        self.day.count = self.day.count.saturating_add(1);
        Ok(())
    }

    /// Takes back one event counted at `taken` (an attempt that turned out
    /// not to be a failure), from the windows it is still in.
    pub(crate) fn give_back(&mut self, taken: Timestamp) {
        for (window, length) in [(&mut self.hour, HOUR), (&mut self.day, DAY)] {
            if window.start <= taken && taken < window.start.saturating_add(length) {
                window.count = window.count.saturating_sub(1);
            }
        }
    }

    /// When the store may forget it: both windows have passed.
    pub(crate) fn expires(&self) -> Timestamp {
        self.hour
            .start
            .saturating_add(HOUR)
            .max(self.day.start.saturating_add(DAY))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64) -> Timestamp {
        Timestamp::from_unix_seconds(secs)
    }

    #[test]
    fn hourly_then_daily_limits_hold() {
        let mut c = Counter::default();
        let limits = (5, 10);
        for i in 0..5 {
            assert_eq!(c.take(t(1000 + i), limits), Ok(()));
        }
        assert_eq!(c.take(t(1100), limits), Err(t(1000 + 3600)));
        let before = c;
        assert_eq!(c.take(t(1200), limits), Err(t(4600)));
        assert_eq!(c, before, "a refusal counts nothing");
        for i in 0..5 {
            assert_eq!(c.take(t(4600 + i), limits), Ok(()));
        }
        // ten in the day: the day's window decides now
        assert_eq!(c.take(t(8300), limits), Err(t(1000 + 86_400)));
        assert_eq!(c.take(t(1000 + 86_400), limits), Ok(()));
    }

    #[test]
    fn given_back_only_in_its_window_and_it_expires() {
        let mut c = Counter::default();
        c.take(t(100), (5, 10)).unwrap();
        c.take(t(200), (5, 10)).unwrap();
        c.give_back(t(200));
        assert_eq!((c.hour.count, c.day.count), (1, 1));
        c.give_back(t(50)); // before both windows
        assert_eq!((c.hour.count, c.day.count), (1, 1));
        // the hour's window ends at its start + 1 h: that second is the
        // day's only
        c.give_back(t(100 + 3600));
        assert_eq!((c.hour.count, c.day.count), (1, 0));
        assert_eq!(c.expires(), t(100 + 86_400));
        let doc = c.encode().unwrap();
        assert!(doc.len() < 32, "bounded: {} bytes", doc.len());
        assert_eq!(Counter::decode(&doc).unwrap(), c);
        assert!(Counter::decode(b"\x01").is_err());
        assert!(matches!(
            Counter::decode(&[9, 0, 0, 0, 0]),
            Err(Error::UnsupportedSchema(9))
        ));
    }
}
