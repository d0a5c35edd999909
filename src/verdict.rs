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
    /// No second factor is set up (or it is turned off with the settings
    /// kept): the user is in.
    NotRequired,
    /// The device's token is remembered: the user is in without a code.
    Trusted {
        /// The remembered device's id.
        device: String,
        /// When the device stops being remembered.
        until: Timestamp,
    },
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
    /// What was accepted.
    pub proof: Proof,
    /// The token to keep in a cookie, when the device was to be remembered.
    pub device: Option<RememberedDevice>,
}

impl Verified {
    /// The method whose code was accepted; `None` for a recovery code.
    pub fn method(&self) -> Option<Method> {
        match self.proof {
            Proof::Code(m) => Some(m),
            Proof::RecoveryCode { .. } => None,
        }
    }
}

/// What a login was proved with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Proof {
    /// A code of this method.
    Code(Method),
    /// A recovery code, now used up.
    RecoveryCode {
        /// Recovery codes left.
        left: usize,
    },
}

/// A device to remember: set [`token`](Self::token) in a long-lived,
/// `HttpOnly`, `Secure`, `SameSite=Lax` cookie and pass it to
/// [`begin_login`](crate::TwoFactor::begin_login).
///
/// Two are equal when their ids and expiry are (the id comes from the
/// token's keyed hash; the token itself is not compared).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RememberedDevice {
    /// 256 random bits, URL-safe; only a keyed hash of it is stored.
    pub token: secrecy::SecretString,
    /// The device's id, for listing and revoking.
    pub id: String,
    /// When it stops being remembered.
    pub expires: Timestamp,
}

/// A remembered device, as an account page lists it. Holds no token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceInfo {
    /// Its id, for [`revoke_device`](crate::TwoFactor::revoke_device).
    pub id: String,
    /// The label given when it was remembered (e.g. "Firefox on Linux").
    pub label: String,
    /// When it was remembered.
    pub created: Timestamp,
    /// When it stops being remembered.
    pub expires: Timestamp,
    /// When it last skipped the code.
    pub last_used: Option<Timestamp>,
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

impl PartialEq for RememberedDevice {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.expires == other.expires
    }
}

impl Eq for RememberedDevice {}
