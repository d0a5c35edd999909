//! A TOTP secret brought over from another system.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::crypto::key_uri::{decode_base32, parse_key_uri};
use crate::error::{Error, Result};
use crate::policy::Algorithm;

/// An authenticator app's secret that the user already has, from the
/// system the host is moving away from (an `otpauth://` URI, a django-otp
/// row, an Authelia export, a devise column), for
/// [`TwoFactor::import_app`](crate::TwoFactor::import_app).
///
/// It holds the secret: `Debug` shows none of it, and it is zeroed when
/// dropped. Its bounds are checked on import, against the policy.
pub struct ImportedApp {
    pub(crate) secret: Zeroizing<Vec<u8>>,
    pub(crate) algorithm: Algorithm,
    pub(crate) digits: u8,
    pub(crate) period: u64,
    pub(crate) last_step: Option<u64>,
}

impl ImportedApp {
    /// From an `otpauth://totp/…` key URI: its secret, algorithm, digits and
    /// period (SHA-1, 6 and 30 when left out, as apps read them).
    /// [`Error::InvalidImport`] when it is not one.
    pub fn from_uri(uri: &SecretString) -> Result<Self> {
        let key = parse_key_uri(uri.expose_secret()).map_err(Error::InvalidImport)?;
        Ok(Self {
            secret: key.secret,
            algorithm: key.algorithm,
            digits: key.digits,
            period: key.period,
            last_step: None,
        })
    }

    /// From the secret's base32 text (case, spaces and padding do not
    /// matter) and its code parameters. [`Error::InvalidImport`] when it is
    /// not base32.
    pub fn from_base32(
        secret: &SecretString,
        algorithm: Algorithm,
        digits: u8,
        period: u64,
    ) -> Result<Self> {
        let secret = decode_base32(secret.expose_secret())
            .ok_or(Error::InvalidImport("the secret is not base32"))?;
        Ok(Self::from_bytes(&secret, algorithm, digits, period))
    }

    /// From the secret's bytes (a hex column, decoded by the host) and its
    /// code parameters.
    pub fn from_bytes(secret: &[u8], algorithm: Algorithm, digits: u8, period: u64) -> Self {
        Self {
            secret: Zeroizing::new(secret.to_vec()),
            algorithm,
            digits,
            period,
            last_step: None,
        }
    }

    /// The time step of the last code the old system accepted (django-otp's
    /// `last_t`, for one): codes of that step or earlier are refused as
    /// replays, so a code used just before the move cannot be used again.
    pub fn last_used_step(mut self, step: u64) -> Self {
        self.last_step = Some(step);
        self
    }
}

impl fmt::Debug for ImportedApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportedApp")
            .field("secret", &"[REDACTED]")
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .field("period", &self.period)
            .field("last_step", &self.last_step)
            .finish()
    }
}

/// One authenticator app of an account, exported by
/// [`admin_export_apps`](crate::TwoFactor::admin_export_apps). The URI is
/// the secret: `Debug` does not show it.
#[non_exhaustive]
pub struct ExportedApp {
    /// The authenticator's id.
    pub id: String,
    /// The name the user gave it.
    pub label: String,
    /// Its `otpauth://totp/…` key URI, which holds the secret.
    pub uri: secrecy::SecretString,
}

impl fmt::Debug for ExportedApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportedApp")
            .field("id", &self.id)
            .field("label", &self.label)
            .field("uri", &"[REDACTED]")
            .finish()
    }
}
