//! The value types a host handles: accounts, time, what a call answers,
//! what a setup gives, what a page shows, messages and audit events.

pub(crate) mod account;
pub(crate) mod event;
pub(crate) mod import;
pub(crate) mod key;
pub(crate) mod message;
pub(crate) mod phone;
pub(crate) mod reauth;
pub(crate) mod requirement;
pub(crate) mod setup;
pub(crate) mod source;
pub(crate) mod status;
pub(crate) mod time;
pub(crate) mod verdict;
