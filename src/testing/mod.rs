//! Helpers for a host's tests and demos: a clock to move by hand, a sender
//! that keeps every message, a player of the user's authenticator app, and
//! the conformance suite for a store of the host's own.

mod authenticator;
mod manual_clock;
mod recorder;

pub use crate::store::conformance;
pub use authenticator::Authenticator;
pub use manual_clock::ManualClock;
pub use recorder::{Recorded, Recorder};
