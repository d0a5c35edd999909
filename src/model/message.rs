//! What the library sends people, as data a host may render its own way.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::model::status::Method;
use crate::model::time::Timestamp;

/// What a one-time code is for. A code is good for its purpose only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Purpose {
    /// Proving a new email address or number during setup.
    Setup,
    /// The second step of a login.
    Login,
    /// Re-authenticating for a change of factors (a step-up).
    StepUp,
}

impl Purpose {
    /// A stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Setup => "setup",
            Purpose::Login => "login",
            Purpose::StepUp => "step_up",
        }
    }
}

/// Something to tell a user by email or text message.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Message {
    /// A one-time code. `Debug` does not show it.
    Code(CodeMessage),
    /// The account's security settings changed. Carries no code or secret.
    Notice(Notice),
}

/// A one-time code to deliver.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CodeMessage {
    /// The code.
    pub code: SecretString,
    /// What it is for.
    pub purpose: Purpose,
    /// How it is sent.
    pub method: Method,
    /// How long it is valid.
    pub valid_for: Duration,
    /// The service's name (the issuer).
    pub issuer: String,
}

/// A security notice: what changed, when, and for which service.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Notice {
    /// What changed.
    pub change: Change,
    /// When.
    pub at: Timestamp,
    /// The service's name (the issuer).
    pub issuer: String,
    /// How it is sent: [`Method::Email`] to the account's address, or
    /// [`Method::Sms`] to a number that no longer receives codes (a number
    /// replaced or removed is told too, so that its owner learns of a
    /// change made by someone else).
    pub via: Method,
}

/// A change to an account's security settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// Two-factor authentication was turned on with this method.
    Enabled(Method),
    /// Two-factor authentication was turned off.
    Disabled,
    /// Logins now ask for this method first.
    PrimaryChanged(Method),
    /// This method was added as a fallback.
    FallbackAdded(Method),
    /// This fallback method was removed.
    FallbackRemoved(Method),
    /// One authenticator of this kind was removed (others may remain).
    AuthenticatorRemoved(Method),
    /// Codes are now texted to a new number.
    PhoneChanged,
    /// Turned off, with the settings kept for turning it back on.
    Suspended,
    /// A recovery code was used to log in.
    RecoveryCodeUsed {
        /// Recovery codes left.
        left: usize,
    },
    /// A new set of recovery codes was made; the old codes no longer work.
    RecoveryCodesRegenerated,
    /// A device will skip the code for a while.
    DeviceRemembered,
    /// An administrator deleted the setup.
    AdminReset,
    /// An administrator lifted a lockout.
    Unlocked,
}

impl Message {
    /// A default subject line (for email).
    pub fn subject(&self) -> String {
        match self {
            Message::Code(c) => format!("{}: your verification code", c.issuer),
            Message::Notice(n) => {
                let what = match n.change {
                    Change::Enabled(_) => "two-factor authentication turned on",
                    Change::Disabled => "two-factor authentication turned off",
                    Change::PrimaryChanged(_) => "two-factor login method changed",
                    Change::FallbackAdded(_) => "backup login method added",
                    Change::FallbackRemoved(_) => "backup login method removed",
                    Change::AuthenticatorRemoved(_) => "two-factor authenticator removed",
                    Change::PhoneChanged => "two-factor phone number changed",
                    Change::Suspended => "two-factor authentication turned off",
                    Change::RecoveryCodeUsed { .. } => "a recovery code was used",
                    Change::RecoveryCodesRegenerated => "new recovery codes",
                    Change::DeviceRemembered => "a device was remembered",
                    Change::AdminReset => "two-factor authentication removed by support",
                    Change::Unlocked => "your account was unlocked by support",
                };
                format!("{}: {what}", n.issuer)
            }
        }
    }

