//! The host's master keys and what is derived from them.
//!
//! Each key the library uses is RFC 5869 HKDF-Extract over SHA-256 with the
//! master key as salt and a fixed label as input keying material (the
//! `hkdf` crate): HMAC-SHA-256(master key, label), the derivation every
//! record so far was sealed with. Every master key has a short id, derived
//! the same way, stored beside each sealed value and keyed hash it made, so
//! that a host can rotate.

use std::fmt;

use chacha20poly1305::aead::KeyInit;
use chacha20poly1305::XChaCha20Poly1305;
use data_encoding::BASE64;
use hkdf::Hkdf;
use hmac::Mac;
use secrecy::{ExposeSecret, SecretBox};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::crypto::code_mac::CodeKey;
use crate::error::{Error, Result};

/// A 32-byte master key, from the host's secret configuration. Every key
/// the library uses is derived from it; losing it makes every stored
/// authenticator secret and number unreadable. Give the current one to
/// [`TwoFactorBuilder::key`](crate::TwoFactorBuilder::key), and earlier ones
/// still in use to [`previous_keys`](crate::TwoFactorBuilder::previous_keys).
///
/// `Debug` prints `[REDACTED]`; the bytes are zeroed on drop.
pub struct MasterKey(SecretBox<[u8; 32]>);

impl MasterKey {
    /// A master key from its 32 bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(SecretBox::new(Box::new(bytes)))
    }

    /// A master key from standard base64 text (44 characters), as kept in a
    /// secret store or an environment variable, e.g. made with `openssl rand
    /// -base64 32`.
    pub fn from_base64(text: &str) -> Result<Self> {
        let bytes = Zeroizing::new(
            BASE64
                .decode(text.trim().as_bytes())
                .map_err(|_| Error::Config("the master key is not base64"))?,
        );
        let array: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| Error::Config("the master key must be 32 bytes"))?;
        Ok(Self::new(array))
    }

    /// A new random master key from the operating system's generator.
    pub fn generate() -> Result<Self> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        crate::crypto::random::fill(bytes.as_mut_slice())?;
        Ok(Self::new(*bytes))
    }

    /// The key as standard base64, to store it in a secret store once
    /// generated. Handle it like the key itself.
    pub fn to_base64(&self) -> secrecy::SecretString {
        secrecy::SecretString::from(BASE64.encode(self.0.expose_secret()))
    }

    /// The key derived for `label`: HKDF-Extract (RFC 5869, SHA-256) with
    /// the master key as salt and the label as input keying material.
    fn derive(&self, label: &[u8]) -> SecretBox<[u8; 32]> {
        let (prk, _) = Hkdf::<Sha256>::extract(Some(self.0.expose_secret()), label);
        SecretBox::new(Box::new(prk.into()))
    }

    /// This key's short id.
    pub(crate) fn id(&self) -> KeyId {
        let derived = self.derive(b"twofactor/v1/key-id");
        let mut id = [0u8; 4];
        id.copy_from_slice(derived.expose_secret().get(..4).unwrap_or(&[1; 4]));
        KeyId::from_derived(u32::from_be_bytes(id))
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([REDACTED])")
    }
}

/// Which master key made a sealed value or a keyed hash: 32 bits derived
/// from the key. [`KeyId::UNKNOWN`] marks values stored before ids were
/// kept (schema 2 and earlier), which every key in hand is tried on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct KeyId(pub(crate) u32);

impl KeyId {
    /// Made before key ids were stored.
    pub(crate) const UNKNOWN: KeyId = KeyId(0);

    fn from_derived(id: u32) -> Self {
        // Never the marker for "made before ids were stored".
        KeyId(id.max(1))
    }
}

/// The keys derived from one master key.
pub(crate) struct KeySet {
    pub(crate) id: KeyId,
    seal: SecretBox<[u8; 32]>,
    code: CodeKey,
}

