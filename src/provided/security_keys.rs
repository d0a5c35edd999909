//! Security keys and passkeys as a second factor, through webauthn-rs
//! (kanidm's relying-party library): this crate keeps the ceremony state
//! in the account's record and spends each challenge once; webauthn-rs
//! does every check of the browser's answer (origin, relying party, the
//! signature, user presence and verification, the signature counter).

use std::fmt;

use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{
    AttestationCaList, AuthenticationResult, CreationChallengeResponse, CredentialID, Passkey,
    PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, SecurityKey, SecurityKeyAuthentication, SecurityKeyRegistration, Url,
    Uuid, Webauthn, WebauthnBuilder,
};

use crate::error::{Error, Result};
use crate::model::key::KeyKind;

/// Which authenticators may be registered: the attestation policy. There
/// is no default: a host says which it wants.
#[derive(Clone)]
#[non_exhaustive]
pub enum Attestation {
    /// Any security key or passkey, whatever its maker: its attestation is
    /// not asked for, and nothing is checked about where it came from. It
    /// still proves possession of the key registered, bound to your site.
    /// What customer portals want: users bring the keys they have.
    AnyAuthenticator,
    /// Only authenticators whose attestation chains to one of these
    /// certificate authorities (e.g. the vendors you issue keys from, from
    /// `webauthn-attestation-ca`). A registration from any other is
    /// refused. For staff with keys you hand out.
    Trusted(AttestationCaList),
}

impl fmt::Debug for Attestation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Attestation::AnyAuthenticator => "Attestation::AnyAuthenticator",
            Attestation::Trusted(_) => "Attestation::Trusted(..)",
        })
    }
}

/// The relying party for security keys and passkeys: your site's domain
/// (the relying-party id, e.g. `portal.example.com`) and origin (e.g.
/// `https://portal.example.com`), with the attestation policy. Give it to
/// [`TwoFactorBuilder::security_keys`](crate::TwoFactorBuilder::security_keys).
///
/// ```
/// # fn main() -> Result<(), twofactor::Error> {
/// use twofactor::{Attestation, SecurityKeys};
/// let keys = SecurityKeys::new(
///     "portal.example.com",
///     "https://portal.example.com",
///     Attestation::AnyAuthenticator,
/// )?;
/// let passkeys = keys.passkeys(); // user verification required
/// # Ok(()) }
/// ```
pub struct SecurityKeys {
    webauthn: Webauthn,
    kind: KeyKind,
    attestation: Attestation,
}

impl fmt::Debug for SecurityKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecurityKeys")
            .field("kind", &self.kind)
            .field("attestation", &self.attestation)
            .finish_non_exhaustive()
    }
}

impl SecurityKeys {
    /// Security keys as a second factor for the site `rp_id` at `origin`.
    /// [`Error::Config`] when `origin` is not a URL whose host is `rp_id`
    /// or a subdomain of it.
    pub fn new(rp_id: &str, origin: &str, attestation: Attestation) -> Result<Self> {
        let origin = Url::parse(origin)
            .map_err(|_| Error::Config("the security-key origin is not a URL"))?;
        let webauthn = WebauthnBuilder::new(rp_id, &origin)
            .and_then(|b| b.build())
            .map_err(|_| {
                Error::Config("the security-key origin's host must be the rp_id or under it")
            })?;
        Ok(Self {
            webauthn,
            kind: KeyKind::SecurityKey,
            attestation,
        })
    }

    /// Registers passkeys instead: the key must verify its user (a PIN, a
    /// fingerprint), not only be touched.
    pub fn passkeys(mut self) -> Self {
        self.kind = KeyKind::Passkey;
        self
    }

    /// Which kind of key this service registers and asks for.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// Begins registering a key for `user` (shown as `name`), not one of
    /// `existing`: the browser's options, and the state to keep.
    pub(crate) fn begin_registration(
        &self,
        user: &str,
        name: &str,
        existing: Vec<CredentialID>,
    ) -> Result<(CreationChallengeResponse, String)> {
        let id = user_handle(user);
        let exclude = (!existing.is_empty()).then_some(existing);
        let (options, state) = match (self.kind, &self.attestation) {
            (KeyKind::SecurityKey, attestation) => {
                let ca = match attestation {
                    Attestation::Trusted(ca) => Some(ca.clone()),
                    Attestation::AnyAuthenticator => None,
                };
                let (mut o, s) = self
                    .webauthn
                    .start_securitykey_registration(id, name, name, exclude, ca, None)
                    .map_err(|_| Error::Config("the security-key registration could not begin"))?;
                // webauthn-rs asks, opportunistically (not enforced), for
                // credProtect "user verification required" beside user
                // verification "preferred"; Chromium refuses that pair as
                // inconsistent (webauthn-rs issue 490), so no security key
                // could be registered from Chrome. Without the request the
                // rule stays the one this relying party checks: user
                // verification preferred.
                if let Some(extensions) = o.public_key.extensions.as_mut() {
                    extensions.cred_protect = None;
                }
                (o, json(&s)?)
            }
            (KeyKind::Passkey, Attestation::AnyAuthenticator) => {
                let (o, s) = self
                    .webauthn
                    .start_passkey_registration(id, name, name, exclude)
                    .map_err(|_| Error::Config("the passkey registration could not begin"))?;
                (o, json(&s)?)
            }
            (KeyKind::Passkey, Attestation::Trusted(ca)) => {
                let (o, s) = self
                    .webauthn
                    .start_attested_passkey_registration(id, name, name, exclude, ca.clone(), None)
                    .map_err(|_| Error::Config("the passkey registration could not begin"))?;
                (o, json(&s)?)
            }
        };
        Ok((options, state))
    }

