//! The one error type of the crate.
//!
//! A wrong code or password is not an error: it is a
//! [`Verdict::Rejected`](crate::Verdict::Rejected). Errors are for misuse,
//! a call in the wrong state, a broken stored record, and infrastructure
//! failure. No message names an account, an address, a code or a secret.

use std::error::Error as StdError;
use std::fmt;

/// Everything that can go wrong, apart from a wrong answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two-factor authentication is not on for this account, so there is
    /// nothing to verify or disable.
    #[error("two-factor authentication is not enabled for this account")]
    NotEnabled,
    /// Two-factor authentication is already on for this account.
    #[error("two-factor authentication is already enabled for this account")]
    AlreadyEnabled,
    /// There is no setup to confirm: none was begun, or it expired.
    #[error("no setup is pending for this account, or it has expired")]
    NoPendingSetup,
    /// The method is not set up for this account.
    #[error("that method is not set up for this account")]
    MethodNotSetUp,
    /// The method is already set up for this account.
    #[error("that method is already set up for this account")]
    MethodAlreadySetUp,
    /// The call does not apply to that method: an authenticator app's codes
    /// are not sent, and the primary method cannot be removed.
    #[error("that cannot be done with that method")]
    WrongMethod,
    /// A number that is not a mobile number in E.164 form (`+` and 7 to 15
    /// digits).
    #[error("not a phone number in international form (+ country code and number)")]
    InvalidPhoneNumber,
    /// No code was sent: too many were asked for (of this account, to this
    /// destination, or from this source), or the account is locked out
    /// (then `retry_after` is until the lockout ends). Try after
    /// `retry_after`.
    #[error("no code can be sent now; try again in {} s", retry_after.as_secs())]
    RateLimited {
        /// How long until a code can be sent.
        retry_after: std::time::Duration,
    },
    /// A code could not be delivered. The code was saved first and stays
    /// valid (it may yet arrive); asking again is subject to the send limits.
    #[error("the code could not be delivered")]
    Delivery(#[source] PortError),
    /// The change needs the password and a current second factor, or a live
    /// step-up grant (the step-up rule; see [`Reauth`](crate::Reauth)), and
    /// was given less: the password alone, or a grant that expired, was
    /// revoked or is another account's. Nothing was evaluated or counted:
    /// ask for a second factor.
    #[error("this change needs the password and a current second factor, or a step-up grant")]
    StepUpRequired,
    /// Two-factor authentication is required of this account (see
    /// [`Requirement`](crate::Requirement)), and the change would leave it
    /// without an adequate method: turn another on first. Nothing was
    /// evaluated.
    #[error("two-factor authentication is required for this account")]
    Required,
    /// An administrator's act was refused before anything was evaluated:
    /// the [`AdminPolicy`](crate::AdminPolicy) does not allow it, the
    /// administrator has no second factor on, or acted on their own account.
    #[error("not permitted")]
    NotPermitted,
    /// An administrator's reason is required: 1 to 500 characters, not
    /// blank.
    #[error("a reason of 1 to 500 characters is required")]
    InvalidReason,
    /// A secret to import is not one the policy accepts, or its URI is not
    /// a key URI: the reason says which (never the secret).
    #[error("cannot import the secret: {0}")]
    InvalidImport(&'static str),
    /// No remembered device has that id.
    #[error("no remembered device has that id")]
    NoSuchDevice,
    /// No authenticator of this account has that id.
    #[error("no authenticator has that id")]
    NoSuchAuthenticator,
    /// The account holds as many authenticators of this kind as the policy
    /// allows ([`AuthenticatorPolicy`](crate::AuthenticatorPolicy)): remove
    /// one first.
    #[error("no more authenticators of this kind can be added (at most {max})")]
    TooManyAuthenticators {
        /// The most the policy allows.
        max: usize,
    },
    /// An authenticator's label must be 1 to 64 characters, not blank, with
    /// no control characters.
    #[error("a label of 1 to 64 characters, without control characters, is required")]
    InvalidLabel,
    /// The account's id or label, or the issuer, cannot be used.
    #[error("invalid account or issuer: {0}")]
    InvalidAccount(&'static str),
    /// The stored record could not be decoded.
    #[error("the stored two-factor record is corrupt")]
    CorruptRecord(#[source] Box<dyn StdError + Send + Sync>),
    /// The stored record was written by a newer, unknown schema version.
    #[error("the stored two-factor record has unsupported schema version {0}")]
    UnsupportedSchema(u32),
    /// A sealed secret did not open: the record was altered or copied from
    /// another account.
    #[error("a stored secret could not be unsealed")]
    Unseal,
    /// A stored secret was sealed under a master key this instance does not
    /// have: a previous key was dropped before every record was sealed
    /// again under the current one (see
    /// [`TwoFactor::rotate_keys`](crate::TwoFactor::rotate_keys)), or the
    /// wrong key was configured.
    #[error("a stored secret was sealed under a master key that is not configured")]
    UnknownKey,
    /// Other requests kept changing the same account; nothing was changed by
    /// this one. Retrying later may succeed.
    #[error("too many concurrent changes to one account")]
    Contention,
    /// The operating system's random number generator failed.
    #[error("the random number generator failed")]
    Random,
    /// Slow work (an argon2id computation) handed to the
    /// [`Offload`](crate::Offload) did not complete.
    #[error("slow work did not complete")]
    Offload,
    /// The [`UserStore`](crate::UserStore) failed.
    #[error("the two-factor store failed")]
    Store(#[source] PortError),
    /// The [`PasswordCheck`](crate::PasswordCheck) failed (not a wrong
    /// password: that is a rejection).
    #[error("the password check failed")]
    Password(#[source] PortError),
    /// [`TwoFactor::builder`](crate::TwoFactor::builder) was not given what
    /// it needs.
    #[error("configuration: {0}")]
    Config(&'static str),
}

/// A value from a form or a URL that names none of the choices (of
/// [`Method`](crate::Method) or [`Keep`](crate::Keep)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected one of: {expected}")]
pub struct ParseError {
    expected: &'static str,
}

impl ParseError {
    pub(crate) fn expected(expected: &'static str) -> Self {
        ParseError { expected }
    }
}

/// What kind of thing went wrong: the branches of the error tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The call did not have what it needs to be allowed: a step-up, an
    /// administrator's permission. Ask for it; retrying as is will not help.
    Authority,
    /// The call does not fit the account's state (not on, already on,
    /// nothing pending, a method not set up), or must wait (a send limit).
    State,
    /// What the call was given cannot be used: an account id, a number, a
    /// reason.
    Input,
    /// A stored record cannot be read or opened.
    Record,
    /// Something the host plugged in failed (the store, the password check,
    /// a sender), or the machine did (randomness, slow work), or too many
    /// requests changed one account at once.
    Port,
    /// The builder was not given what it needs.
    Config,
}

impl Error {
    /// Which branch of the error tree this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::StepUpRequired | Error::NotPermitted => ErrorKind::Authority,
            Error::NotEnabled
            | Error::AlreadyEnabled
            | Error::NoPendingSetup
            | Error::MethodNotSetUp
            | Error::MethodAlreadySetUp
            | Error::WrongMethod
            | Error::NoSuchDevice
            | Error::NoSuchAuthenticator
            | Error::TooManyAuthenticators { .. }
            | Error::Required
            | Error::RateLimited { .. } => ErrorKind::State,
            Error::InvalidPhoneNumber
            | Error::InvalidAccount(_)
            | Error::InvalidReason
            | Error::InvalidLabel
            | Error::InvalidImport(_) => ErrorKind::Input,
            Error::CorruptRecord(_)
            | Error::UnsupportedSchema(_)
            | Error::Unseal
            | Error::UnknownKey => ErrorKind::Record,
            Error::Delivery(_)
            | Error::Contention
            | Error::Random
            | Error::Offload
            | Error::Store(_)
            | Error::Password(_) => ErrorKind::Port,
            Error::Config(_) => ErrorKind::Config,
        }
    }

    /// Whether the same call may succeed if tried again later, as it is.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Contention | Error::RateLimited { .. } | Error::Offload => true,
            Error::Store(e) | Error::Password(e) | Error::Delivery(e) => e.is_transient(),
            _ => false,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failure of something the host plugged in: a store, a password
/// verifier, a sender. It keeps its cause and says whether a retry may help.
pub struct PortError {
    transient: bool,
    source: Box<dyn StdError + Send + Sync>,
}

impl PortError {
    /// A failure that may pass: a timeout, a dropped connection, a busy server.
    pub fn transient(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            transient: true,
            source: source.into(),
        }
    }

    /// A failure that will happen again: bad credentials, a refused request.
    pub fn permanent(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            transient: false,
            source: source.into(),
        }
    }

    /// Whether a retry may help.
    pub fn is_transient(&self) -> bool {
        self.transient
    }
}

impl fmt::Debug for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortError")
            .field("transient", &self.transient)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.transient {
            "transient"
        } else {
            "permanent"
        };
        write!(f, "{kind} failure")
    }
}

impl StdError for PortError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(self.source.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transience_follows_the_port() {
        let io = || std::io::Error::other("down");
        assert!(Error::Store(PortError::transient(io())).is_transient());
        assert!(!Error::Store(PortError::permanent(io())).is_transient());
        assert!(Error::Contention.is_transient());
        assert!(!Error::NotEnabled.is_transient());
        assert!(!Error::StepUpRequired.is_transient());
        assert_eq!(Error::StepUpRequired.kind(), ErrorKind::Authority);
        assert_eq!(Error::UnknownKey.kind(), ErrorKind::Record);
        assert_eq!(Error::InvalidReason.kind(), ErrorKind::Input);
    }

    #[test]
    fn port_error_keeps_its_source() {
        let e = Error::Store(PortError::transient(std::io::Error::other("db gone")));
        let port = e.source().map(|s| s.to_string());
        assert_eq!(port.as_deref(), Some("transient failure"));
        let root = e.source().and_then(|s| s.source()).map(|s| s.to_string());
        assert_eq!(root.as_deref(), Some("db gone"));
    }
}
