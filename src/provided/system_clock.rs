//! The operating system's wall clock.

use std::time::SystemTime;

use crate::model::time::Timestamp;
use crate::ports::Clock;

/// The operating system's wall clock: the default [`Clock`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        SystemTime::now().into()
    }
}