    /// Finishes a registration begun as `kind` with `state`: the new
    /// credential's JSON, or `None` when the browser's answer is refused
    /// (wrong challenge, origin, signature, attestation).
    pub(crate) fn finish_registration(
        &self,
        kind: KeyKind,
        state: &str,
        answer: &RegisterPublicKeyCredential,
    ) -> Option<String> {
        match (kind, &self.attestation) {
            (KeyKind::SecurityKey, _) => {
                let state: SecurityKeyRegistration = serde_json::from_str(state).ok()?;
                let key = self
                    .webauthn
                    .finish_securitykey_registration(answer, &state)
                    .ok()?;
                serde_json::to_string(&key).ok()
            }
            (KeyKind::Passkey, Attestation::AnyAuthenticator) => {
                let state: PasskeyRegistration = serde_json::from_str(state).ok()?;
                let key = self
                    .webauthn
                    .finish_passkey_registration(answer, &state)
                    .ok()?;
                serde_json::to_string(&key).ok()
            }
            (KeyKind::Passkey, Attestation::Trusted(_)) => {
                let state: webauthn_rs::prelude::AttestedPasskeyRegistration =
                    serde_json::from_str(state).ok()?;
                let key = self
                    .webauthn
                    .finish_attested_passkey_registration(answer, &state)
                    .ok()?;
                serde_json::to_string(&Passkey::from(key)).ok()
            }
        }
    }

    /// A challenge for `credentials` (their JSON): the browser's options,
    /// and the state to keep.
    pub(crate) fn begin_authentication(
        &self,
        credentials: &[&str],
    ) -> Result<(RequestChallengeResponse, String)> {
        let refused = |_| Error::Config("the security-key challenge could not be made");
        match self.kind {
            KeyKind::SecurityKey => {
                let keys: Vec<SecurityKey> = parse_all(credentials)?;
                let (o, s) = self
                    .webauthn
                    .start_securitykey_authentication(&keys)
                    .map_err(refused)?;
                Ok((o, json(&s)?))
            }
            KeyKind::Passkey => {
                let keys: Vec<Passkey> = parse_all(credentials)?;
                let (o, s) = self
                    .webauthn
                    .start_passkey_authentication(&keys)
                    .map_err(refused)?;
                Ok((o, json(&s)?))
            }
        }
    }

    /// Checks the browser's answer against the challenge's `state` (made
    /// as `kind`): what webauthn-rs accepted, or `None`.
    pub(crate) fn finish_authentication(
        &self,
        kind: KeyKind,
        state: &str,
        answer: &PublicKeyCredential,
    ) -> Option<AuthenticationResult> {
        match kind {
            KeyKind::SecurityKey => {
                let state: SecurityKeyAuthentication = serde_json::from_str(state).ok()?;
                self.webauthn
                    .finish_securitykey_authentication(answer, &state)
                    .ok()
            }
            KeyKind::Passkey => {
                let state: PasskeyAuthentication = serde_json::from_str(state).ok()?;
                self.webauthn
                    .finish_passkey_authentication(answer, &state)
                    .ok()
            }
        }
    }
}

/// The credential's id, from its JSON.
pub(crate) fn credential_id(credential: &str) -> Option<CredentialID> {
    serde_json::from_str::<SecurityKey>(credential)
        .ok()
        .map(|k| k.cred_id().clone())
}

/// The credential `credential` (its JSON) after `result`, when `result` is
/// of it: its signature counter moved on.
pub(crate) fn updated(credential: &str, result: &AuthenticationResult) -> Option<String> {
    let mut key: SecurityKey = serde_json::from_str(credential).ok()?;
    key.update_credential(result)?;
    serde_json::to_string(&key).ok()
}

/// The WebAuthn user handle of account `user`: 16 bytes of a hash of the
/// id, the same at every registration, and not the id itself.
fn user_handle(user: &str) -> Uuid {
    let digest = Sha256::new()
        .chain_update(b"twofactor/v1/webauthn-user\0")
        .chain_update(user.as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(digest.get(..16).unwrap_or(&[0; 16]));
    Uuid::from_bytes(bytes)
}

fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::CorruptRecord(Box::new(e)))
}

fn parse_all<T: serde::de::DeserializeOwned>(credentials: &[&str]) -> Result<Vec<T>> {
    credentials
        .iter()
        .map(|c| serde_json::from_str(c).map_err(|e| Error::CorruptRecord(Box::new(e))))
        .collect()
}
