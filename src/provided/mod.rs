//! The implementations of ports the crate provides as defaults, or for a
//! host to use: the system clock, audit events on `tracing`, argon2id
//! passwords, administrator policies. Stores and senders have modules of
//! their own.

pub(crate) mod admins;
pub(crate) mod offload;
pub(crate) mod passwords;
pub(crate) mod requirements;
#[cfg(feature = "webauthn")]
pub(crate) mod security_keys;
pub(crate) mod system_clock;
pub(crate) mod tracing_events;
