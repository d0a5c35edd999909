//! What a begun setup gives the user, and what a confirmed one turned on.

use std::fmt;

use secrecy::SecretString;

use crate::clock::Timestamp;
use crate::methods::phone::PhoneNumber;
use crate::status::Method;
use crate::verdict::Sent;

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
}

impl NewMethod {
    /// The method it sets up.
    pub fn method(&self) -> Method {
        match self {
            NewMethod::App => Method::App,
            NewMethod::Email => Method::Email,
            NewMethod::Sms(_) => Method::Sms,
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
}

impl Setup {
    /// When the setup lapses if not confirmed.
    pub fn expires(&self) -> Timestamp {
        match self {
            Setup::App(app) => app.expires,
            Setup::Code(code) => code.expires,
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

/// Two-factor authentication was turned on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Enabled {
    /// The method now asked for at login.
    pub method: Method,
    /// When it was turned on.
    pub since: Timestamp,
}
