//! A user's authenticator app, played by a test or a demo.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::crypto::key_uri::{decode_base32, parse_key_uri};
use crate::crypto::totp::Totp;
use crate::error::{Error, Result};
use crate::model::setup::AppSetup;
use crate::model::time::Timestamp;
use crate::policy::Algorithm;

/// An authenticator app, as a phone holds it after scanning a setup's QR
/// code: for a host's tests and demos, which must type the codes an app
/// would show. Codes come from the same totp-rs the library checks with.
/// `Debug` shows no secret; the secret is zeroed when dropped.
///
/// ```
/// use twofactor::testing::Authenticator;
/// use twofactor::Timestamp;
/// let app = Authenticator::from_uri(
///     "otpauth://totp/Acme:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=8&period=30",
/// ).unwrap();
/// assert_eq!(app.code_at(Timestamp::from_unix_seconds(59)), "94287082"); // RFC 6238
/// ```
pub struct Authenticator {
    secret: Zeroizing<Vec<u8>>,
    totp: Totp,
}

impl Authenticator {
    /// The app a user sets up by scanning `setup`'s QR code.
    pub fn from_setup(setup: &AppSetup) -> Result<Self> {
        Self::from_uri(setup.uri.expose_secret())
    }

    /// The app set up from an `otpauth://totp/` key URI: its secret and its
    /// algorithm, digits and period (SHA-1, 6 and 30 s when left out).
    pub fn from_uri(uri: &str) -> Result<Self> {
        let key = parse_key_uri(uri).map_err(Error::Config)?;
        Ok(Self::new(
            &key.secret,
            key.algorithm,
            key.digits,
            key.period,
        ))
    }

    /// The app with this secret and these code parameters.
    pub fn new(secret: &[u8], algorithm: Algorithm, digits: u8, period: u64) -> Self {
        Self {
            secret: Zeroizing::new(secret.to_vec()),
            totp: Totp::new(algorithm, digits, period),
        }
    }

    /// The app set up from the secret as a setup shows it for typing by hand
    /// (`AppSetup::secret`), with the default code parameters.
    pub fn from_secret_text(text: &SecretString) -> Result<Self> {
        let secret =
            decode_base32(text.expose_secret()).ok_or(Error::Config("not a base32 secret"))?;
        Ok(Self::new(&secret, Algorithm::Sha1, 6, 30))
    }

    /// The code the app shows at `at`.
    pub fn code_at(&self, at: Timestamp) -> String {
        self.totp
            .code_at(&self.secret, at.unix_seconds())
            .to_string()
    }

    /// A well-formed code that is none of the three around `at`: a guess
    /// that is certainly wrong.
    pub fn wrong_code_at(&self, at: Timestamp) -> String {
        let period = self.totp.period();
        let near: Vec<String> = [at.unix_seconds().saturating_sub(period), at.unix_seconds()]
            .into_iter()
            .chain([at.unix_seconds().saturating_add(period)])
            .map(|t| self.code_at(Timestamp::from_unix_seconds(t)))
            .collect();
        (0u32..)
            .map(|n| format!("{n:0width$}", width = usize::from(self.totp.digits())))
            .find(|c| !near.contains(c))
            .unwrap_or_default()
    }

    /// The secret's bytes, for a test that must compare them.
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("secret", &"[REDACTED]")
            .field("totp", &self.totp)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_uris_and_grouped_text() {
        let app = Authenticator::from_uri(
            "otpauth://totp/A:b?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=A",
        )
        .unwrap();
        assert_eq!(app.secret(), b"12345678901234567890");
        assert_eq!(app.code_at(Timestamp::from_unix_seconds(59)), "287082");
        let grouped = SecretString::from("gezd gnbv gy3t qojq gezd gnbv gy3t qojq");
        let same = Authenticator::from_secret_text(&grouped).unwrap();
        assert_eq!(same.secret(), app.secret());
        let wrong = app.wrong_code_at(Timestamp::from_unix_seconds(59));
        assert_eq!(wrong.len(), 6);
        assert_ne!(wrong, "287082");
        for junk in [
            "",
            "http://x",
            "otpauth://totp/x?issuer=A",
            "otpauth://totp/x?secret=!!",
        ] {
            assert!(Authenticator::from_uri(junk).is_err(), "{junk}");
        }
        assert!(!format!("{app:?}").contains("GEZD"));
    }
}
