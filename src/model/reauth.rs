//! What a factor change is re-authenticated with.

use std::fmt;

use secrecy::SecretString;

use crate::model::verdict::Grant;

/// What re-authenticates a change to the factors (the step-up rule).
///
/// While two-factor authentication is on (or suspended with the settings
/// kept), every call that adds, replaces, removes or weakens a way to pass
/// the second factor needs **the password and a current second factor**
/// ([`with_code`](Self::with_code): a code from an authenticator app, a
/// code sent with [`send_step_up_code`](crate::TwoFactor::send_step_up_code),
/// or an unused recovery code), or a live step-up [`grant`](Self::grant)
/// obtained with both. The password alone ([`password`](Self::password))
/// serves only while there is no factor yet: turning two-factor
/// authentication on for the first time.
///
/// `Debug` shows which kind it is, never the password, code or token.
#[derive(Clone, Copy)]
pub struct Reauth<'a>(pub(crate) Given<'a>);

/// The kinds of [`Reauth`].
#[derive(Clone, Copy)]
pub(crate) enum Given<'a> {
    Password(&'a SecretString),
    PasswordAndCode(&'a SecretString, &'a str),
    Grant(&'a SecretString),
}

impl<'a> Reauth<'a> {
    /// The account password alone: enough only while no factor is set up.
    pub fn password(password: &'a SecretString) -> Self {
        Self(Given::Password(password))
    }

    /// The password and a current second factor: a code from the app, a
    /// step-up code sent by email or text message, a recovery code (which
    /// is then used up), or a security key's answer to
    /// [`begin_key_step_up`](crate::TwoFactor::begin_key_step_up) as the
    /// JSON text the browser gave.
    pub fn with_code(password: &'a SecretString, code: &'a str) -> Self {
        Self(Given::PasswordAndCode(password, code))
    }

    /// A step-up grant's token, as kept in the user's session.
    pub fn grant(token: &'a SecretString) -> Self {
        Self(Given::Grant(token))
    }
}

impl<'a> From<&'a SecretString> for Reauth<'a> {
    fn from(password: &'a SecretString) -> Self {
        Self::password(password)
    }
}

impl<'a> From<&'a Grant> for Reauth<'a> {
    fn from(grant: &'a Grant) -> Self {
        Self::grant(&grant.token)
    }
}

impl fmt::Debug for Reauth<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Given::Password(_) => "Reauth::Password([REDACTED])",
            Given::PasswordAndCode(..) => "Reauth::PasswordAndCode([REDACTED])",
            Given::Grant(_) => "Reauth::Grant([REDACTED])",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_kind_only() {
        let pw = SecretString::from("hunter2hunter2");
        for (r, kind) in [
            (Reauth::password(&pw), "Password"),
            (Reauth::with_code(&pw, "123456"), "PasswordAndCode"),
            (Reauth::grant(&pw), "Grant"),
        ] {
            let shown = format!("{r:?}");
            assert!(shown.contains(kind), "{shown}");
            assert!(!shown.contains("hunter2") && !shown.contains("123456"));
        }
    }
}