impl KeySet {
    fn derive(master: &MasterKey) -> Result<Self> {
        let code = master.derive(b"twofactor/v1/code-mac");
        Ok(Self {
            id: master.id(),
            seal: master.derive(b"twofactor/v1/seal"),
            code: <CodeKey as Mac>::new_from_slice(code.expose_secret())
                .map_err(|_| Error::Config("the code key cannot key HMAC"))?,
        })
    }

    /// The key one-time codes, tokens and limit names are hashed under.
    pub(crate) fn code(&self) -> &CodeKey {
        &self.code
    }

    pub(crate) fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.seal.expose_secret().into())
    }
}

/// The keys of the current master key and of the previous ones still
/// accepted.
pub(crate) struct Keys {
    current: KeySet,
    previous: Vec<KeySet>,
}

impl Keys {
    /// The keys of `current`, and of `previous` for values they made.
    pub(crate) fn derive(current: &MasterKey, previous: &[MasterKey]) -> Result<Self> {
        let current = KeySet::derive(current)?;
        let mut sets: Vec<KeySet> = Vec::new();
        for key in previous {
            let set = KeySet::derive(key)?;
            if set.id == current.id || sets.iter().any(|s| s.id == set.id) {
                return Err(Error::Config(
                    "a previous master key is the current one, or given twice",
                ));
            }
            sets.push(set);
        }
        Ok(Self {
            current,
            previous: sets,
        })
    }

    /// The current keys: everything new is made under them.
    pub(crate) fn current(&self) -> &KeySet {
        &self.current
    }

    /// The keys that may have made a value marked `id`: the one with that
    /// id, or every key in hand for a value made before ids were kept.
    pub(crate) fn for_id(&self, id: KeyId) -> impl Iterator<Item = &KeySet> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .filter(move |set| id == KeyId::UNKNOWN || set.id == id)
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keys([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_derivation_is_hmac_sha256_of_the_label() {
        // HKDF-Extract(salt = master, IKM = label) is HMAC(master, label):
        // the derivation records sealed before the hkdf crate used.
        let master = MasterKey::new([42; 32]);
        let mut mac = <hmac::Hmac<Sha256> as Mac>::new_from_slice(&[42; 32]).unwrap();
        mac.update(b"twofactor/v1/seal");
        let expected: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(
            *master.derive(b"twofactor/v1/seal").expose_secret(),
            expected
        );
    }

    #[test]
    fn previous_keys_are_distinct_from_each_other_and_the_current() {
        let key = |b: u8| MasterKey::new([b; 32]);
        let keys = Keys::derive(&key(1), &[key(2), key(3)]).unwrap();
        let ids: Vec<KeyId> = keys.for_id(KeyId::UNKNOWN).map(|set| set.id).collect();
        assert_eq!(ids, [key(1).id(), key(2).id(), key(3).id()]);
        assert_eq!(keys.for_id(key(3).id()).count(), 1);
        assert_eq!(format!("{keys:?}"), "Keys([REDACTED])");
        assert!(Keys::derive(&key(1), &[key(1)]).is_err());
        assert!(Keys::derive(&key(1), &[key(2), key(2)]).is_err());
        assert!(Keys::derive(&key(1), &[key(2), key(3), key(2)]).is_err());
    }

    #[test]
    fn master_key_parsing() {
        let text = BASE64.encode(&[3u8; 32]);
        let key = MasterKey::from_base64(&text).unwrap();
        assert_eq!(key.to_base64().expose_secret(), text);
        assert!(MasterKey::from_base64(&BASE64.encode(&[3u8; 31])).is_err());
        assert!(MasterKey::from_base64("not base64!").is_err());
        assert_eq!(
            format!("{:?}", MasterKey::new([5; 32])),
            "MasterKey([REDACTED])"
        );
        assert_ne!(MasterKey::new([5; 32]).id(), MasterKey::new([6; 32]).id());
        assert_ne!(MasterKey::new([5; 32]).id(), KeyId::UNKNOWN);
    }
}
