//! Every sentence the pages show for a verdict, an error or a success, in
//! one place. Page wording lives in the templates. The emails and texts
//! the service sends are [`Message`](crate::Message)s: a host's
//! [`EmailSender`](crate::EmailSender) or [`SmsSender`](crate::SmsSender)
//! words them in its own language from their fields (the English wording
//! is `Message::subject`, `text` and `html`).

use std::time::Duration;

use crate::error::Error;
use crate::model::setup::Keep;
use crate::model::time::Timestamp;
use crate::model::verdict::{Rejection, Sent};

/// What went right, for [`Texts::done`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Done {
    /// The second factor was confirmed for changes (a step-up).
    SteppedUp,
    /// A new method or authenticator is on.
    SetUp,
    /// The pending setup was dropped.
    Cancelled,
    /// Turned off.
    Disabled(Keep),
    /// Turned back on with the kept settings.
    Reenabled,
    /// An authenticator or method was removed.
    Removed,
    /// The primary method changed.
    Primary,
    /// A remembered device was forgotten.
    DeviceRevoked,
    /// An administrator deleted a user's setup.
    Reset,
    /// An administrator lifted a lockout.
    Unlocked,
}

/// The messages of the web layer. Every method has an English default;
/// implement the ones to change (or all, for another language) and give
/// the implementation to [`WebBuilder::texts`](super::WebBuilder::texts).
///
/// ```
/// use twofactor::axum::Texts;
/// struct German;
/// impl Texts for German {
///     fn rejected(&self, _: twofactor::Rejection, left: u32) -> String {
///         format!("Falscher Code. Noch {left} Versuche.")
///     }
/// }
/// assert_eq!(German.rejected(twofactor::Rejection::WrongCode, 3), "Falscher Code. Noch 3 Versuche.");
/// ```
pub trait Texts: Send + Sync {
    /// A wrong, expired, used or malformed answer.
    fn rejected(&self, reason: Rejection, attempts_left: u32) -> String {
        let what = match reason {
            Rejection::WrongPassword => "Wrong password.",
            Rejection::Expired => "Code expired: send a new one.",
            Rejection::Replayed => "That code was already used: wait for the next one.",
            Rejection::Malformed => {
                "That is not a code: codes are 6 digits, recovery codes 12 characters."
            }
            _ => "Wrong code.",
        };
        match attempts_left {
            1 => format!("{what} 1 try left."),
            n => format!("{what} {n} tries left."),
        }
    }

    /// The account is locked out until `until`.
    fn locked_out(&self, until: Timestamp) -> String {
        format!("Too many attempts: try again at {}.", clock(until))
    }

    /// Too many failures from this client, across accounts.
    fn throttled(&self, until: Timestamp) -> String {
        format!(
            "Too many attempts from your network: try again at {}.",
            clock(until)
        )
    }

    /// A code was sent.
    fn sent(&self, sent: &Sent) -> String {
        format!("We sent a code to {}.", sent.to)
    }

    /// A code could not be sent yet.
    fn wait(&self, retry_after: Duration) -> String {
        format!(
            "A code was sent recently: you can ask for another in {}.",
            span(retry_after)
        )
    }

    /// Something went right.
    fn done(&self, done: Done) -> String {
        match done {
            Done::SteppedUp => "Confirmed: you can change your security settings for the next few minutes.",
            Done::SetUp => "Two-factor authentication is set up.",
            Done::Cancelled => "The setup was cancelled; nothing changed.",
            Done::Disabled(Keep::Settings) => "Two-factor authentication is off. Your settings are kept: turn it back on at any time.",
            Done::Disabled(_) => "Two-factor authentication is off, and its settings are deleted.",
            Done::Reenabled => "Two-factor authentication is back on.",
            Done::Removed => "Removed.",
            Done::Primary => "Your login now asks for this method first.",
            Done::DeviceRevoked => "That device will be asked for a code again.",
            Done::Reset => "The user's two-factor setup is deleted.",
            Done::Unlocked => "The user can try again now.",
        }
        .to_owned()
    }

    /// An error, said to the user. Infrastructure failures say only that
    /// something failed (the details go to the host's logs).
    fn error(&self, error: &Error) -> String {
        match error {
            Error::NotEnabled => "Two-factor authentication is not on.",
            Error::AlreadyEnabled => "Two-factor authentication is already on.",
            Error::NoPendingSetup => "That setup has expired: start again.",
            Error::MethodNotSetUp => "That method is not set up.",
            Error::MethodAlreadySetUp => "That method is already set up.",
            Error::WrongMethod => "That cannot be done with that method.",
            Error::InvalidPhoneNumber => {
                "Enter the mobile number with its country code, e.g. +44 7700 900123."
            }
            Error::RateLimited { retry_after } => return self.wait(*retry_after),
            Error::Delivery(_) => "The code could not be sent: try again, or use another method.",
            Error::StepUpRequired => "Confirm it's you first: your password and a current code.",
            Error::Required => "Two-factor authentication is required for your account.",
            Error::NotPermitted => "Not permitted.",
            Error::InvalidReason => "Give a reason (up to 500 characters).",
            Error::NoSuchDevice => "That device is not remembered.",
            Error::NoSuchAuthenticator => "That authenticator is not set up.",
            Error::TooManyAuthenticators { .. } => {
                "You have as many of those as can be added: remove one first."
            }
            Error::InvalidLabel => "Give it a name of 1 to 64 characters.",
            Error::InvalidAccount(_) => "That account cannot use two-factor authentication.",
            Error::Contention => "Too many changes at once: try again.",
            _ => "Something went wrong on our side: try again in a moment.",
        }
        .to_owned()
    }
}

/// The default messages, in English.
#[derive(Debug, Clone, Copy, Default)]
pub struct English;

impl Texts for English {}

/// "2026-12-02".
pub(crate) fn day(t: Timestamp) -> String {
    t.to_string().get(..10).unwrap_or_default().to_owned()
}

/// "14:05 UTC".
pub(crate) fn clock(t: Timestamp) -> String {
    let text = t.to_string();
    format!("{} UTC", text.get(11..16).unwrap_or(&text))
}

/// "2 minutes", "40 seconds".
fn span(d: Duration) -> String {
    match d.as_secs() {
        0..=1 => "a second".to_owned(),
        s @ 2..=59 => format!("{s} seconds"),
        60..=119 => "a minute".to_owned(),
        s => format!("{} minutes", s.div_ceil(60)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences() {
        let t = English;
        assert_eq!(
            t.rejected(Rejection::WrongCode, 3),
            "Wrong code. 3 tries left."
        );
        assert_eq!(
            t.rejected(Rejection::WrongCode, 1),
            "Wrong code. 1 try left."
        );
        assert_eq!(
            t.rejected(Rejection::Expired, 2),
            "Code expired: send a new one. 2 tries left."
        );
        assert_eq!(
            t.locked_out(Timestamp::from_unix_seconds(1_764_684_300)),
            "Too many attempts: try again at 14:05 UTC."
        );
        assert_eq!(span(Duration::from_secs(30)), "30 seconds");
        assert_eq!(span(Duration::from_secs(61)), "a minute");
        assert_eq!(span(Duration::from_secs(600)), "10 minutes");
        assert_eq!(
            t.error(&Error::RateLimited {
                retry_after: Duration::from_secs(30)
            }),
            "A code was sent recently: you can ask for another in 30 seconds."
        );
    }
}
