//! The names most hosts use, in one import: `use twofactor::prelude::*;`.
//!
//! The service and its builder, the values its calls take and answer, the
//! error, the password check provided, and the [`Clock`] trait (so that
//! `clock.now()` works on any clock). It leaves out `Result`, so that it
//! does not shadow the standard one.

#[cfg(feature = "memory")]
pub use crate::MemoryStore;
pub use crate::{
    Account, Argon2Passwords, AuthenticatorInfo, Clock, Error, Grant, Keep, KeyRequest, LoginStep,
    MasterKey, Method, NewMethod, PhoneNumber, Policy, Reauth, Rejection, Response, Setup, Source,
    Status, Timestamp, TwoFactor, Verdict,
};
#[cfg(feature = "webauthn")]
pub use crate::{Attestation, SecurityKeys};
