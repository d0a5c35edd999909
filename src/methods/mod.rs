//! The building blocks each second factor is made of. Pure functions: no
//! I/O, no clock, no randomness of their own.

pub(crate) mod code;
pub(crate) mod limit;
pub(crate) mod phone;
pub(crate) mod qr;
pub(crate) mod random;
pub(crate) mod recovery;
pub(crate) mod seal;
pub(crate) mod token;
pub mod totp;
