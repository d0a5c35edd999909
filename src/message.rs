//! What the library sends people, as data a host may render its own way.

use crate::clock::Timestamp;
use crate::status::Method;

/// Something to tell a user by email or text message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// The account's security settings changed. Carries no code or secret.
    Notice(Notice),
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
}

/// A change to an account's security settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// Two-factor authentication was turned on with this method.
    Enabled(Method),
    /// Two-factor authentication was turned off.
    Disabled,
}

impl Message {
    /// A default subject line.
    pub fn subject(&self) -> String {
        match self {
            Message::Notice(n) => match n.change {
                Change::Enabled(_) => format!("{}: two-factor authentication turned on", n.issuer),
                Change::Disabled => format!("{}: two-factor authentication turned off", n.issuer),
            },
        }
    }

    /// A default plain-text body.
    pub fn text(&self) -> String {
        match self {
            Message::Notice(n) => {
                let what = match n.change {
                    Change::Enabled(m) => format!(
                        "Two-factor authentication was turned on for your {} account at {}. \
                         From now on you will be asked for a code from your {} when you log in.",
                        n.issuer,
                        n.at,
                        m.display_name()
                    ),
                    Change::Disabled => format!(
                        "Two-factor authentication was turned off for your {} account at {}. \
                         Your password alone now logs you in.",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_name_the_change_and_the_service() {
        let on = Message::Notice(Notice {
            change: Change::Enabled(Method::App),
            at: Timestamp::from_unix_seconds(0),
            issuer: "Acme".into(),
        });
        assert_eq!(on.subject(), "Acme: two-factor authentication turned on");
        assert!(on.text().contains("authenticator app"));
        assert!(on.text().contains("1970-01-01T00:00:00Z"));
        let off = Message::Notice(Notice {
            change: Change::Disabled,
            at: Timestamp::from_unix_seconds(0),
            issuer: "Acme".into(),
        });
        assert!(off.subject().ends_with("turned off"));
        assert!(off.text().contains("If this was not you"));
    }
}
