//! A clock a test or a demo moves by hand.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::model::time::Timestamp;
use crate::ports::Clock;

/// A clock that stands still until moved, for tests and demos.
///
/// Clones share the same time, so a test can keep one and hand another to
/// [`TwoFactor`](crate::TwoFactor).
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: Timestamp) -> Self {
        Self(Arc::new(AtomicU64::new(start.unix_seconds())))
    }

    /// Shows `t` from now on.
    pub fn set(&self, t: Timestamp) {
        self.0.store(t.unix_seconds(), Ordering::SeqCst);
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        self.0.fetch_add(d.as_secs(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_seconds(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_time() {
        let a = ManualClock::new(Timestamp::from_unix_seconds(100));
        let b = a.clone();
        a.advance(Duration::from_secs(30));
        assert_eq!(b.now().unix_seconds(), 130);
        b.set(Timestamp::from_unix_seconds(7));
        assert_eq!(a.now().unix_seconds(), 7);
    }
}
