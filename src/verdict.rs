//! The answer to anything a person types: a code, a password.

use crate::clock::Timestamp;
use crate::status::Method;

/// What became of a code or password: accepted, refused, or not even looked
/// at because the account is locked out. A wrong answer is an outcome, not an
/// [`Error`](crate::Error).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Verdict<T> {
    /// Right: here is what it unlocked.
    Accepted(T),
    /// Wrong, malformed, expired or already used; counted as a failure.
    Rejected {
        /// Failures left before the account locks.
        attempts_left: u32,
    },
    /// Too many failures: nothing is evaluated until `until`.
    LockedOut {
        /// When attempts are taken again.
        until: Timestamp,
    },
}

impl<T> Verdict<T> {
    /// Whether it was accepted.
    pub fn is_accepted(&self) -> bool {
        matches!(self, Verdict::Accepted(_))
    }

    /// What it unlocked, if it was accepted.
    pub fn accepted(self) -> Option<T> {
        match self {
            Verdict::Accepted(t) => Some(t),
            _ => None,
        }
    }
}

/// What the login page does after the password was right.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginStep {
    /// No second factor is set up: the user is in.
    NotRequired,
    /// Ask for a code, then call
    /// [`verify_login`](crate::TwoFactor::verify_login).
    Challenge {
        /// The method whose code to ask for (the primary).
        method: Method,
        /// For an emailed or texted code: where it went.
        sent: Option<Sent>,
        /// Other enrolled methods the user may ask for instead, with
        /// [`send_code`](crate::TwoFactor::send_code) ("Send SMS code").
        alternatives: Vec<Method>,
    },
    /// Too many failures: tell the user to wait until `until`.
    LockedOut {
        /// When attempts are taken again.
        until: Timestamp,
    },
}

/// A login's second factor was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    /// The method whose code was accepted.
    pub method: Method,
}

/// A code was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sent {
    /// How.
    pub method: Method,
    /// Where, masked: `j•••@example.com`, `+60 ••• ••• 1688`.
    pub to: String,
    /// When the code stops working.
    pub expires: Timestamp,
}