    /// A default plain-text body; for a code sent by text message, short
    /// enough for one SMS.
    pub fn text(&self) -> String {
        match self {
            Message::Code(c) => {
                let minutes = c.valid_for.as_secs().div_ceil(60);
                let code = c.code.expose_secret();
                match (c.method, c.purpose) {
                    (Method::Sms, Purpose::StepUp) => format!(
                        "{code} is your {} code to change security settings. Valid {minutes} \
                         min. Never share it.",
                        c.issuer
                    ),
                    (Method::Sms, _) => format!(
                        "{code} is your {} code. Valid {minutes} min. Never share it.",
                        c.issuer
                    ),
                    (_, Purpose::StepUp) => format!(
                        "Your {} code to confirm a change to your security settings is \
                         {code}.\n\nIt is valid for {minutes} minutes. Nobody from {} will ever \
                         ask you for it.\n\nIf you are not changing your settings, someone may \
                         have your password and be signed in as you: change your password now.\n",
                        c.issuer, c.issuer
                    ),
                    _ => format!(
                        "Your {} verification code is {code}.\n\nIt is valid for {minutes} \
                         minutes. Nobody from {} will ever ask you for it.\n\nIf you did not \
                         ask for this code, someone may have your password: change it now.\n",
                        c.issuer, c.issuer
                    ),
                }
            }
            Message::Notice(n) if n.via == Method::Sms => format!(
                "{}: this number no longer gets your login codes (changed {}). \
                 Not you? Contact support now.",
                n.issuer, n.at
            ),
            Message::Notice(n) => {
                let what = match n.change {
                    Change::Enabled(m) => format!(
                        "Two-factor authentication was turned on for your {} account at {}. \
                         From now on you will be asked for {} when you log in.",
                        n.issuer,
                        n.at,
                        by(m)
                    ),
                    Change::Disabled => format!(
                        "Two-factor authentication was turned off for your {} account at {}. \
                         Your password alone now logs you in.",
                        n.issuer, n.at
                    ),
                    Change::PrimaryChanged(m) => format!(
                        "Your {} account asks for {} at login, from {} on.",
                        n.issuer,
                        by(m),
                        n.at
                    ),
                    Change::FallbackAdded(m) => format!(
                        "A backup way to log in to your {} account was added at {}: {}.",
                        n.issuer,
                        n.at,
                        by(m)
                    ),
                    Change::FallbackRemoved(m) => format!(
                        "A backup way to log in to your {} account was removed at {}: {}.",
                        n.issuer,
                        n.at,
                        by(m)
                    ),
                    Change::AuthenticatorRemoved(m) => format!(
                        "One of the ways to log in to your {} account was removed at {}: {}.",
                        n.issuer,
                        n.at,
                        by(m)
                    ),
                    Change::PhoneChanged => format!(
                        "The phone number that login codes for your {} account are texted to \
                         was changed at {}.",
                        n.issuer, n.at
                    ),
                    Change::Suspended => format!(
                        "Two-factor authentication was turned off for your {} account at {}. \
                         Your settings are kept, so you can turn it back on without setting it \
                         up again. Until then your password alone logs you in.",
                        n.issuer, n.at
                    ),
                    Change::RecoveryCodeUsed { left } => format!(
                        "A recovery code was used to log in to your {} account at {}. \
                         {left} recovery codes are left; make new ones if you are running out.",
                        n.issuer, n.at
                    ),
                    Change::RecoveryCodesRegenerated => format!(
                        "New recovery codes were made for your {} account at {}. \
                         The old ones no longer work.",
                        n.issuer, n.at
                    ),
                    Change::DeviceRemembered => format!(
                        "A device was remembered for your {} account at {}: it will not be \
                         asked for a code for a while. You can forget it on your account page.",
                        n.issuer, n.at
                    ),
                    Change::AdminReset => format!(
                        "Support removed two-factor authentication from your {} account at {}. \
                         Set two-factor authentication up again when you next log in.",
                        n.issuer, n.at
                    ),
                    Change::Unlocked => format!(
                        "Support unlocked your {} account at {} after too many failed \
                         attempts to log in. If those attempts were not yours, someone has your \
                         password.",
                        n.issuer, n.at
                    ),
                };
                format!(
                    "{what}\n\nIf this was not you, change your password now and contact support.\n"
                )
            }
        }
    }
}

impl Message {
    /// The default body as HTML: [`text`](Self::text), escaped, a paragraph
    /// per blank-line-separated block.
    pub fn html(&self) -> String {
        let paragraphs: Vec<String> = self
            .text()
            .split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| format!("<p>{}</p>", escape(p).replace('\n', "<br>")))
            .collect();
        format!(
            "<!DOCTYPE html><html><body>{}</body></html>",
            paragraphs.concat()
        )
    }
}

