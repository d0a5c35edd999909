//! What the browser's WebAuthn calls take and give, as webauthn-rs's own
//! public types: the options for `navigator.credentials.create` and
//! `navigator.credentials.get`, and what a typed second factor can be.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::time::Timestamp;

/// How a registered key proves its user: chosen for the whole service by
/// `SecurityKeys` (the `webauthn` feature).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum KeyKind {
    /// A security key as a second factor after the password: a touch is
    /// enough, a PIN or fingerprint is asked for only where the key has
    /// one (user verification "preferred").
    SecurityKey,
    /// A passkey: the key must verify its user (PIN, fingerprint, face),
    /// user verification "required".
    Passkey,
}

/// The options for the browser's `navigator.credentials.get` at login or
/// step-up, when the account has security keys: webauthn-rs's
/// `RequestChallengeResponse` (`options()`, with the `webauthn` feature). Its challenge
/// is single-use and kept server-side; send the browser's answer (a
/// `PublicKeyCredential`) to [`verify_login`](crate::TwoFactor::verify_login)
/// or as the second factor of a [`Reauth`](crate::Reauth).
#[derive(Clone)]
#[non_exhaustive]
pub struct KeyRequest {
    #[cfg(feature = "webauthn")]
    pub(crate) options: Box<webauthn_rs::prelude::RequestChallengeResponse>,
}

#[cfg(feature = "webauthn")]
impl KeyRequest {
    /// The options, to hand to `navigator.credentials.get` as JSON.
    pub fn options(&self) -> &webauthn_rs::prelude::RequestChallengeResponse {
        &self.options
    }
}

impl fmt::Debug for KeyRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRequest").finish_non_exhaustive()
    }
}

impl PartialEq for KeyRequest {
    /// The same options, challenge included.
    fn eq(&self, other: &Self) -> bool {
        #[cfg(feature = "webauthn")]
        return serde_json::to_value(&self.options).ok()
            == serde_json::to_value(&other.options).ok();
        #[cfg(not(feature = "webauthn"))]
        {
            let _ = other;
            true
        }
    }
}

impl Eq for KeyRequest {}

/// A security key's registration has begun: hand
/// `options()` (webauthn-rs's `CreationChallengeResponse`, with the
/// `webauthn` feature)
/// to the browser's `navigator.credentials.create`, and its answer (a
/// `RegisterPublicKeyCredential`) to
/// [`confirm_setup`](crate::TwoFactor::confirm_setup). The ceremony's state
/// is kept in the account's record, never in the browser.
#[derive(Clone)]
#[non_exhaustive]
pub struct KeySetup {
    #[cfg(feature = "webauthn")]
    pub(crate) options: Box<webauthn_rs::prelude::CreationChallengeResponse>,
    /// When the setup lapses if not confirmed.
    pub expires: Timestamp,
}

#[cfg(feature = "webauthn")]
impl KeySetup {
    /// The options, to hand to `navigator.credentials.create` as JSON.
    pub fn options(&self) -> &webauthn_rs::prelude::CreationChallengeResponse {
        &self.options
    }
}

impl fmt::Debug for KeySetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySetup")
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// What the user answered a second-factor prompt with: a typed code (an
/// app's, a sent one, a recovery code), or a security key's answer as the
/// browser gave it. A `&str` converts into one; so, with the `webauthn`
/// feature, does a `&PublicKeyCredential` (login, step-up) or a
/// `&RegisterPublicKeyCredential` (confirming a key's setup), and the JSON
/// text of either as posted by a page is read as such. `Debug` shows none
/// of it.
#[derive(Clone)]
pub struct Response<'a>(pub(crate) Cow<'a, str>);

impl Response<'_> {
    /// The answer as the core reads it: a code, or a key's JSON.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'a> From<&'a str> for Response<'a> {
    fn from(code: &'a str) -> Self {
        Self(Cow::Borrowed(code))
    }
}

impl<'a> From<&'a String> for Response<'a> {
    fn from(code: &'a String) -> Self {
        Self(Cow::Borrowed(code.as_str()))
    }
}

#[cfg(feature = "webauthn")]
impl From<&webauthn_rs::prelude::PublicKeyCredential> for Response<'_> {
    fn from(answer: &webauthn_rs::prelude::PublicKeyCredential) -> Self {
        Self(Cow::Owned(
            serde_json::to_string(answer).unwrap_or_default(),
        ))
    }
}

#[cfg(feature = "webauthn")]
impl From<&webauthn_rs::prelude::RegisterPublicKeyCredential> for Response<'_> {
    fn from(answer: &webauthn_rs::prelude::RegisterPublicKeyCredential) -> Self {
        Self(Cow::Owned(
            serde_json::to_string(answer).unwrap_or_default(),
        ))
    }
}

impl fmt::Debug for Response<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Response([REDACTED])")
    }
}

/// Whether `typed` is a security key's answer (JSON) rather than a code.
pub(crate) fn is_key_answer(typed: &str) -> bool {
    typed.trim_start().starts_with('{')
}
