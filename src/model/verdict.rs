//! The answer to anything a person types: a code, a password.

use std::time::Duration;

use crate::model::status::Method;
use crate::model::time::Timestamp;

/// What became of a code or password: accepted, refused, or not even looked
/// at because the account is locked out or the request's source is
/// throttled. A wrong answer is an outcome, not an [`Error`](crate::Error).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Verdict<T> {
    /// Right: here is what it unlocked.
    Accepted(T),
    /// Wrong, malformed, expired or already used; counted as a failure.
    Rejected {
        /// Failures left before the account locks.
        attempts_left: u32,
        /// Why, in a form fit to show the user (see [`Rejection`]).
        reason: Rejection,
    },
    /// Too many failures on this account: nothing is evaluated until
    /// `until`.
    LockedOut {
        /// When attempts are taken again.
        until: Timestamp,
    },
    /// Too many failures from this request's [`Source`](crate::Source),
    /// across accounts: nothing was evaluated. Other sources are not held
    /// back, and the account is not locked.
    Throttled {
        /// When attempts from this source are taken again.
        until: Timestamp,
    },
}

/// What became of the host's own sign-in password check, run through
/// [`TwoFactor::check_sign_in`](crate::TwoFactor::check_sign_in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignInCheck {
    /// The password was right.
    Right,
    /// The password was wrong (or the user unknown); counted against the
    /// request's source.
    Wrong,
    /// Too many failures from this request's source, across accounts:
    /// the password was not checked.
    Throttled {
        /// When attempts from this source are taken again.
        until: Timestamp,
    },
}

/// Why an answer was rejected. Every reason is safe to show the user: none
/// tells a guesser more than "wrong" would, since an expired or used code
/// cannot be used again either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rejection {
    /// Not the code: "Wrong code."
    WrongCode,
    /// The account password given to re-authenticate was wrong: "Wrong
    /// password."
    WrongPassword,
    /// A sent code that was right but is no longer valid (expired, or
    /// replaced by a newer one): "This code has expired: send a new one."
    Expired,
    /// An authenticator-app code that was right but was already used (or
    /// an earlier one was used after it): "This code was already used: wait
    /// for the next one."
    Replayed,
    /// Not a code at all (wrong length, not digits): "Codes are 6 digits."
    Malformed,
}

impl Rejection {
    /// A stable snake_case name, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::WrongCode => "wrong_code",
            Rejection::WrongPassword => "wrong_password",
            Rejection::Expired => "expired",
            Rejection::Replayed => "replayed",
            Rejection::Malformed => "malformed",
        }
    }
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

    /// What it unlocked, or the refusal as a verdict of any type.
    fn split<U>(self) -> Result<T, Verdict<U>> {
        match self {
            Verdict::Accepted(t) => Ok(t),
            Verdict::Rejected {
                attempts_left,
                reason,
            } => Err(Verdict::Rejected {
                attempts_left,
                reason,
            }),
            Verdict::LockedOut { until } => Err(Verdict::LockedOut { until }),
            Verdict::Throttled { until } => Err(Verdict::Throttled { until }),
        }
    }

    /// The refusal, as a verdict of any type; `None` when it was accepted.
    pub(crate) fn refused<U>(self) -> Option<Verdict<U>> {
        self.split().err()
    }

    /// The same verdict with what an acceptance unlocked mapped by `f`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Verdict<U> {
        match self.split() {
            Ok(t) => Verdict::Accepted(f(t)),
            Err(refused) => refused,
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
        /// As [`Verified::setup_due`]: when the host requires a stronger
        /// method than the account has, what to set up.
        setup_due: Option<crate::model::requirement::SetupDue>,
    },
    /// Ask for a code, then call
    /// [`verify_login`](crate::TwoFactor::verify_login).
    Challenge {
        /// The method whose code to ask for (the primary).
        method: Method,
        /// For an emailed or texted code: where it went.
        sent: Option<Sent>,
        /// Other methods set up the user may ask for instead, with
        /// [`send_code`](crate::TwoFactor::send_code) ("Send SMS code").
        alternatives: Vec<Method>,
        /// For an emailed or texted primary whose code a send limit held
        /// back (`sent` is `None`): how long until one can be sent. The
        /// challenge stands: the user may type a code from another method
        /// or a recovery code meanwhile, or ask again later.
        retry_after: Option<Duration>,
        /// When the account has security keys: the options for the
        /// browser's `navigator.credentials.get`, whatever the primary.
        key: Option<crate::model::key::KeyRequest>,
    },
    /// No second factor is in force, and one must be set up: the host's
    /// [`Requirement`](crate::Requirement), or an administrator's reset
    /// that asks for a new setup. While `grace_until` is ahead, the user
    /// may still be let in (remind them); when it is `None`, let them in to
    /// the setup page only, and call
    /// [`begin_setup`](crate::TwoFactor::begin_setup) with the password.
    SetupRequired {
        /// What the method must be.
        strength: crate::model::requirement::Strength,
        /// The end of the grace period, while it runs.
        grace_until: Option<Timestamp>,
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
    /// When the host requires a stronger method than the account has (an
    /// app where only email or SMS is set up): send the user to set one
    /// up, at once when no grace is left.
    pub setup_due: Option<crate::model::requirement::SetupDue>,
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

/// A step-up grant ("sudo mode"), from
/// [`step_up`](crate::TwoFactor::step_up): for a few minutes it stands in
/// for the password and a second factor on factor changes.
///
/// The host MUST keep [`token`](Self::token) server-side in that user's
/// session only (never in a URL, a log, or a cookie readable by scripts),
/// pass it as [`Reauth::grant`](crate::Reauth::grant) to the changes the user
/// makes within the window, and drop it at sign-out (calling
/// [`revoke_step_up`](crate::TwoFactor::revoke_step_up)). Only a keyed hash
/// of it is stored. `Debug` shows no token.
#[derive(Clone)]
#[non_exhaustive]
pub struct Grant {
    /// 256 random bits, URL-safe.
    pub token: secrecy::SecretString,
    /// When it stops authorising changes.
    pub expires: Timestamp,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("token", &"[REDACTED]")
            .field("expires", &self.expires)
            .finish()
    }
}

impl PartialEq for RememberedDevice {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.expires == other.expires
    }
}

impl Eq for RememberedDevice {}