/// `text` with the characters HTML gives meaning to escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What a method asks the user for, for a sentence.
fn by(method: Method) -> &'static str {
    match method {
        Method::App => "a code from your authenticator app",
        Method::Email => "a code by email",
        Method::Sms => "a code by text message",
        Method::Key => "your security key",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(change: Change) -> Message {
        Message::Notice(Notice {
            change,
            at: Timestamp::from_unix_seconds(0),
            issuer: "Acme".into(),
            via: Method::Email,
        })
    }

    #[test]
    fn a_number_is_told_in_one_text_that_it_no_longer_gets_codes() {
        let m = Message::Notice(Notice {
            change: Change::PhoneChanged,
            at: Timestamp::from_unix_seconds(1_700_000_000),
            issuer: "Acme Portal".into(),
            via: Method::Sms,
        });
        let text = m.text();
        assert!(text.starts_with("Acme Portal: this number no longer gets"));
        assert!(text.chars().count() <= 160, "one SMS: {text}");
    }

    #[test]
    fn step_up_codes_say_what_they_are_for() {
        let m = |method| {
            Message::Code(CodeMessage {
                code: SecretString::from("042917"),
                purpose: Purpose::StepUp,
                method,
                valid_for: Duration::from_secs(300),
                issuer: "Acme Portal".into(),
            })
        };
        let sms = m(Method::Sms).text();
        assert!(sms.contains("to change security settings"), "{sms}");
        assert!(sms.chars().count() <= 160, "one SMS: {sms}");
        assert!(m(Method::Email).text().contains("confirm a change"));
    }

    #[test]
    fn notices_name_the_change_and_the_service() {
        let on = notice(Change::Enabled(Method::App));
        assert_eq!(on.subject(), "Acme: two-factor authentication turned on");
        assert!(on.text().contains("authenticator app"));
        assert!(on.text().contains("1970-01-01T00:00:00Z"));
        let off = notice(Change::Disabled);
        assert!(off.subject().ends_with("turned off"));
        assert!(off.text().contains("If this was not you"));
        for (change, word) in [
            (Change::PrimaryChanged(Method::Sms), "text message"),
            (Change::FallbackAdded(Method::Email), "email"),
            (
                Change::FallbackRemoved(Method::Sms),
                "removed at 1970-01-01T00:00:00Z: a code by text message",
            ),
            (Change::PhoneChanged, "phone number"),
        ] {
            let m = notice(change);
            assert!(m.text().contains(word), "{}", m.text());
            assert!(m.subject().starts_with("Acme: "));
        }
    }

    #[test]
    fn html_is_escaped_paragraphs() {
        let m = Message::Notice(Notice {
            change: Change::Disabled,
            at: Timestamp::from_unix_seconds(0),
            issuer: "<Acme & Sons>".into(),
            via: Method::Email,
        });
        let html = m.html();
        assert!(html.contains("&lt;Acme &amp; Sons&gt;"));
        assert!(!html.contains("<Acme"));
        assert_eq!(html.matches("<p>").count(), 2);
    }

    #[test]
    fn code_messages_carry_the_code_and_hide_it_in_debug() {
        let sms = Message::Code(CodeMessage {
            code: SecretString::from("042917"),
            purpose: Purpose::Login,
            method: Method::Sms,
            valid_for: Duration::from_secs(300),
            issuer: "Acme".into(),
        });
        let text = sms.text();
        assert!(text.starts_with("042917 is your Acme code. Valid 5 min."));
        assert!(text.len() <= 160, "one SMS: {text}");
        assert!(!format!("{sms:?}").contains("042917"));
        let Message::Code(mut c) = sms else { panic!() };
        c.method = Method::Email;
        c.valid_for = Duration::from_secs(600);
        let email = Message::Code(c);
        assert!(email.text().contains("verification code is 042917"));
        assert!(email.text().contains("valid for 10 minutes"));
        assert_eq!(email.subject(), "Acme: your verification code");
    }
}
