//! What a begun setup gives the user, and what a confirmed one turned on.

use std::fmt;

use secrecy::SecretString;

use crate::model::phone::PhoneNumber;
use crate::model::status::Method;
use crate::model::time::Timestamp;
use crate::model::verdict::Sent;

/// A method to set up, with what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NewMethod {
    /// An authenticator app: a new secret to scan.
    App,
    /// Codes to the account's email address.
    Email,
    /// Codes texted to this number.
    Sms(PhoneNumber),
    /// A security key or passkey (the `webauthn` feature, and
    /// [`TwoFactorBuilder::security_keys`](crate::TwoFactorBuilder)).
    Key,
}

impl NewMethod {
    /// The method it sets up.
    pub fn method(&self) -> Method {
        match self {
            NewMethod::App => Method::App,
            NewMethod::Email => Method::Email,
            NewMethod::Sms(_) => Method::Sms,
            NewMethod::Key => Method::Key,
        }
    }
}

impl NewMethod {
    /// This method with the name the user gives it ("Pixel 8", "old
    /// iPhone"), shown in the list of authenticators: 1 to 64 characters,
    /// not blank, no control characters ([`Error::InvalidLabel`](crate::Error::InvalidLabel)).
    pub fn labelled(self, label: impl Into<String>) -> NewAuthenticator {
        NewAuthenticator {
            method: self,
            label: Some(label.into()),
        }
    }
}

/// A method to set up and, optionally, the name the user gives it. A
/// [`NewMethod`] alone converts into one with no name: the method's
/// [`heading`](Method::heading) is used ("Authenticator app"), numbered
/// when the account already has one of that name ("Authenticator app 2").
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewAuthenticator {
    /// The method.
    pub method: NewMethod,
    /// The name, if the user gave one.
    pub label: Option<String>,
}

impl From<NewMethod> for NewAuthenticator {
    fn from(method: NewMethod) -> Self {
        Self {
            method,
            label: None,
        }
    }
}

/// A setup has begun: show this to the user and ask for the first code.
#[derive(Debug)]
#[non_exhaustive]
pub enum Setup {
    /// Scan or type the secret into an authenticator app.
    App(AppSetup),
    /// A code was sent: type it in.
    Code(CodeSetup),
    /// Register a security key in the browser.
    Key(crate::model::key::KeySetup),
}

impl Setup {
    /// When the setup lapses if not confirmed.
    pub fn expires(&self) -> Timestamp {
        match self {
            Setup::App(app) => app.expires,
            Setup::Code(code) => code.expires,
            Setup::Key(key) => key.expires,
        }
    }
}

/// A code was sent to the new address or number; confirm the setup with it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CodeSetup {
    /// Where the code went, and until when it is valid.
    pub sent: Sent,
    /// When the setup lapses if not confirmed.
    pub expires: Timestamp,
}

/// The authenticator app's secret, in every form a page needs. Each form
/// holds the secret, so each is a [`SecretString`]; show them once, to the
/// user who asked, and keep them nowhere.
#[non_exhaustive]
pub struct AppSetup {
    /// The secret in base32, in groups of four, for typing by hand.
    pub secret: SecretString,
    /// The `otpauth://totp/…` key URI, for a link on a phone.
    pub uri: SecretString,
    /// The QR code of the URI as an SVG document, to inline in a page.
    pub qr_svg: SecretString,
    /// The QR code as a `data:image/png;base64,…` URI, for an `<img src>`.
    pub qr_png: SecretString,
    /// The QR code in Unicode half blocks, for a terminal.
    pub qr_text: SecretString,
    /// When the setup lapses if not confirmed.
    pub expires: Timestamp,
}

impl fmt::Debug for AppSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppSetup")
            .field("secret", &"[REDACTED]")
            .field("uri", &"[REDACTED]")
            .field("qr_svg", &"[REDACTED]")
            .field("qr_png", &"[REDACTED]")
            .field("qr_text", &"[REDACTED]")
            .field("expires", &self.expires)
            .finish()
    }
}

/// A setup was confirmed: the method is on (or added, switched to, or the
/// number replaced).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Enabled {
    /// The method confirmed.
    pub method: Method,
    /// When two-factor authentication was turned on.
    pub since: Timestamp,
    /// When it was turned on just now: the recovery codes, to show once.
    pub recovery_codes: Option<RecoveryCodes>,
    /// The account's new security stamp: keep it in this session (the
    /// user's other sessions now hold a stale one).
    pub stamp: String,
}

/// A change of the account's factors was made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Changed {
    /// The account's new security stamp: keep it in this session (the
    /// user's other sessions now hold a stale one).
    pub stamp: String,
}

/// New recovery codes were made; the old ones no longer work.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Regenerated {
    /// The codes, to show once.
    pub codes: RecoveryCodes,
    /// The account's new security stamp: keep it in this session (the
    /// user's other sessions now hold a stale one).
    pub stamp: String,
}

/// Ten single-use recovery codes, to show the user once (only their
/// argon2id hashes are kept). `Debug` shows none of them.
#[derive(Clone)]
pub struct RecoveryCodes(pub(crate) Vec<SecretString>);

impl RecoveryCodes {
    /// The codes, e.g. `7ABC-DEFG-HJKM`.
    pub fn codes(&self) -> &[SecretString] {
        &self.0
    }
}

impl PartialEq for RecoveryCodes {
    /// Same codes in the same order, compared in constant time.
    fn eq(&self, other: &Self) -> bool {
        use secrecy::ExposeSecret;
        use subtle::ConstantTimeEq;
        self.0.len() == other.0.len()
            && self.0.iter().zip(&other.0).all(|(a, b)| {
                bool::from(
                    a.expose_secret()
                        .as_bytes()
                        .ct_eq(b.expose_secret().as_bytes()),
                )
            })
    }
}

impl Eq for RecoveryCodes {}

impl fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecoveryCodes([REDACTED; {}])", self.0.len())
    }
}

/// What [`disable`](crate::TwoFactor::disable) keeps. Read from a form
/// value or a URL as `settings` or `nothing`, by serde (e.g. axum's `Form`)
/// or [`FromStr`](std::str::FromStr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    /// Keep the methods, secret and numbers (and recovery codes), so that
    /// [`reenable`](crate::TwoFactor::reenable) brings them back without a
    /// new scan. Remembered devices are forgotten.
    Settings,
    /// Forget everything: methods, secret, numbers, recovery codes, devices.
    Nothing,
}

impl Keep {
    /// The value in a form: `settings` or `nothing`.
    pub fn as_str(self) -> &'static str {
        match self {
            Keep::Settings => "settings",
            Keep::Nothing => "nothing",
        }
    }
}

impl std::str::FromStr for Keep {
    type Err = crate::error::ParseError;

    /// Reads `settings` or `nothing`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "settings" => Ok(Keep::Settings),
            "nothing" => Ok(Keep::Nothing),
            _ => Err(crate::error::ParseError::expected("settings, nothing")),
        }
    }
}
